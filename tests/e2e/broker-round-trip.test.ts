// The round trip through the compiled broker as the wire shows it: what leaves in one write.
import { afterEach, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import mqttPacket, { type Packet } from "mqtt-packet";
import { startBroker } from "./harness";

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A bare MQTT 5 connection that records which packets each read from the socket completed. */
async function openRecording(port: number) {
  const socket = connect({ host: "127.0.0.1", port });
  sockets.push(socket);
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const reads: Packet[][] = [];
  let current: Packet[] = [];
  let wake: (() => void) | undefined;
  parser.on("packet", (packet: Packet) => current.push(packet));
  socket.on("data", (chunk: Buffer) => {
    current = [];
    parser.parse(chunk);
    if (current.length > 0) reads.push(current);
    wake?.();
  });
  const send = (packet: Packet) => socket.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
  /** Waits until the packets received so far satisfy `done`. */
  const until = async (done: () => boolean, what: string, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; reads: ${JSON.stringify(reads.map((r) => r.map((p) => p.cmd)))}`);
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), Bun.sleep(100)]);
    }
  };
  return { reads, send, until };
}

test("a QoS 1 PUBLISH to the sender's own subscription comes back together with its PUBACK, in one write", async () => {
  const { port } = await startBroker();
  const client = await openRecording(port);
  const all = () => client.reads.flat();
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "round-trip", clean: true, keepalive: 60 });
  await client.until(() => all().some((p) => p.cmd === "connack"), "CONNACK");
  client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "rtt/self", qos: 1 }] });
  await client.until(() => all().some((p) => p.cmd === "suback"), "SUBACK");

  const ROUND_TRIPS = 20;
  for (let i = 1; i <= ROUND_TRIPS; i++) {
    const messageId = i + 1;
    const readsBefore = client.reads.length;
    client.send({ cmd: "publish", topic: "rtt/self", payload: Buffer.from(`m${i}`), qos: 1, messageId, retain: false, dup: false });
    const mine = (p: Packet) => p.cmd === "publish" && p.payload.toString() === `m${i}`;
    const acked = (p: Packet) => p.cmd === "puback" && p.messageId === messageId;
    await client.until(() => all().some(mine) && all().some(acked), `delivery and PUBACK of m${i}`);
    // Both in the first read after the publish: the broker wrote them in one send(2) (the PUBACK
    // written in a second one arrived in a read of its own in most round trips).
    const first = client.reads[readsBefore]!;
    expect({ round: i, cmds: first.map((p) => p.cmd) }).toEqual({ round: i, cmds: ["publish", "puback"] });
    const delivery = first[0] as Packet & { messageId: number };
    client.send({ cmd: "puback", messageId: delivery.messageId, reasonCode: 0 });
  }
});
