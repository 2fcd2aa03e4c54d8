/**
 * MQTT 5: a Reason String or User Property must be left out when it would make a packet larger than the
 * client's Maximum Packet Size (§3.2.2.3.7, §3.4.2.2.2 and the like). Each check sets a small Maximum
 * Packet Size, provokes packets that could carry a Reason String (refusals, "no subscribers", unknown
 * identifiers) and measures them.
 */
import type { Check, CheckContext } from "../check";
import { acknowledgement, publish, subscribe, unsubscribe } from "../codec/encode";
import { PacketType } from "../codec/packet-types";
import { Prop } from "../codec/properties";
import type { Connection } from "../connection";
import { connectBytes, v5 } from "./define";
import { expect } from "../verdict";

/** Large enough for each packet measured here without properties, too small for most Reason Strings. */
const MAXIMUM = 16;
/** The PUBREL case must first receive a PUBLISH on one of our topics, which needs more room. */
const MAXIMUM_FOR_PUBREL = 48;
const small = [{ id: Prop.maximumPacketSize, value: MAXIMUM }];
const maximumOf = (name: string) => (name === "PUBREL" ? MAXIMUM_FOR_PUBREL : MAXIMUM);

type Provoke = (t: CheckContext) => Promise<Connection>;

const provoke: Record<string, Provoke> = {
  CONNACK: async (t) => {
    const connection = await t.open();
    connection.write(connectBytes(t, { properties: [...small, { id: Prop.authenticationMethod, value: "CONFORMANCE-UNSUPPORTED-METHOD" }] }));
    await connection.waitClosed(t.replyMs);
    return connection;
  },
  PUBACK: async (t) => {
    const { connection } = await t.connect({ properties: small });
    await t.publish(connection, { topic: t.topic("nobody"), qos: 1, payload: "x" });
    return connection;
  },
  PUBREC: async (t) => {
    const { connection } = await t.connect({ properties: small });
    await t.publish(connection, { topic: t.topic("nobody"), qos: 2, payload: "x" });
    return connection;
  },
  PUBREL: async (t) => {
    const topic = t.topic();
    const { connection } = await t.connect({ properties: [{ id: Prop.maximumPacketSize, value: MAXIMUM_FOR_PUBREL }] });
    connection.autoAcknowledge = false;
    await t.subscribed(connection, [{ filter: topic, qos: 2 }]);
    const { connection: publisher } = await t.connect();
    await t.publish(publisher, { topic, qos: 2, payload: "x" });
    const message = await t.message(connection, topic);
    connection.write(acknowledgement(5, PacketType.PUBREC, message.packetId!));
    await connection.take("PUBREL", t.replyMs);
    return connection;
  },
  PUBCOMP: async (t) => {
    const { connection } = await t.connect({ properties: small });
    connection.write(acknowledgement(5, PacketType.PUBREL, 0x4321));
    await connection.take("PUBCOMP", t.replyMs);
    return connection;
  },
  SUBACK: async (t) => {
    const { connection } = await t.connect({ properties: small });
    connection.write(subscribe(5, t.id(), [{ filter: t.topic(), qos: 1 }, { filter: `$share/g${t.id()}/${t.topic()}`, qos: 1 }]));
    await connection.poll("SUBACK", t.replyMs);
    return connection;
  },
  UNSUBACK: async (t) => {
    const { connection } = await t.connect({ properties: small });
    connection.write(unsubscribe(5, t.id(), [t.topic("never")]));
    await connection.take("UNSUBACK", t.replyMs);
    return connection;
  },
  DISCONNECT: async (t) => {
    const { connection } = await t.connect({ properties: small });
    connection.write(publish(5, { topic: t.topic(), payload: "x", properties: [{ id: Prop.topicAlias, value: 0 }] }));
    await connection.waitClosed(t.replyMs);
    return connection;
  },
};

/** The `name` packets provoked under a small Maximum Packet Size: none larger (a Reason String or User Property that would not fit left out). */
async function withinMaximum(t: CheckContext, name: string): Promise<string> {
  const connection = await provoke[name]!(t);
  const maximum = maximumOf(name);
  const packets = connection.received.filter((packet) => packet.name === name);
  const over = packets.filter((packet) => packet.bytes.length > maximum);
  expect(over.length === 0, `${name} of ${over.map((packet) => packet.bytes.length).join(", ")} bytes to a client with Maximum Packet Size ${maximum}`);
  return packets.length ? `${packets.length} ${name}, largest ${Math.max(...packets.map((packet) => packet.bytes.length))} bytes` : `no ${name} sent`;
}

const pairOf = (name: string, reasonStringId: string, userPropertyId: string): Check[] => [
  v5(reasonStringId, `No Reason String that would make a ${name} exceed the client's Maximum Packet Size`, (t) => withinMaximum(t, name)),
  v5(userPropertyId, `No User Property that would make a ${name} exceed the client's Maximum Packet Size`, (t) => withinMaximum(t, name)),
];


export const packetSizeChecks: Check[] = [
  ...pairOf("CONNACK", "MQTT-3.2.2-19", "MQTT-3.2.2-20"),
  ...pairOf("PUBACK", "MQTT-3.4.2-2", "MQTT-3.4.2-3"),
  ...pairOf("PUBREC", "MQTT-3.5.2-2", "MQTT-3.5.2-3"),
  ...pairOf("PUBREL", "MQTT-3.6.2-2", "MQTT-3.6.2-3"),
  ...pairOf("PUBCOMP", "MQTT-3.7.2-2", "MQTT-3.7.2-3"),
  ...pairOf("SUBACK", "MQTT-3.9.2-1", "MQTT-3.9.2-2"),
  ...pairOf("UNSUBACK", "MQTT-3.11.2-1", "MQTT-3.11.2-2"),
  ...pairOf("DISCONNECT", "MQTT-3.14.2-3", "MQTT-3.14.2-4"),
];
