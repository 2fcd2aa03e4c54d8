/** §3.4-3.7 acknowledgements and §4.3 the QoS 1 and QoS 2 protocols, server as sender and as receiver. */
import type { Check, CheckContext } from "../check";
import { acknowledgement, frame, publish } from "../codec/encode";
import type { Packet } from "../codec/decode";
import { PacketType } from "../codec/packet-types";
import { Prop, type Property } from "../codec/properties";
import type { Connection } from "../connection";
import { both, closesAfter, hex, pair, sameId, v311, v5 } from "./define";
import { expect } from "../verdict";

const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_CODES = [0x00, 0x92];

async function pubackCodes(t: CheckContext, qos: 1 | 2): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 2);
  const codes: number[] = [];
  for (const target of [topic, t.topic("nobody")]) {
    const packetId = t.id();
    publisher.write(publish(5, { topic: target, qos, packetId, payload: "x" }));
    const ack = await publisher.take((packet) => packet.name === (qos === 1 ? "PUBACK" : "PUBREC") && packet.packetId === packetId, t.replyMs);
    codes.push(ack.reasonCode!);
    if (qos === 2) publisher.write(acknowledgement(5, PacketType.PUBREL, packetId));
  }
  void subscriber;
  const invalid = codes.filter((code) => !PUBACK_CODES.includes(code));
  expect(invalid.length === 0, `${qos === 1 ? "PUBACK" : "PUBREC"} Reason Code ${invalid.map(hex).join(", ")} is not one of the spec's`);
  expect(codes[0]! < 0x80, `a PUBLISH with a subscriber was refused: ${hex(codes[0])}`);
  return `codes ${codes.map(hex).join(", ")}`;
}

/** The server delivers a QoS 2 message to us; we send PUBREC and look at its PUBREL. */
async function serverPubrel(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 2);
  subscriber.autoAcknowledge = false;
  await t.publish(publisher, { topic, qos: 2, payload: "x" });
  const message = await t.message(subscriber, topic);
  subscriber.write(acknowledgement(t.level, PacketType.PUBREC, message.packetId!));
  const pubrel = await subscriber.take((packet) => packet.name === "PUBREL" && packet.packetId === message.packetId, t.replyMs, "PUBREL with the PUBLISH's Packet Identifier");
  expect(PUBREL_CODES.includes(pubrel.reasonCode!), `PUBREL Reason Code ${hex(pubrel.reasonCode)}`);
  expect(pubrel.problems.length === 0, pubrel.problems.join(", "));
  subscriber.write(acknowledgement(t.level, PacketType.PUBCOMP, message.packetId!));
  return `PUBREL ${hex(pubrel.reasonCode)}`;
}

async function pubcompForUnknownId(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  connection.write(acknowledgement(5, PacketType.PUBREL, 0x4242));
  const pubcomp = await connection.take("PUBCOMP", t.replyMs, "PUBCOMP for a PUBREL");
  expect(pubcomp.packetId === 0x4242, `PUBCOMP id ${pubcomp.packetId}`);
  expect(PUBREL_CODES.includes(pubcomp.reasonCode!), `PUBCOMP Reason Code ${hex(pubcomp.reasonCode)}`);
  return `PUBCOMP ${hex(pubcomp.reasonCode)}`;
}

const pubrelFlagsClose = (t: CheckContext) => closesAfter(t, frame(0x60, Buffer.of(0, 1)), "a PUBREL with flags 0000");

/** The first delivery at QoS 1 or 2: DUP 0, a Packet Identifier; returns it. */
async function firstDelivery(t: CheckContext, qos: 1 | 2, publishProperties: Property[] = []): Promise<{ subscriber: Connection; message: Packet; topic: string; clientId: string }> {
  const clientId = t.clientId();
  const topic = t.topic();
  const { connection: subscriber } = await t.connect({ clientId, cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 60 }] });
  subscriber.autoAcknowledge = false;
  await t.subscribed(subscriber, [{ filter: topic, qos }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos, payload: `qos${qos}`, properties: publishProperties });
  const message = await t.message(subscriber, topic);
  expect(message.qos === qos && !message.dup && message.packetId, `first delivery QoS ${message.qos} DUP ${message.dup ? 1 : 0} id ${message.packetId}`);
  return { subscriber, message, topic, clientId };
}

async function resume(t: CheckContext, clientId: string): Promise<Connection> {
  const { connection } = await t.connect({ clientId, cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  connection.autoAcknowledge = false;
  return connection;
}

async function senderQos(t: CheckContext, qos: 1 | 2): Promise<string> {
  const { message } = await firstDelivery(t, qos);
  return `QoS ${qos}, DUP 0, id ${message.packetId}`;
}

/** Unacknowledged until acknowledged: re-sent after a reconnect without PUBACK/PUBREC, not after one with it. */
async function unacknowledgedUntilAck(t: CheckContext, qos: 1 | 2): Promise<string> {
  const { subscriber, message, topic, clientId } = await firstDelivery(t, qos);
  subscriber.destroy();
  const back = await resume(t, clientId);
  const again = await t.message(back, topic, `the PUBLISH re-sent: it had no ${qos === 1 ? "PUBACK" : "PUBREC"}`);
  expect(again.packetId === message.packetId, `re-sent with id ${again.packetId}, first ${message.packetId}`);
  back.write(acknowledgement(t.level, qos === 1 ? PacketType.PUBACK : PacketType.PUBREC, again.packetId!));
  // The server answers in order: its PUBREL, or the PINGRESP after our PUBACK, says it has read the acknowledgement.
  if (qos === 2) await back.take("PUBREL", t.replyMs);
  else await t.pinged(back);
  back.destroy();
  const third = await resume(t, clientId);
  await t.nothing(third, (packet) => packet.name === "PUBLISH" && packet.topic === topic, "re-sent although acknowledged");
  return "re-sent until acknowledged";
}

/** After our PUBREC the server sends PUBREL; on resumption it re-sends the PUBREL, never the PUBLISH. */
async function pubrelUntilPubcomp(t: CheckContext): Promise<string> {
  const { subscriber, message, topic, clientId } = await firstDelivery(t, 2);
  subscriber.write(acknowledgement(t.level, PacketType.PUBREC, message.packetId!));
  await subscriber.take((packet) => packet.name === "PUBREL" && packet.packetId === message.packetId, t.replyMs, "PUBREL after PUBREC");
  subscriber.destroy();
  const back = await resume(t, clientId);
  const pubrel = await back.take("PUBREL", t.replyMs, "the PUBREL re-sent: it had no PUBCOMP");
  expect(pubrel.packetId === message.packetId, `PUBREL re-sent with id ${pubrel.packetId}, want ${message.packetId}`);
  const resent = back.received.find((packet) => packet.name === "PUBLISH" && packet.topic === topic);
  expect(!resent, "the PUBLISH was re-sent after its PUBREL");
  back.write(acknowledgement(t.level, PacketType.PUBCOMP, message.packetId!));
  return "PUBREL re-sent, PUBLISH not";
}

/** As receiver: PUBACK with the id, and the same id afterwards is a new message. */
async function qos1Receiver(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 1);
  for (const payload of ["one", "two"]) {
    publisher.write(publish(t.level, { topic, qos: 1, packetId: 77, dup: payload === "two", payload }));
    const puback = await publisher.take("PUBACK", t.replyMs);
    expect(puback.packetId === 77, `PUBACK id ${puback.packetId}`);
    const message = await t.message(subscriber, topic, `"${payload}" (the same Packet Identifier after its PUBACK is a new message)`);
    expect(message.payload!.toString() === payload, `got "${message.payload}", want "${payload}"`);
  }
  return "both delivered";
}

/** As receiver: PUBREC again for a duplicate before PUBREL without a second delivery; PUBCOMP; then the id is new. */
async function qos2Receiver(t: CheckContext, part: "pubrec" | "duplicate" | "pubcomp" | "new"): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 2);
  publisher.write(publish(t.level, { topic, qos: 2, packetId: 99, payload: "once" }));
  const pubrec = await publisher.take("PUBREC", t.replyMs);
  expect(pubrec.packetId === 99, `PUBREC id ${pubrec.packetId}`);
  publisher.write(publish(t.level, { topic, qos: 2, packetId: 99, dup: true, payload: "once" }));
  const again = await publisher.take("PUBREC", t.replyMs, "PUBREC for the duplicate PUBLISH before PUBREL");
  expect(again.packetId === 99, `second PUBREC id ${again.packetId}`);
  publisher.write(acknowledgement(t.level, PacketType.PUBREL, 99));
  const pubcomp = await publisher.take("PUBCOMP", t.replyMs);
  expect(pubcomp.packetId === 99, `PUBCOMP id ${pubcomp.packetId}`);
  await t.message(subscriber, topic);
  await t.nothing(subscriber, (packet) => packet.name === "PUBLISH" && packet.topic === topic, "the duplicate was delivered twice");
  if (part !== "new") return "PUBREC, PUBREC, PUBCOMP; delivered once";
  await t.publish(publisher, { topic, qos: 2, packetId: 99, payload: "again" });
  const second = await t.message(subscriber, topic, "the same Packet Identifier after PUBCOMP delivered as a new message");
  expect(second.payload!.toString() === "again", `got "${second.payload}"`);
  return "new message delivered";
}

/** A PUBACK with a Reason Code of 0x80 or more acknowledges the message: it is not re-sent on resumption. */
async function refusedAckNotResent(t: CheckContext): Promise<string> {
  const { subscriber, message, topic, clientId } = await firstDelivery(t, 1);
  subscriber.write(acknowledgement(5, PacketType.PUBACK, message.packetId!, 0x80));
  await t.pinged(subscriber);
  subscriber.destroy();
  const back = await resume(t, clientId);
  await t.nothing(back, (packet) => packet.name === "PUBLISH" && packet.topic === topic, "re-sent after a PUBACK with Reason Code 0x80");
  return "not re-sent";
}

/** A QoS 2 PUBLISH already sent is not expired: after its Message Expiry passes it is still re-sent on resumption. */
async function sentQos2NotExpired(t: CheckContext): Promise<string> {
  const { subscriber, message, topic, clientId } = await firstDelivery(t, 2, [{ id: Prop.messageExpiryInterval, value: 1 }]);
  subscriber.destroy();
  await Bun.sleep(2000);
  const back = await resume(t, clientId);
  const again = await t.message(back, topic, "the QoS 2 PUBLISH re-sent although its Message Expiry Interval (1 s) passed");
  expect(again.packetId === message.packetId, `re-sent with id ${again.packetId}, first ${message.packetId}`);
  return "re-sent after 2 s";
}

/** As receiver, the QoS 2 flow completes even when the message's expiry passed before our PUBREL. */
async function ackSequenceAfterExpiry(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  connection.write(publish(5, { topic: t.topic(), qos: 2, packetId: 31, payload: "x", properties: [{ id: Prop.messageExpiryInterval, value: 1 }] }));
  await connection.take("PUBREC", t.replyMs);
  await Bun.sleep(1500);
  connection.write(acknowledgement(5, PacketType.PUBREL, 31));
  const pubcomp = await connection.take("PUBCOMP", t.replyMs, "PUBCOMP for a PUBREL sent after the message expired");
  expect(pubcomp.packetId === 31 && pubcomp.reasonCode === 0, `PUBCOMP id ${pubcomp.packetId} ${hex(pubcomp.reasonCode)}`);
  return "PUBCOMP 0x00";
}

export const qosChecks: Check[] = [
  v5("MQTT-3.4.2-1", "PUBACK Reason Codes are the spec's", (t) => pubackCodes(t, 1)),
  v5("MQTT-3.5.2-1", "PUBREC Reason Codes are the spec's", (t) => pubackCodes(t, 2)),
  v5("MQTT-3.6.2-1", "PUBREL Reason Codes are the spec's", serverPubrel),
  v5("MQTT-3.7.2-1", "PUBCOMP Reason Codes are the spec's", pubcompForUnknownId),
  ...both(sameId("MQTT-3.6.1-1"), "A PUBREL with flags other than 0010 closes the connection", pubrelFlagsClose),
  v5("MQTT-4.3.1-1", "QoS 0 delivery: QoS 0 and DUP 0", async (t) => {
    const topic = t.topic();
    const { subscriber, publisher } = await pair(t, topic, 0);
    await t.publish(publisher, { topic, payload: "x" });
    const message = await t.message(subscriber, topic);
    expect(message.qos === 0 && !message.dup, `QoS ${message.qos} DUP ${message.dup ? 1 : 0}`);
  }),
  v311("MQTT-4.3.2-1", "QoS 1 sender: unused Packet Identifier, QoS 1, DUP 0, unacknowledged until PUBACK", (t) => unacknowledgedUntilAck(t, 1)),
  v5("MQTT-4.3.2-1", "QoS 1 sender: a Packet Identifier for each new message", (t) => senderQos(t, 1)),
  v5("MQTT-4.3.2-2", "QoS 1 sender: QoS 1 and DUP 0", (t) => senderQos(t, 1)),
  v5("MQTT-4.3.2-3", "QoS 1 sender: unacknowledged (re-sent on resumption) until PUBACK", (t) => unacknowledgedUntilAck(t, 1)),
  v311("MQTT-4.3.2-2", "QoS 1 receiver: PUBACK with the Packet Identifier; the same id afterwards is new", qos1Receiver),
  v5("MQTT-4.3.2-4", "QoS 1 receiver: PUBACK with the PUBLISH's Packet Identifier", qos1Receiver),
  v5("MQTT-4.3.2-5", "QoS 1 receiver: after PUBACK the same Packet Identifier is a new message", qos1Receiver),
  v311("MQTT-4.3.3-1", "QoS 2 sender: PUBLISH unacknowledged until PUBREC, then PUBREL until PUBCOMP", pubrelUntilPubcomp),
  v5("MQTT-4.3.3-1", "QoS 2 sender: a Packet Identifier for each new message", (t) => senderQos(t, 2)),
  v5("MQTT-4.3.3-2", "QoS 2 sender: QoS 2 and DUP 0", (t) => senderQos(t, 2)),
  v5("MQTT-4.3.3-3", "QoS 2 sender: unacknowledged (re-sent on resumption) until PUBREC", (t) => unacknowledgedUntilAck(t, 2)),
  v5("MQTT-4.3.3-4", "QoS 2 sender: PUBREL with the PUBLISH's Packet Identifier after PUBREC", serverPubrel),
  v5("MQTT-4.3.3-5", "QoS 2 sender: PUBREL unacknowledged (re-sent on resumption) until PUBCOMP", pubrelUntilPubcomp),
  v5("MQTT-4.3.3-6", "QoS 2 sender: the PUBLISH is not re-sent after its PUBREL", pubrelUntilPubcomp),
  v311("MQTT-4.3.3-2", "QoS 2 receiver: PUBREC (again for a duplicate, delivered once), PUBCOMP, then the id is new", (t) => qos2Receiver(t, "new")),
  v5("MQTT-4.3.3-8", "QoS 2 receiver: PUBREC with the PUBLISH's Packet Identifier", (t) => qos2Receiver(t, "pubrec")),
  v5("MQTT-4.3.3-10", "QoS 2 receiver: a duplicate before PUBREL gets PUBREC and is not delivered twice", (t) => qos2Receiver(t, "duplicate")),
  v5("MQTT-4.3.3-11", "QoS 2 receiver: PUBCOMP with the PUBREL's Packet Identifier", (t) => qos2Receiver(t, "pubcomp")),
  v5("MQTT-4.3.3-7", "QoS 2 sender: no Message Expiry once the PUBLISH was sent (re-sent on resumption)", sentQos2NotExpired),
  v5("MQTT-4.3.3-13", "QoS 2 receiver: the acknowledgement sequence continues after the message expired", ackSequenceAfterExpiry),
  v5("MQTT-4.4.0-2", "A PUBACK of 0x80 or more counts as acknowledged: not re-sent", refusedAckNotResent),
  v5("MQTT-4.3.3-12", "QoS 2 receiver: after PUBCOMP the same Packet Identifier is a new message", (t) => qos2Receiver(t, "new")),
];
