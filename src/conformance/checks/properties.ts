/** MQTT 5 properties the server must honour: forwarding (§3.3.2.3), expiry, Topic Alias, Maximum Packet Size, CONNECT requests. */
import type { Check, CheckContext } from "../check";
import { publish, subscribe, unsubscribe } from "../codec/encode";
import type { Packet } from "../codec/decode";
import { Prop, type Property } from "../codec/properties";
import { closesAfter, pair, v5 } from "./define";
import { expect } from "../verdict";

const FORWARDED: Property[] = [
  { id: Prop.payloadFormatIndicator, value: 1 },
  { id: Prop.contentType, value: "text/plain; charset=utf-8" },
  { id: Prop.responseTopic, value: "conformance/reply" },
  { id: Prop.correlationData, value: Buffer.from([0, 1, 2, 0xfe, 0xff]) },
  { id: Prop.userProperty, value: ["b", "2"] },
  { id: Prop.userProperty, value: ["a", "1"] },
  { id: Prop.userProperty, value: ["b", "3"] },
];

const same = (a: Property["value"] | undefined, b: Property["value"]) => JSON.stringify(Buffer.isBuffer(a) ? [...a] : a) === JSON.stringify(Buffer.isBuffer(b) ? [...b] : b);

/** Publishes with every forwarded property and checks the one `id` arrives unaltered (user properties in order). */
async function forwardedUnaltered(t: CheckContext, id: number, inOrder = true): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 1);
  await t.publish(publisher, { topic, qos: 1, payload: "with properties", properties: FORWARDED });
  const message = await t.message(subscriber, topic);
  const sent = FORWARDED.filter((property) => property.id === id).map((property) => property.value);
  const got = message.properties.filter((property) => property.id === id).map((property) => property.value);
  if (!inOrder) {
    const key = (values: Property["value"][]) => values.map((value) => JSON.stringify(Buffer.isBuffer(value) ? [...value] : value)).sort().join();
    expect(key(sent) === key(got), `sent ${JSON.stringify(sent)}, delivered ${JSON.stringify(got)}`);
    return `${got.length} unaltered`;
  }
  expect(sent.length === got.length && sent.every((value, index) => same(got[index], value)), `sent ${JSON.stringify(sent)}, delivered ${JSON.stringify(got)}`);
  return `${got.length} unaltered`;
}

const illFormed = Buffer.of(0x61, 0xc3, 0x28);
const illFormedProperty = (id: number, name: string) => (t: CheckContext) =>
  closesAfter(t, publish(5, { topic: t.topic(), payload: "x", properties: [{ id, value: illFormed as unknown as string }] }), `a ${name} with ill-formed UTF-8`);

/** A session away while a message with Message Expiry Interval waits for it. */
async function waitingMessage(t: CheckContext, expirySeconds: number, awayMs: number): Promise<Packet | undefined> {
  const clientId = t.clientId();
  const topic = t.topic();
  const { connection } = await t.connect({ clientId, cleanStart: true, properties: [{ id: Prop.sessionExpiryInterval, value: 60 }] });
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  connection.destroy();
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "expiring", properties: [{ id: Prop.messageExpiryInterval, value: expirySeconds }] });
  await Bun.sleep(awayMs);
  const { connection: back } = await t.connect({ clientId, cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  return back.poll((packet) => packet.name === "PUBLISH" && packet.topic === topic, expirySeconds * 1000 > awayMs ? t.replyMs : t.quietMs * 2);
}

async function expiredNotDelivered(t: CheckContext): Promise<string> {
  const message = await waitingMessage(t, 1, 2200);
  expect(!message, "a message whose Message Expiry Interval (1 s) had passed was delivered");
  return "deleted";
}

async function expiryReduced(t: CheckContext): Promise<string> {
  const started = Date.now();
  const message = await waitingMessage(t, 60, 2200);
  expect(message, "the waiting message was not delivered");
  // It waited at least 2.2 s and at most as long as the whole check took (a loaded machine is slow).
  const mostSeconds = Math.ceil((Date.now() - started) / 1000);
  const left = message.properties.find((property) => property.id === Prop.messageExpiryInterval)?.value as number | undefined;
  expect(left !== undefined && left <= 58 && left >= 60 - mostSeconds - 1, `Message Expiry Interval ${left ?? "absent"} after waiting 2.2 to ${mostSeconds} s, sent as 60`);
  return `60 → ${left}`;
}

/** An alias set on one connection means nothing on the next one (same client id). */
async function aliasNotCarriedOver(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { connection, connack } = await t.connect({ clientId });
  const maximum = connack.properties.find((property) => property.id === Prop.topicAliasMaximum)?.value as number | undefined;
  if (!maximum) return "the server accepts no Topic Aliases";
  await t.publish(connection, { topic: t.topic(), qos: 1, payload: "sets alias 1", properties: [{ id: Prop.topicAlias, value: 1 }] });
  connection.destroy();
  const { connection: next } = await t.connect({ clientId });
  next.write(publish(5, { topic: "", qos: 1, packetId: 9, payload: "uses alias 1", properties: [{ id: Prop.topicAlias, value: 1 }] }));
  return t.closedBy(next, "a PUBLISH using an alias set on the previous connection");
}

async function aliasesAccepted(t: CheckContext): Promise<string> {
  const { connection, connack } = await t.connect();
  const maximum = connack.properties.find((property) => property.id === Prop.topicAliasMaximum)?.value as number | undefined;
  if (!maximum) return "the server accepts no Topic Aliases (Topic Alias Maximum absent or 0)";
  for (const alias of [1, maximum]) {
    const topic = t.topic(`alias${alias}`);
    await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
    await t.publish(connection, { topic, qos: 1, payload: "set", properties: [{ id: Prop.topicAlias, value: alias }] });
    await t.publish(connection, { topic: "", qos: 1, payload: "use", properties: [{ id: Prop.topicAlias, value: alias }] });
    await t.message(connection, topic, `the message set with alias ${alias}`);
    await t.message(connection, topic, `the message sent with alias ${alias} and no Topic Name`);
  }
  return `aliases 1 and ${maximum}`;
}

/** Deliveries to a client that allows `maximum` aliases (undefined: property absent) never exceed it. */
async function aliasesToClient(t: CheckContext, maximum: number | undefined): Promise<string> {
  const base = t.topic("many");
  const properties = maximum === undefined ? [] : [{ id: Prop.topicAliasMaximum, value: maximum }];
  const { connection } = await t.connect({ properties });
  await t.subscribed(connection, [{ filter: `${base}/+`, qos: 0 }]);
  const { connection: publisher } = await t.connect();
  for (let round = 0; round < 2; round++) for (let index = 0; index < 5; index++) await t.publish(publisher, { topic: `${base}/${index}`, qos: 1, payload: "x" });
  const aliases: number[] = [];
  for (let index = 0; index < 10; index++) {
    const message = await connection.take("PUBLISH", t.replyMs);
    const alias = message.properties.find((property) => property.id === Prop.topicAlias)?.value;
    if (alias !== undefined) aliases.push(alias as number);
  }
  const limit = maximum ?? 0;
  const over = aliases.filter((alias) => alias > limit || alias === 0);
  expect(over.length === 0, `Topic Alias ${over.join(", ")} sent to a client whose Topic Alias Maximum is ${maximum ?? "absent"}`);
  return aliases.length ? `aliases ${[...new Set(aliases)].join(", ")}` : "no aliases";
}

/** Maximum Packet Size 200: a bigger message is not sent (and the next small one is). */
async function maximumPacketSize(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection } = await t.connect({ properties: [{ id: Prop.maximumPacketSize, value: 200 }] });
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: Buffer.alloc(500, 0x62) });
  await t.publish(publisher, { topic, qos: 1, payload: "small" });
  const first = await t.message(connection, topic, "the small message after a too-large one");
  expect(first.bytes.length <= 200, `a ${first.bytes.length}-byte packet sent to a client with Maximum Packet Size 200`);
  expect(first.payload!.toString() === "small", "the too-large message was sent");
  const oversized = connection.received.filter((packet) => packet.bytes.length > 200);
  expect(oversized.length === 0, `${oversized.length} packets over 200 bytes`);
  return "discarded, the next delivered";
}

async function noResponseInformation(t: CheckContext): Promise<string> {
  const { connack } = await t.connect({ properties: [{ id: Prop.requestResponseInformation, value: 0 }] });
  expect(!connack.properties.some((property) => property.id === Prop.responseInformation), "Response Information in CONNACK though the client asked for none");
  return "none";
}

async function noProblemInformation(t: CheckContext): Promise<string> {
  const { connection } = await t.connect({ properties: [{ id: Prop.requestProblemInformation, value: 0 }] });
  connection.write(subscribe(5, t.id(), [{ filter: t.topic("a/#/b"), qos: 0 }, { filter: t.topic(), qos: 2 }]));
  connection.write(unsubscribe(5, t.id(), [t.topic("never")]));
  await connection.poll("UNSUBACK", t.replyMs);
  if (!connection.closed) {
    await t.publish(connection, { topic: t.topic("nobody"), qos: 1, payload: "x" });
    await t.publish(connection, { topic: t.topic("nobody"), qos: 2, payload: "x" });
  }
  const offending = connection.received.filter(
    (packet) => !["PUBLISH", "CONNACK", "DISCONNECT"].includes(packet.name) && packet.properties.some((property) => property.id === Prop.reasonString || property.id === Prop.userProperty),
  );
  expect(offending.length === 0, `Reason String or User Property in ${offending.map((packet) => packet.name).join(", ")}`);
  return `${connection.received.map((packet) => packet.name).join(", ")} without`;
}

export const propertyChecks: Check[] = [
  v5("MQTT-3.3.2-4", "Payload Format Indicator forwarded unaltered", (t) => forwardedUnaltered(t, Prop.payloadFormatIndicator)),
  v5("MQTT-3.3.2-15", "Response Topic forwarded unaltered", (t) => forwardedUnaltered(t, Prop.responseTopic)),
  v5("MQTT-3.3.2-16", "Correlation Data forwarded unaltered", (t) => forwardedUnaltered(t, Prop.correlationData)),
  v5("MQTT-3.3.2-17", "User Properties forwarded unaltered (all of them, in any order)", (t) => forwardedUnaltered(t, Prop.userProperty, false)),
  v5("MQTT-3.3.2-18", "User Properties forwarded in their order", (t) => forwardedUnaltered(t, Prop.userProperty)),
  v5("MQTT-3.3.2-20", "Content Type forwarded unaltered", (t) => forwardedUnaltered(t, Prop.contentType)),
  v5("MQTT-3.3.2-13", "A Response Topic with ill-formed UTF-8 closes the connection", illFormedProperty(Prop.responseTopic, "Response Topic")),
  v5("MQTT-3.3.2-19", "A Content Type with ill-formed UTF-8 closes the connection", illFormedProperty(Prop.contentType, "Content Type")),
  v5("MQTT-3.3.2-5", "A message whose Message Expiry Interval passed while waiting is not delivered", expiredNotDelivered),
  v5("MQTT-3.3.2-6", "Message Expiry Interval is forwarded minus the time the message waited", expiryReduced),
  v5("MQTT-3.3.2-7", "Topic Alias mappings do not carry over to a new connection", aliasNotCarriedOver),
  v5("MQTT-3.3.2-12", "Topic Aliases from 1 to the server's Topic Alias Maximum are accepted", aliasesAccepted),
  v5("MQTT-3.3.2-11", "No Topic Alias above the client's Topic Alias Maximum (2)", (t) => aliasesToClient(t, 2)),
  v5("MQTT-3.1.2-26", "The server sends no Topic Alias greater than Topic Alias Maximum (2)", (t) => aliasesToClient(t, 2)),
  v5("MQTT-3.1.2-27", "Topic Alias Maximum absent: the server sends no Topic Alias", (t) => aliasesToClient(t, undefined)),
  v5("MQTT-3.1.2-24", "No packet larger than the client's Maximum Packet Size", maximumPacketSize),
  v5("MQTT-3.1.2-25", "A message too large for the client is discarded and the next one delivered", maximumPacketSize),
  v5("MQTT-3.1.2-28", "Request Response Information 0: no Response Information in CONNACK", noResponseInformation),
  v5("MQTT-3.1.2-29", "Request Problem Information 0: no Reason String or User Property outside PUBLISH, CONNACK, DISCONNECT", noProblemInformation),
];
