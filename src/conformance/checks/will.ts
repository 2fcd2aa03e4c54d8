/** The Will Message (§3.1.2.5-3.1.2.7, §3.1.3.2-3.1.3.4): when it is published, how, and when it is not. */
import type { Check, CheckContext } from "../check";
import { disconnect } from "../codec/encode";
import type { Packet } from "../codec/decode";
import { Prop, type Property } from "../codec/properties";
import { both, retainedFor, sameId, v311, v5 } from "./define";
import { expect } from "../verdict";

interface WillOptions {
  retain?: boolean;
  properties?: Property[];
  /** CONNECT properties (MQTT 5), e.g. Session Expiry Interval. */
  connectProperties?: Property[];
  clientId?: string;
  cleanStart?: boolean;
}

/** A subscriber on the will topic, and a connection carrying a will. */
async function setUp(t: CheckContext, options: WillOptions = {}) {
  const topic = t.topic("will");
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: topic, qos: 1 }]);
  const will = { topic, payload: "last will", qos: 1, retain: options.retain, properties: options.properties };
  const { connection } = await t.connect({ will, clientId: options.clientId, cleanStart: options.cleanStart, properties: options.connectProperties });
  const isWill = (packet: Packet) => packet.name === "PUBLISH" && packet.topic === topic;
  return { subscriber, connection, topic, isWill };
}

async function publishedOnDrop(t: CheckContext): Promise<string> {
  const { subscriber, connection, isWill } = await setUp(t);
  connection.destroy();
  const will = await subscriber.take(isWill, t.replyMs, "the will after the network connection dropped");
  expect(will.payload!.toString() === "last will", `will payload "${will.payload}"`);
  return "published";
}

async function publishedOnDropNotOnDisconnect(t: CheckContext): Promise<string> {
  const dropped = await publishedOnDrop(t);
  const { subscriber, connection, isWill } = await setUp(t);
  connection.write(disconnect(t.level));
  await connection.waitClosed(t.replyMs);
  connection.destroy();
  await t.nothing(subscriber, isWill, "the will was published after a normal DISCONNECT");
  return `${dropped} on a drop; not after DISCONNECT`;
}

/** Published once: the session comes back without a will and drops again, and nothing more is published. */
async function removedOncePublished(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const lasting = { cleanStart: false, connectProperties: [{ id: Prop.sessionExpiryInterval, value: 60 }] };
  const { subscriber, connection, isWill } = await setUp(t, { clientId, ...lasting });
  connection.destroy();
  await subscriber.take(isWill, t.replyMs, "the will");
  const { connection: again } = await t.connect({ clientId, cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  again.destroy();
  await t.nothing(subscriber, isWill, "the will was published a second time");
  return "published once";
}

async function willRetain(t: CheckContext, retain: boolean): Promise<string> {
  const { subscriber, connection, topic, isWill } = await setUp(t, { retain });
  connection.destroy();
  const live = await subscriber.take(isWill, t.replyMs, "the will");
  expect(!live.retain, "a live will delivery with RETAIN 1");
  const retained = await retainedFor(t, topic, retain ? t.replyMs : t.quietMs);
  if (retain) {
    expect(retained?.payload?.toString() === "last will", "a will with Will Retain 1 was not retained");
    const { connection: cleaner } = await t.connect();
    await t.publish(cleaner, { topic, qos: 1, retain: true, payload: "" });
    return "published and retained";
  }
  expect(!retained, "a will with Will Retain 0 was retained");
  return "published, not retained";
}

/** Will Delay Interval 3 s: the client is back within it, so the will is not sent. */
async function delayedWillCancelled(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { subscriber, connection, isWill } = await setUp(t, {
    clientId,
    cleanStart: true,
    properties: [{ id: Prop.willDelayInterval, value: 3 }],
    connectProperties: [{ id: Prop.sessionExpiryInterval, value: 30 }],
  });
  connection.destroy();
  const { connection: back } = await t.connect({ clientId, cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 30 }] });
  await t.nothing(subscriber, isWill, "the will was sent although the client reconnected within the Will Delay Interval", 3500);
  back.write(disconnect(5));
  await t.connect({ clientId, cleanStart: true, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  return "not sent";
}

async function willUserPropertyOrder(t: CheckContext): Promise<string> {
  const sent: Array<readonly [string, string]> = [["z", "1"], ["a", "2"], ["z", "3"]];
  const { subscriber, connection, isWill } = await setUp(t, { properties: sent.map((value) => ({ id: Prop.userProperty, value })) });
  connection.destroy();
  const will = await subscriber.take(isWill, t.replyMs, "the will");
  const got = will.properties.filter((property) => property.id === Prop.userProperty).map((property) => property.value);
  expect(JSON.stringify(got) === JSON.stringify(sent), `will User Properties ${JSON.stringify(got)}, sent ${JSON.stringify(sent)}`);
  return "in order";
}

export const willChecks: Check[] = [
  v5("MQTT-3.1.2-7", "A Will Message is stored and published when the connection drops", publishedOnDrop),
  v311("MQTT-3.1.2-8", "The will is published when the connection closes, not after DISCONNECT", publishedOnDropNotOnDisconnect),
  v5("MQTT-3.1.2-8", "The will is published after the connection closes, unless deleted by DISCONNECT 0x00", publishedOnDropNotOnDisconnect),
  ...both(sameId("MQTT-3.1.2-10"), "The will is removed once published", removedOncePublished),
  ...both({ v311: "MQTT-3.1.2-16", v5: "MQTT-3.1.2-14" }, "Will Retain 0: the will is published as a non-retained message", (t) => willRetain(t, false)),
  ...both({ v311: "MQTT-3.1.2-17", v5: "MQTT-3.1.2-15" }, "Will Retain 1: the will is published as a retained message", (t) => willRetain(t, true)),
  v5("MQTT-3.1.3-9", "Reconnecting within the Will Delay Interval: the will is not sent", delayedWillCancelled),
  v5("MQTT-3.1.3-10", "The will's User Properties keep their order", willUserPropertyOrder),
];
