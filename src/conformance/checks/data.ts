/** §1.5 Data representation and §2 Control Packet format: UTF-8, integers, flags, identifiers, properties. */
import type { Check, CheckContext } from "../check";
import { frame, publish, subscribe, unsubscribe } from "../codec/encode";
import { Prop, type Property } from "../codec/properties";
import { both, closesAfter, everyPart, hex, pair, v311, v5 } from "./define";
import { expect } from "../verdict";

const ILL_FORMED = [Buffer.of(0xc3, 0x28), Buffer.of(0xed, 0xa0, 0x80)]; // a broken two-byte sequence; U+D800

/** A topic of this check followed by `bytes`. */
const topicWith = (t: CheckContext, bytes: Buffer) => Buffer.concat([Buffer.from(t.topic("x")), bytes]);

async function illFormedTopicCloses(t: CheckContext): Promise<string> {
  const details = [];
  for (const bytes of ILL_FORMED) details.push(await closesAfter(t, publish(t.level, { topic: topicWith(t, bytes), payload: "x" }), `a Topic Name with ${bytes.toString("hex")}`));
  return details.join("; ");
}

async function nullInTopicCloses(t: CheckContext): Promise<string> {
  return closesAfter(t, publish(t.level, { topic: topicWith(t, Buffer.of(0)), payload: "x" }), "a Topic Name with U+0000");
}

async function byteOrderMarkKept(t: CheckContext): Promise<void> {
  const topic = `${t.topic()}/\u{feff}bom`;
  const { subscriber, publisher } = await pair(t, topic);
  await t.publish(publisher, { topic, payload: "bom" });
  const message = await t.message(subscriber, topic, "the PUBLISH on a topic holding 0xEF 0xBB 0xBF");
  expect(message.topicBytes!.equals(Buffer.from(topic)), `topic bytes changed: ${message.topicBytes!.toString("hex")}`);
}

/** Every packet the server sent in a short session: CONNACK, SUBACK, PUBLISH of 200 bytes, PUBACK, UNSUBACK, PINGRESP. */
async function sampleServerPackets(t: CheckContext) {
  const topic = t.topic();
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  await t.publish(connection, { topic, qos: 1, payload: Buffer.alloc(200, 0x61) });
  await t.message(connection, topic);
  await t.unsubscribe(connection, [topic]);
  connection.write(frame(0xc0));
  await connection.take("PINGRESP", t.replyMs);
  return connection.received;
}

async function minimalLengths(t: CheckContext): Promise<string> {
  const packets = await sampleServerPackets(t);
  const wrong = packets.filter((packet) => !packet.remainingLengthMinimal);
  expect(wrong.length === 0, `non-minimal Remaining Length in ${wrong.map((packet) => packet.name).join(", ")}`);
  return `${packets.length} packets checked`;
}

async function wellFormedFromServer(t: CheckContext): Promise<string> {
  const packets = await sampleServerPackets(t);
  const bad = packets.filter((packet) => packet.problems.length > 0);
  expect(bad.length === 0, bad.map((packet) => `${packet.name}: ${packet.problems.join(", ")}`).join("; "));
  return `${packets.map((packet) => packet.name).join(", ")}`;
}

async function reservedFlagsClose(t: CheckContext): Promise<string> {
  return closesAfter(t, frame(0xc1), "PINGREQ with reserved flags 0001");
}

async function nonZeroServerPacketIds(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 1);
  subscriber.autoAcknowledge = false;
  for (let index = 0; index < 3; index++) await t.publish(publisher, { topic, qos: 1, payload: String(index) });
  const ids = [];
  for (let index = 0; index < 3; index++) ids.push((await t.message(subscriber, topic)).packetId!);
  expect(!ids.includes(0), `a QoS 1 PUBLISH with Packet Identifier 0 (${ids.join(", ")})`);
  expect(new Set(ids).size === 3, `Packet Identifiers reused while unacknowledged: ${ids.join(", ")}`);
  return `ids ${ids.join(", ")}`;
}

async function qos0HasNoPacketId(t: CheckContext): Promise<void> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 2);
  await t.publish(publisher, { topic, qos: 0, payload: "qos0-payload" });
  const message = await t.message(subscriber, topic);
  expect(message.qos === 0, `QoS ${message.qos} delivery of a QoS 0 message`);
  expect(message.payload!.toString() === "qos0-payload", `payload read as ${JSON.stringify(message.payload!.toString())}: a Packet Identifier before it?`);
}

async function acknowledgementIdsMatch(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  const puback = await t.publish(connection, { topic: t.topic(), qos: 1, packetId: 0x1234, payload: "1" });
  expect(puback?.packetId === 0x1234, `PUBACK id ${puback?.packetId}`);
  const pubcomp = await t.publish(connection, { topic: t.topic(), qos: 2, packetId: 0xabcd, payload: "2" });
  expect(pubcomp?.packetId === 0xabcd, `PUBCOMP id ${pubcomp?.packetId}`);
  return "PUBACK 0x1234, PUBREC/PUBCOMP 0xabcd";
}

async function subackIdsMatch(t: CheckContext): Promise<void> {
  const { connection } = await t.connect();
  connection.write(subscribe(t.level, 0x7777, [{ filter: t.topic(), qos: 0 }]));
  const suback = await connection.take("SUBACK", t.replyMs);
  expect(suback.packetId === 0x7777, `SUBACK id ${suback.packetId}, SUBSCRIBE had 0x7777`);
  connection.write(unsubscribe(t.level, 0x8888, [t.topic()]));
  const unsuback = await connection.take("UNSUBACK", t.replyMs);
  expect(unsuback.packetId === 0x8888, `UNSUBACK id ${unsuback.packetId}, UNSUBSCRIBE had 0x8888`);
}

/** A User Property whose value is not UTF-8, sent inside a PUBLISH. */
async function illFormedUserPropertyCloses(t: CheckContext): Promise<string> {
  const property = { id: Prop.userProperty, value: ["key", Buffer.of(0xc3, 0x28)] as unknown as readonly [string, string] } satisfies Property;
  return closesAfter(t, publish(5, { topic: t.topic(), payload: "x", properties: [property] }), "a User Property with ill-formed UTF-8");
}

async function emptyPropertiesHaveLengthZero(t: CheckContext): Promise<void> {
  const { connection } = await t.connect();
  const suback = await t.subscribe(connection, [{ filter: t.topic(), qos: 1 }]);
  expect(suback.problems.length === 0 && suback.reasonCodes?.length === 1 && suback.reasonCodes[0] === 1, `SUBACK ${suback.bytes.toString("hex")} (want a Property Length and one code 0x01)`);
}

/**
 * A property not valid for its packet type makes the packet malformed, both ways: the server closes on
 * a PUBLISH carrying Session Expiry Interval, and its own will PUBLISH must not carry the Will Delay
 * Interval, a Will Property that is not a PUBLISH property (§3.3.2.3).
 */
async function misplacedProperties(t: CheckContext): Promise<string> {
  const bytes = publish(5, { topic: t.topic(), payload: "x", properties: [{ id: Prop.sessionExpiryInterval, value: 10 }] });
  return everyPart({
    "PUBLISH with Session Expiry Interval": () => closesAfter(t, bytes, "a PUBLISH carrying Session Expiry Interval"),
    "will PUBLISH": () => willPublishProperties(t),
  });
}

async function willPublishProperties(t: CheckContext): Promise<string> {
  const topic = t.topic("will");
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: topic, qos: 1 }]);
  const will = { topic, payload: "gone", qos: 1, properties: [{ id: Prop.willDelayInterval, value: 1 }, { id: Prop.contentType, value: "text/plain" }] };
  const { connection } = await t.connect({ will, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  connection.destroy();
  const message = await t.message(subscriber, topic, "the will PUBLISH");
  const problems = message.problems.join(", ");
  expect(!problems, `the will PUBLISH is malformed: ${problems}`);
  return `properties ${message.properties.map((property) => hex(property.id)).join(", ") || "none"}`;
}

export const dataChecks: Check[] = [
  v311("MQTT-1.5.3-1", "A Topic Name with ill-formed UTF-8 closes the connection", illFormedTopicCloses),
  v5("MQTT-1.5.4-1", "A Topic Name with ill-formed UTF-8 (or a surrogate) is malformed: connection closed", illFormedTopicCloses),
  ...both({ v311: "MQTT-1.5.3-2", v5: "MQTT-1.5.4-2" }, "A Topic Name holding U+0000 closes the connection", nullInTopicCloses),
  ...both({ v311: "MQTT-1.5.3-3", v5: "MQTT-1.5.4-3" }, "0xEF 0xBB 0xBF in a topic is neither skipped nor stripped", byteOrderMarkKept),
  v5("MQTT-1.5.5-1", "The server's Variable Byte Integers use the fewest bytes", minimalLengths),
  v5("MQTT-1.5.7-1", "A User Property with ill-formed UTF-8 is malformed: connection closed", illFormedUserPropertyCloses),
  v311("MQTT-2.2.2-1", "Packets from the server have their reserved flag bits as listed", wellFormedFromServer),
  v311("MQTT-2.2.2-2", "A packet with invalid reserved flags closes the connection", reservedFlagsClose),
  v5("MQTT-2.1.3-1", "Reserved flag bits: a PINGREQ with flags 0001 is malformed, connection closed", reservedFlagsClose),
  ...both({ v311: "MQTT-2.3.1-1", v5: "MQTT-2.2.1-4" }, "The server's QoS 1 PUBLISH packets carry non-zero, unused Packet Identifiers", nonZeroServerPacketIds),
  ...both({ v311: "MQTT-2.3.1-5", v5: "MQTT-2.2.1-2" }, "A QoS 0 PUBLISH from the server has no Packet Identifier", qos0HasNoPacketId),
  ...both({ v311: "MQTT-2.3.1-6", v5: "MQTT-2.2.1-5" }, "PUBACK, PUBREC and PUBCOMP carry the PUBLISH's Packet Identifier", acknowledgementIdsMatch),
  ...both({ v311: "MQTT-2.3.1-7", v5: "MQTT-2.2.1-6" }, "SUBACK and UNSUBACK carry the Packet Identifier of their request", subackIdsMatch),
  v5("MQTT-2.2.2-1", "No properties is sent as a Property Length of zero (SUBACK)", emptyPropertiesHaveLengthZero),
  v5("MQTT-2.2.2-2", "A property not valid for its packet type is malformed: closed on receipt, never sent (will PUBLISH)", misplacedProperties),
];
