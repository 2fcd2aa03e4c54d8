/** §4.6 ordering, §4.7 Topic Names and Filters, §4.8 shared subscriptions, §4.9 flow control. */
import type { Check, CheckContext } from "../check";
import { acknowledgement, publish, subscribe, type Text } from "../codec/encode";
import type { Packet } from "../codec/decode";
import { PacketType } from "../codec/packet-types";
import { Prop } from "../codec/properties";
import type { Connection } from "../connection";
import { both, closesAfter, hex, pair, sameId, v5 } from "./define";
import { expect } from "../verdict";

/** A filter the server must refuse: a SUBACK failure code, or a closed connection. */
async function refusesFilter(t: CheckContext, filter: Text, why: string): Promise<string> {
  const { connection } = await t.connect();
  const packetId = t.id();
  connection.write(subscribe(t.level, packetId, [{ filter, qos: 0 }]));
  const suback = await connection.poll("SUBACK", t.replyMs);
  if (suback) {
    expect(suback.reasonCodes![0]! >= 0x80, `${why} was granted (SUBACK ${hex(suback.reasonCodes![0])})`);
    return `SUBACK ${hex(suback.reasonCodes![0])}`;
  }
  expect(connection.closed, `no SUBACK and still open after ${why}`);
  return "closed";
}

async function multiLevelWildcardLast(t: CheckContext): Promise<string> {
  return [await refusesFilter(t, t.topic("#/x"), "a # that is not last"), await refusesFilter(t, t.topic("x#"), "a # inside a level")].join("; ");
}

async function singleLevelWholeLevel(t: CheckContext): Promise<string> {
  return [await refusesFilter(t, t.topic("x+"), "a + inside a level"), await refusesFilter(t, `${t.topic()}/+x/y`, "a + inside a level")].join("; ");
}

/** '#' and '+/...' must not match $-topics: neither live messages nor retained ones (the broker's $SYS, our own). */
async function dollarTopicsUnmatched(t: CheckContext): Promise<string> {
  const own = `$${t.topic().replace(/\//g, "-")}/x`;
  const { connection: publisher } = await t.connect();
  publisher.write(publish(t.level, { topic: own, qos: 0, retain: true, payload: "retained dollar" }));
  const filters = ["#", "+/x", "+/+", "+/broker/version", "+/broker/#"];
  const subscribers: Array<[string, Connection]> = [];
  for (const filter of filters) {
    const { connection } = await t.connect();
    await t.subscribed(connection, [{ filter, qos: 0 }]);
    subscribers.push([filter, connection]);
  }
  const { connection: literal } = await t.connect();
  await t.subscribed(literal, [{ filter: own, qos: 0 }]);
  if (!publisher.closed) publisher.write(publish(t.level, { topic: own, qos: 0, payload: "live dollar" }));
  const control = await literal.poll((packet) => packet.name === "PUBLISH" && packet.topic === own, t.quietMs * 2);
  await Bun.sleep(t.quietMs);
  const leaks = subscribers.flatMap(([filter, connection]) =>
    connection.received.filter((packet) => packet.name === "PUBLISH" && packet.topic!.startsWith("$")).map((packet) => `${filter} got ${packet.topic}${packet.retain ? " (retained)" : ""}`),
  );
  if (!publisher.closed) publisher.write(publish(t.level, { topic: own, qos: 0, retain: true, payload: "" }));
  expect(leaks.length === 0, [...new Set(leaks)].slice(0, 4).join("; "));
  return control ? "no $ topic matched; the literal filter got ours" : "no $ topic matched (the server refused our $ topic)";
}

const emptyTopicCloses = (t: CheckContext) => closesAfter(t, publish(t.level, { topic: "", payload: "x" }), "a PUBLISH with an empty Topic Name");

async function emptyNames(t: CheckContext): Promise<string> {
  return `${await emptyTopicCloses(t)}; ${await refusesFilter(t, "", "an empty Topic Filter")}`;
}

async function nullInFilter(t: CheckContext): Promise<string> {
  const filter = Buffer.concat([Buffer.from(t.topic()), Buffer.of(0)]);
  const { connection } = await t.connect();
  connection.write(subscribe(t.level, t.id(), [{ filter, qos: 0 }]));
  return t.closedBy(connection, "a Topic Filter holding U+0000");
}

/** Composed and decomposed Å, and letter case, are different topics: no normalization. */
async function noNormalization(t: CheckContext): Promise<string> {
  const composed = t.topic("\u00c5");
  const decomposed = t.topic("A\u030a");
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: composed, qos: 0 }, { filter: t.topic("CASE"), qos: 0 }]);
  await t.publish(connection, { topic: decomposed, payload: "decomposed" });
  await t.publish(connection, { topic: t.topic("case"), payload: "lower case" });
  await t.publish(connection, { topic: composed, payload: "composed" });
  const first = await connection.take("PUBLISH", t.replyMs);
  expect(first.payload!.toString() === "composed", `the filter for U+00C5 (or CASE) received "${first.payload}" from ${first.topic}`);
  return "matched byte for byte";
}

/** 20 QoS 1 and 20 QoS 0 messages arrive in the order published. */
async function ordered(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: topic, qos: 1 }]);
  const { connection: publisher, connack } = await t.connect();
  // Never more unacknowledged QoS 1 PUBLISH packets than the server's Receive Maximum allows.
  const receiveMaximum = Number(connack.properties.find((property) => property.id === Prop.receiveMaximum)?.value ?? 65_535);
  const counts = { 1: Math.min(20, receiveMaximum), 0: 20 };
  for (const qos of [1, 0] as const) {
    const count = counts[qos];
    for (let index = 0; index < count; index++) publisher.write(publish(t.level, { topic, qos, packetId: qos ? 100 + index : undefined, payload: `${qos}:${index}` }));
    const got: string[] = [];
    for (let index = 0; index < count; index++) got.push((await t.message(subscriber, topic)).payload!.toString());
    const want = Array.from({ length: count }, (_, index) => `${qos}:${index}`);
    expect(got.join() === want.join(), `QoS ${qos} out of order: ${got.join(" ")}`);
  }
  return `${counts[1]} QoS 1 and ${counts[0]} QoS 0 in order`;
}

async function badShareNames(t: CheckContext): Promise<string> {
  const { connack } = await t.connect();
  const available = connack.properties.find((property) => property.id === Prop.sharedSubscriptionAvailable)?.value;
  const results = [];
  for (const filter of ["$share//x", "$share/a+b/x", "$share/a#/x", "$share/name"]) results.push(`${filter}: ${await refusesFilter(t, filter, `the shared filter ${filter}`)}`);
  return `${available === 0 ? "(shared subscriptions not available) " : ""}${results.join("; ")}`;
}

async function sharedGrantedQos(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection, connack } = await t.connect();
  if (connack.properties.some((property) => property.id === Prop.sharedSubscriptionAvailable && property.value === 0)) return "shared subscriptions not available";
  const suback = await t.subscribed(connection, [{ filter: `$share/g${t.id()}/${topic}`, qos: 0 }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "x" });
  const message = await t.message(connection, topic, "the message through the shared subscription");
  expect(message.qos === 0, `delivered at QoS ${message.qos} through a shared subscription granted QoS ${suback.reasonCodes![0]}`);
  return "QoS 0";
}

/** Two members of a share group; the one that gets the message refuses it (PUBACK 0x80): the other must not get it. */
async function sharedRefusalDiscards(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const filter = `$share/g${t.id()}/${topic}`;
  const members = [];
  for (let index = 0; index < 2; index++) {
    const { connection, connack } = await t.connect();
    if (connack.properties.some((property) => property.id === Prop.sharedSubscriptionAvailable && property.value === 0)) return "shared subscriptions not available";
    connection.autoAcknowledge = false;
    await t.subscribed(connection, [{ filter, qos: 1 }]);
    members.push(connection);
  }
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "refused" });
  const isMessage = (packet: Packet) => packet.name === "PUBLISH" && packet.topic === topic;
  const [first, second] = await Promise.all(members.map((member) => member.poll(isMessage, t.replyMs)));
  const chosen = first ? 0 : 1;
  const message = first ?? second;
  expect(message, "no member of the share group got the message");
  expect(!(first && second), "both members of the share group got the message");
  members[chosen]!.write(acknowledgement(5, PacketType.PUBACK, message.packetId!, 0x80));
  await t.nothing(members[1 - chosen]!, isMessage, "the refused message was sent to the other member");
  return "discarded";
}

/** Receive Maximum 2: the server sends 2 QoS 1 messages, then waits for a PUBACK; PINGREQ is still answered. */
async function receiveMaximum(t: CheckContext, part: "limit" | "others"): Promise<string> {
  const topic = t.topic();
  const { connection: subscriber } = await t.connect({ properties: [{ id: Prop.receiveMaximum, value: 2 }] });
  subscriber.autoAcknowledge = false;
  await t.subscribed(subscriber, [{ filter: topic, qos: 1 }]);
  const { connection: publisher } = await t.connect();
  for (let index = 0; index < 4; index++) await t.publish(publisher, { topic, qos: 1, payload: String(index) });
  const isMessage = (packet: Packet) => packet.name === "PUBLISH" && packet.topic === topic;
  const first = await subscriber.take(isMessage, t.replyMs);
  const second = await subscriber.take(isMessage, t.replyMs);
  if (part === "others") {
    await t.pinged(subscriber, "PINGRESP while the send quota is 0");
    await t.subscribed(subscriber, [{ filter: t.topic("other"), qos: 0 }]);
    return "PINGRESP and SUBACK while the quota is 0";
  }
  await t.nothing(subscriber, isMessage, "a third QoS 1 PUBLISH before any PUBACK with Receive Maximum 2");
  subscriber.write(acknowledgement(5, PacketType.PUBACK, first.packetId!));
  await subscriber.take(isMessage, t.replyMs, "the third message after one PUBACK");
  await t.nothing(subscriber, isMessage, "a fourth in flight with Receive Maximum 2");
  subscriber.write(acknowledgement(5, PacketType.PUBACK, second.packetId!));
  await subscriber.take(isMessage, t.replyMs, "the fourth message after another PUBACK");
  return "at most 2 in flight";
}


export const topicChecks: Check[] = [
  ...both(sameId("MQTT-4.6.0-5"), "Messages on a topic are delivered in the order published (QoS 1 and QoS 0)", ordered),
  ...both(sameId("MQTT-4.6.0-6"), "Every topic is an ordered topic by default", ordered),
  ...both({ v311: "MQTT-4.7.1-2", v5: "MQTT-4.7.1-1" }, "A filter with # not alone at the end is refused", multiLevelWildcardLast),
  ...both({ v311: "MQTT-4.7.1-3", v5: "MQTT-4.7.1-2" }, "A filter with + not a whole level is refused", singleLevelWholeLevel),
  ...both(sameId("MQTT-4.7.2-1"), "Filters starting with # or + do not match $ topics (retained $SYS included)", dollarTopicsUnmatched),
  ...both(sameId("MQTT-4.7.3-1"), "An empty Topic Name or Topic Filter is refused", emptyNames),
  ...both(sameId("MQTT-4.7.3-2"), "A Topic Filter holding U+0000 closes the connection", nullInFilter),
  ...both(sameId("MQTT-4.7.3-4"), "Matching does no normalization (Unicode forms, letter case)", noNormalization),
  v5("MQTT-4.8.2-1", "A shared filter needs $share/ and a ShareName of one character or more", badShareNames),
  v5("MQTT-4.8.2-2", "A ShareName holds no /, + or # and is followed by / and a filter", badShareNames),
  v5("MQTT-4.8.2-3", "A shared subscription's granted QoS is respected", sharedGrantedQos),
  v5("MQTT-4.8.2-6", "A shared-subscription message refused with PUBACK 0x80 is not sent to another member", sharedRefusalDiscards),
  v5("MQTT-3.3.4-9", "No more unacknowledged QoS 1 PUBLISH packets than the client's Receive Maximum", (t) => receiveMaximum(t, "limit")),
  v5("MQTT-4.9.0-1", "The initial send quota is non-zero and at most Receive Maximum", (t) => receiveMaximum(t, "limit")),
  v5("MQTT-4.9.0-2", "With the send quota at 0 no QoS 1 PUBLISH is sent", (t) => receiveMaximum(t, "limit")),
  v5("MQTT-3.3.4-10", "Packets other than PUBLISH are not delayed by a full Receive Maximum", (t) => receiveMaximum(t, "others")),
  v5("MQTT-4.9.0-3", "With the send quota at 0 the server still answers other packets", (t) => receiveMaximum(t, "others")),
];
