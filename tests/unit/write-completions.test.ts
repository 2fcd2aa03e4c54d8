// aedes's write() (patched): the callbacks of one turn's writes are called from one microtask, in
// the order of the writes, instead of a closure and a microtask per write. These tests hold it to
// what the callers rely on: never synchronously, in order, each once, and an error in one callback
// does not lose the others. writeDelivery is the subscriber's variant: errors go to the client.
import { expect, test } from "bun:test";
import { join } from "node:path";
import write, { writeDelivery } from "../../node_modules/aedes/lib/write.js";

/** The parts of an aedes client write() reads: connected, MQTT 3.1.1, a connection that takes every write. */
function fakeClient(connected = true) {
  const frames: Uint8Array[] = [];
  const errors: unknown[] = [];
  const client = {
    connected,
    connecting: false,
    _wireVersion: 4,
    errored: false,
    conn: { write: (bytes: Uint8Array) => (frames.push(bytes), true) },
    _onError: (error: unknown) => void (error && errors.push(error)),
  };
  return { client, frames, errors };
}

const puback = (messageId: number) => ({ cmd: "puback", messageId });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("callbacks come after the write returns, in the order of the writes, each once, with (null, client)", async () => {
  const { client, frames } = fakeClient();
  const calls: Array<[number, unknown, unknown]> = [];
  for (let id = 1; id <= 3; id++) write(client, puback(id), (error: unknown, who: unknown) => calls.push([id, error, who]));
  expect(frames.length).toBe(3); // written at once
  expect(calls).toEqual([]); // called back later
  await nextTurn();
  expect(calls).toEqual([
    [1, null, client],
    [2, null, client],
    [3, null, client],
  ]);
});

test("a write made in a callback is called back too, after the ones before it", async () => {
  const { client } = fakeClient();
  const order: string[] = [];
  write(client, puback(1), () => {
    order.push("first");
    write(client, puback(3), () => order.push("written from the first"));
  });
  write(client, puback(2), () => order.push("second"));
  await nextTurn();
  expect(order).toEqual(["first", "second", "written from the first"]);
});

test("a callback that throws does not lose the callbacks after it", async () => {
  // In its own process: the error is uncaught (as it was with a microtask per write), and bun test
  // would take it as this test's failure before the process's 'uncaughtException' saw it.
  const writeModule = join(import.meta.dir, "../../node_modules/aedes/lib/write.js");
  const script = `
    const { default: write } = await import(${JSON.stringify(writeModule)});
    const client = { connected: true, connecting: false, _wireVersion: 4, errored: false, conn: { write: () => true }, _onError() {} };
    const seen = [];
    process.on("uncaughtException", (error) => seen.push(error.message));
    write(client, { cmd: "puback", messageId: 1 }, () => seen.push(1));
    write(client, { cmd: "puback", messageId: 2 }, () => { throw new Error("a broken callback"); });
    write(client, { cmd: "puback", messageId: 3 }, () => seen.push(3));
    setImmediate(() => {
      write(client, { cmd: "puback", messageId: 4 }, () => seen.push(4)); // the queue still works afterwards
      setImmediate(() => console.log(JSON.stringify(seen)));
    });`;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(JSON.parse(out)).toEqual([1, "a broken callback", 3, 4]);
});

test("writeDelivery: no arguments for mqemitter's callback; a write error goes to the client", async () => {
  const open = fakeClient();
  const args: unknown[][] = [];
  writeDelivery(open.client, { cmd: "publish", topic: "t", payload: Buffer.from("x"), qos: 0, retain: false, dup: false }, (...given: unknown[]) => args.push(given));
  await nextTurn();
  expect(open.frames.length).toBe(1);
  expect(args).toEqual([[]]);
  expect(open.errors).toEqual([]);

  const closed = fakeClient(false); // gone: write reports "connection closed"
  const closedArgs: unknown[][] = [];
  writeDelivery(closed.client, { cmd: "publish", topic: "t", payload: Buffer.from("x"), qos: 0, retain: false, dup: false }, (...given: unknown[]) => closedArgs.push(given));
  await nextTurn();
  expect(closed.frames.length).toBe(0);
  expect(closedArgs).toEqual([[]]);
  expect(closed.errors.map((error) => (error as Error).message)).toEqual(["connection closed"]);
});
