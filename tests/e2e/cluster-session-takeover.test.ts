// A session taken over on another --cluster node belongs to the new connection: the node that loses
// the connection must not end the session (wipe it from Redis, or arm its expiry) as if the client
// had left [MQTT-3.1.4-3, MQTT-3.1.2-5].
import { expect } from "bun:test";
import { startNode, startRedis } from "./cluster-harness";
import { testWithPrograms } from "./harness";
import { RawClient } from "./mqtt-raw";
import { startDelayingProxy } from "./support/delaying-proxy";

const CLIENT_ID = "roaming";

async function connectV5(port: number, clean: boolean, sessionExpiryInterval: number): Promise<{ client: RawClient; sessionPresent: boolean }> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean, clientId: CLIENT_ID, keepalive: 60, properties: { sessionExpiryInterval } });
  const connack = await client.waitFor<any>((p) => p.cmd === "connack");
  expect(connack.reasonCode).toBe(0);
  return { client, sessionPresent: connack.sessionPresent };
}

/**
 * The session starts on node A with `firstExpiry`, subscribes, and moves to node B (Clean Start 0, a
 * long expiry): taken over while connected to A, or resumed after leaving A (`leaveFirst`). Once A's
 * interval has run out, the client leaves B, a QoS 1 message is published, and it comes back to B:
 * resolves with that CONNACK's Session Present and the topics delivered.
 */
async function moveToAnotherNode(firstExpiry: number, leaveFirst: boolean): Promise<{ sessionPresent: boolean; topics: string[] }> {
  const redis = await startRedis();
  const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
  const first = await connectV5(a.port, true, firstExpiry);
  first.client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "roaming/#", qos: 1 }] });
  await first.client.waitFor((p) => p.cmd === "suback");

  if (leaveFirst) {
    first.client.send({ cmd: "disconnect" });
    await first.client.waitClosed();
  }
  const second = await connectV5(b.port, false, 300);
  expect(second.sessionPresent).toBe(true);
  if (!leaveFirst) {
    // Node A hears of the takeover through Redis and closes its connection (DISCONNECT 0x8E).
    const takenOver = await first.client.waitFor<any>((p) => p.cmd === "disconnect");
    expect(takenOver.reasonCode).toBe(0x8e);
    await first.client.waitClosed();
  }
  // What is tested is the passage of time itself: A's Session Expiry Interval for the old
  // connection must run out while the session lives on at B.
  await Bun.sleep(firstExpiry * 1000 + 1_000);
  const fence = await RawClient.open(a.port, 5);
  fence.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "fence", keepalive: 60 });
  await fence.waitFor((p) => p.cmd === "connack");
  second.client.send({ cmd: "disconnect" });
  await second.client.waitClosed();

  fence.send({ cmd: "publish", topic: "roaming/x", payload: Buffer.from("while away"), qos: 1, messageId: 1, retain: false, dup: false });
  await fence.waitFor((p) => p.cmd === "puback");
  const back = await connectV5(b.port, false, 300);
  const topics: string[] = [];
  if (back.sessionPresent) {
    const message = await back.client.waitFor<any>((p) => p.cmd === "publish");
    topics.push(`${message.topic} ${message.payload}`);
  }
  return { sessionPresent: back.sessionPresent, topics };
}

testWithPrograms(["redis-server"], "--cluster: a session taken over on node B outlives the Session Expiry Interval its old connection on node A had", async () => {
  expect(await moveToAnotherNode(1, false)).toEqual({ sessionPresent: true, topics: ["roaming/x while away"] });
}, 30_000);

testWithPrograms(["redis-server"], "--cluster: a session that left node A and was resumed on node B within its Session Expiry Interval is not expired by A", async () => {
  expect(await moveToAnotherNode(1, true)).toEqual({ sessionPresent: true, topics: ["roaming/x while away"] });
}, 30_000);

/**
 * A session stored in Redis (subscribed to ending/#) is resumed on node A with Session Expiry 0, so
 * it ends when that connection closes; node A reads Redis's replies about the subscription 500 ms
 * late, so its wipe is still under way when the client, gone from A, connects to node B at once.
 * Which came first between A's end of the session and B's CONNECT is for Redis to order: B either
 * finds no session or the whole session, which then goes on with B's connection. Resolves with
 * B's Session Present and, after the client left B and a QoS 1 message was published, what its
 * next return to B finds.
 */
async function endOnAThenConnectToB(): Promise<{ resumedOnB: boolean; back: { sessionPresent: boolean; topics: string[] } }> {
  const redis = await startRedis();
  const slowRedis = await startDelayingProxy(redis.port, "ending/#", 500);
  try {
    const [a, b] = await Promise.all([startNode(`redis://127.0.0.1:${slowRedis.port}`, "a"), startNode(redis.url, "b")]);
    const stored = await connectV5(b.port, true, 300);
    stored.client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "ending/#", qos: 1 }] });
    await stored.client.waitFor((p) => p.cmd === "suback");
    stored.client.send({ cmd: "disconnect" });
    await stored.client.waitClosed();
    const last = await connectV5(a.port, false, 0);
    expect(last.sessionPresent).toBe(true);
    last.client.send({ cmd: "disconnect" });
    await last.client.waitClosed();

    const next = await connectV5(b.port, false, 300);
    next.client.send({ cmd: "disconnect" });
    await next.client.waitClosed();
    // Long enough for A's delayed wipe to have done whatever it does.
    await Bun.sleep(1_500);
    const publisher = await RawClient.open(b.port, 5);
    publisher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "ending-publisher", keepalive: 60 });
    await publisher.waitFor((p) => p.cmd === "connack");
    publisher.send({ cmd: "publish", topic: "ending/x", payload: Buffer.from("after"), qos: 1, messageId: 1, retain: false, dup: false });
    await publisher.waitFor((p) => p.cmd === "puback");
    const back = await connectV5(b.port, false, 300);
    const topics: string[] = [];
    if (back.sessionPresent && next.sessionPresent) topics.push((await back.client.waitFor<any>((p) => p.cmd === "publish")).topic);
    return { resumedOnB: next.sessionPresent, back: { sessionPresent: back.sessionPresent, topics } };
  } finally {
    await slowRedis.close();
  }
}

testWithPrograms(["redis-server"], "--cluster: a session ending on node A while the client connects to node B is either gone at B or whole there, never wiped under B [MQTT-3.1.2-5, MQTT-3.2.2-2]", async () => {
  const { resumedOnB, back } = await endOnAThenConnectToB();
  // Resumed on B: the session, subscription and all, is still there on the next return. Not resumed:
  // B's connection began a session of its own, without the old subscription.
  if (resumedOnB) expect(back).toEqual({ sessionPresent: true, topics: ["ending/x"] });
  else expect(back.topics).toEqual([]);
}, 30_000);
