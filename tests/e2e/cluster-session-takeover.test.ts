// A session taken over on another --cluster node belongs to the new connection: the node that loses
// the connection must not end the session (wipe it from Redis, or arm its expiry) as if the client
// had left [MQTT-3.1.4-3, MQTT-3.1.2-5].
import { expect } from "bun:test";
import { startNode, startRedis } from "./cluster-harness";
import { testWithPrograms } from "./harness";
import { RawClient } from "./mqtt-raw";

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
