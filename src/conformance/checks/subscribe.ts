/** §3.8-3.11 SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK. */
import type { Check, CheckContext } from "../check";
import { acknowledgement, frame, subscribe, u16, unsubscribe } from "../codec/encode";
import type { Packet } from "../codec/decode";
import { PacketType } from "../codec/packet-types";
import { both, closesAfter, hex, pair, sameId, storeRetained, v311, v5 } from "./define";
import { expect } from "../verdict";

const SUBACK_CODES_311 = [0x00, 0x01, 0x02, 0x80];
const SUBACK_CODES_5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const UNSUBACK_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const props = (t: CheckContext) => (t.level === 5 ? [Buffer.of(0)] : []);

const subscribeFlagsClose = (t: CheckContext) => closesAfter(t, subscribe(t.level, 1, [{ filter: t.topic() }], [], 0x80), "a SUBSCRIBE with flags 0000");
const subscribeIllFormed = (t: CheckContext) => closesAfter(t, subscribe(t.level, 1, [{ filter: Buffer.of(0x61, 0xc3, 0x28) }]), "a Topic Filter with ill-formed UTF-8");
const subscribeEmpty = (t: CheckContext) => closesAfter(t, frame(0x82, u16(1), ...props(t)), "a SUBSCRIBE without Topic Filters");
const subscribeReservedBits = (t: CheckContext) => closesAfter(t, subscribe(t.level, 1, [{ filter: t.topic(), options: 0xc1 }]), "reserved bits set in the subscription options");
const subscribeQos3 = (t: CheckContext) => closesAfter(t, subscribe(t.level, 1, [{ filter: t.topic(), qos: 3 }]), "a requested QoS of 3");

async function wildcardsWorkIfGranted(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  const suback = await t.subscribe(connection, [{ filter: t.topic("+/#"), qos: 0 }]);
  if (suback.reasonCodes![0]! >= 0x80) return "wildcards refused (allowed)";
  await t.publish(connection, { topic: t.topic("a/b/c"), payload: "x" });
  await t.message(connection, t.topic("a/b/c"), "a message through the granted wildcard subscription");
  return "granted and working";
}

async function subackSent(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  connection.write(subscribe(t.level, 4321, [{ filter: t.topic(), qos: 1 }]));
  const suback = await connection.take("SUBACK", t.replyMs);
  expect(suback.packetId === 4321, `SUBACK with id ${suback.packetId}, want 4321`);
  return `codes ${suback.reasonCodes!.map(hex).join(", ")}`;
}

/** Subscribing again to the same filter replaces the subscription: one delivery, at the new QoS; retained re-sent. */
async function replaceSubscription(t: CheckContext, part: "replace" | "retained"): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "retained");
  const { connection } = await t.connect();
  const isMessage = (payload: string) => (packet: Packet) => packet.name === "PUBLISH" && packet.topic === topic && packet.payload!.toString() === payload;
  await t.subscribed(connection, [{ filter: topic, qos: 0 }]);
  await connection.take(isMessage("retained"), t.replyMs, "the retained message on subscribing");
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  await connection.take(isMessage("retained"), t.replyMs, "the retained message re-sent on subscribing again");
  if (part === "retained") return "re-sent";
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "live" });
  const delivered = await connection.take(isMessage("live"), t.replyMs);
  expect(delivered.qos === 1, `delivered at QoS ${delivered.qos}: the subscription was not replaced by the QoS 1 one`);
  await t.nothing(connection, isMessage("live"), "delivered twice: both subscriptions kept");
  return "one delivery at the new QoS";
}

async function multipleFilters(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  const requested = [2, 0, 1];
  const suback = await t.subscribed(connection, requested.map((qos, index) => ({ filter: t.topic(`m${index}`), qos })));
  const codes = suback.reasonCodes!;
  expect(codes.length === 3, `${codes.length} codes for 3 Topic Filters`);
  const allowed = t.level === 5 ? SUBACK_CODES_5 : SUBACK_CODES_311;
  expect(codes.every((code) => allowed.includes(code)), `codes ${codes.map(hex).join(", ")}`);
  expect(codes.every((code, index) => code <= requested[index]!), `codes ${codes.map(hex).join(", ")} for requested QoS 2, 0, 1 (order or grant wrong)`);
  for (let index = 0; index < 3; index++) {
    await t.publish(connection, { topic: t.topic(`m${index}`), qos: 0, payload: String(index) });
    await t.message(connection, t.topic(`m${index}`), `a message on the ${index + 1}. filter of the SUBSCRIBE`);
  }
  return `codes ${codes.map(hex).join(", ")}`;
}

async function subackOrder(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  const suback = await t.subscribed(connection, [2, 0, 1].map((qos, index) => ({ filter: t.topic(`o${index}`), qos })));
  expect(suback.reasonCodes!.join() === "2,0,1", `codes ${suback.reasonCodes!.map(hex).join(", ")} for requested QoS 2, 0, 1`);
  return "2, 0, 1";
}

async function subackCodesValid(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  const suback = await t.subscribe(connection, [{ filter: t.topic(), qos: 2 }, { filter: t.topic("a/#"), qos: 1 }, { filter: t.topic("+"), qos: 0 }]);
  const allowed = t.level === 5 ? SUBACK_CODES_5 : SUBACK_CODES_311;
  const invalid = suback.reasonCodes!.filter((code) => !allowed.includes(code));
  expect(invalid.length === 0, `SUBACK codes ${invalid.map(hex).join(", ")} are not the spec's`);
  return `codes ${suback.reasonCodes!.map(hex).join(", ")}`;
}

async function minimumQos(t: CheckContext): Promise<string> {
  const results = [];
  for (const [granted, published] of [[1, 2], [2, 0], [0, 1]] as const) {
    const topic = t.topic(`q${granted}${published}`);
    const { subscriber, publisher } = await pair(t, topic, granted);
    await t.publish(publisher, { topic, qos: published, payload: "x" });
    const message = await t.message(subscriber, topic);
    expect(message.qos === Math.min(granted, published), `published at QoS ${published} to a QoS ${granted} subscription, delivered at QoS ${message.qos}`);
    results.push(`${published}→${message.qos}`);
  }
  return results.join(", ");
}

async function noLocal(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: topic, qos: 1, noLocal: true }]);
  await t.publish(connection, { topic, qos: 1, payload: "own" });
  const { connection: other } = await t.connect();
  await t.publish(other, { topic, qos: 1, payload: "other" });
  const first = await t.message(connection, topic);
  expect(first.payload!.toString() === "other", "its own message was forwarded despite No Local");
  return "own message not forwarded";
}

async function noLocalOnShared(t: CheckContext): Promise<string> {
  const { connection, connack } = await t.connect();
  if (connack.properties.some((property) => property.id === 0x2a && property.value === 0)) return "shared subscriptions not available";
  connection.write(subscribe(5, t.id(), [{ filter: `$share/g/${t.topic()}`, qos: 0, noLocal: true }]));
  return t.closedBy(connection, "No Local on a Shared Subscription");
}

const unsubscribeFlagsClose = (t: CheckContext) => closesAfter(t, unsubscribe(t.level, 1, [t.topic()], [], 0xa0), "an UNSUBSCRIBE with flags 0000");
const unsubscribeIllFormed = (t: CheckContext) => closesAfter(t, unsubscribe(t.level, 1, [Buffer.of(0x61, 0xc3, 0x28)]), "an UNSUBSCRIBE Topic Filter with ill-formed UTF-8");
const unsubscribeEmpty = (t: CheckContext) => closesAfter(t, frame(0xa2, u16(1), ...props(t)), "an UNSUBSCRIBE without Topic Filters");

async function unsubscribeExactMatch(t: CheckContext): Promise<string> {
  const topic = t.topic("u/a");
  const { subscriber, publisher } = await pair(t, t.topic("u/+"), 0);
  await t.unsubscribe(subscriber, [topic]);
  await t.publish(publisher, { topic, payload: "still subscribed" });
  await t.message(subscriber, topic, "a message: unsubscribing from u/a must not remove the subscription u/+");
  await t.unsubscribe(subscriber, [t.topic("u/+")]);
  await t.publish(publisher, { topic, qos: 1, payload: "gone" });
  await t.nothing(subscriber, "PUBLISH", "delivered after unsubscribing the exact filter");
  return "only the identical filter removed";
}

async function stopsAfterUnsubscribe(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 1);
  await t.unsubscribe(subscriber, [topic]);
  for (let index = 0; index < 3; index++) await t.publish(publisher, { topic, qos: 1, payload: String(index) });
  await t.nothing(subscriber, "PUBLISH", "messages still added after UNSUBACK");
  return "no new messages";
}

async function completesStartedDelivery(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 2);
  subscriber.autoAcknowledge = false;
  await t.publish(publisher, { topic, qos: 2, payload: "x" });
  const message = await t.message(subscriber, topic);
  await t.unsubscribe(subscriber, [topic]);
  subscriber.write(acknowledgement(t.level, PacketType.PUBREC, message.packetId!));
  const pubrel = await subscriber.take("PUBREL", t.replyMs, "PUBREL: the QoS 2 delivery started before UNSUBSCRIBE must complete");
  subscriber.write(acknowledgement(t.level, PacketType.PUBCOMP, pubrel.packetId!));
  return "PUBREL sent after unsubscribing";
}

async function unsubackSent(t: CheckContext, subscribedBefore: boolean): Promise<string> {
  const { connection } = await t.connect();
  if (subscribedBefore) await t.subscribed(connection, t.topic());
  connection.write(unsubscribe(t.level, 0x1357, [t.topic()]));
  const unsuback = await connection.take("UNSUBACK", t.replyMs);
  expect(unsuback.packetId === 0x1357, `UNSUBACK id ${unsuback.packetId}, want 0x1357`);
  return subscribedBefore ? "UNSUBACK" : "UNSUBACK though nothing was subscribed";
}

async function unsubscribeMultiple(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: t.topic("a") }, { filter: t.topic("b") }]);
  const unsuback = await t.unsubscribe(connection, [t.topic("a"), t.topic("b")]);
  if (t.level === 5) expect(unsuback.reasonCodes!.length === 2, `${unsuback.reasonCodes!.length} codes for 2 filters`);
  await t.nothing(connection, "UNSUBACK", "more than one UNSUBACK", 200);
  await t.publish(connection, { topic: t.topic("a"), payload: "x" });
  await t.publish(connection, { topic: t.topic("b"), payload: "x" });
  await t.nothing(connection, "PUBLISH", "a filter of the UNSUBSCRIBE still subscribed");
  return "one UNSUBACK, both removed";
}

async function unsubackCodes(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  await t.subscribed(connection, t.topic("here"));
  const unsuback = await t.unsubscribe(connection, [t.topic("here"), t.topic("never")]);
  const codes = unsuback.reasonCodes!;
  expect(codes.every((code) => UNSUBACK_CODES.includes(code)), `UNSUBACK codes ${codes.map(hex).join(", ")}`);
  expect(codes[0] === 0x00 && (codes[1] === 0x11 || codes[1] === 0x00), `codes ${codes.map(hex).join(", ")} for [subscribed, never subscribed], want 0x00 then 0x11`);
  return `codes ${codes.map(hex).join(", ")}`;
}


export const subscribeChecks: Check[] = [
  ...both(sameId("MQTT-3.8.1-1"), "A SUBSCRIBE with flags other than 0010 closes the connection", subscribeFlagsClose),
  ...both(sameId("MQTT-3.8.3-1"), "A Topic Filter with ill-formed UTF-8 closes the connection", subscribeIllFormed),
  v311("MQTT-3.8.3-2", "Wildcard filters are either refused or work", wildcardsWorkIfGranted),
  ...both({ v311: "MQTT-3.8.3-3", v5: "MQTT-3.8.3-2" }, "A SUBSCRIBE without Topic Filters closes the connection", subscribeEmpty),
  v311("MQTT-3.8.3-4", "Reserved option bits or QoS 3 in a SUBSCRIBE close the connection", async (t) => `${await subscribeReservedBits(t)}; ${await subscribeQos3(t)}`),
  v5("MQTT-3.8.3-5", "Reserved bits in the subscription options close the connection", subscribeReservedBits),
  v5("MQTT-3.8.3-3", "No Local: one's own messages are not forwarded back", noLocal),
  v5("MQTT-3.8.3-4", "No Local on a Shared Subscription is a protocol error", noLocalOnShared),
  ...both(sameId("MQTT-3.8.4-1"), "A SUBSCRIBE is answered with a SUBACK", subackSent),
  ...both(sameId("MQTT-3.8.4-2"), "The SUBACK carries the SUBSCRIBE's Packet Identifier", subackSent),
  ...both(sameId("MQTT-3.8.4-3"), "Subscribing again to a filter replaces the subscription", (t) => replaceSubscription(t, "replace")),
  v5("MQTT-3.8.4-4", "Replacing a subscription (Retain Handling 0) re-sends the retained messages", (t) => replaceSubscription(t, "retained")),
  ...both({ v311: "MQTT-3.8.4-4", v5: "MQTT-3.8.4-5" }, "A SUBSCRIBE with several filters acts as several SUBSCRIBEs, one SUBACK", multipleFilters),
  ...both({ v311: "MQTT-3.8.4-5", v5: "MQTT-3.8.4-6" }, "The SUBACK has a code for each filter: granted QoS or failure", multipleFilters),
  v5("MQTT-3.8.4-7", "Each SUBACK code is the granted maximum QoS or a failure", subackCodesValid),
  ...both({ v311: "MQTT-3.8.4-6", v5: "MQTT-3.8.4-8" }, "Delivered at the minimum of the published QoS and the granted QoS", minimumQos),
  ...both(sameId("MQTT-3.9.3-1"), "SUBACK codes are in the order of the filters", subackOrder),
  ...both(sameId("MQTT-3.9.3-2"), "SUBACK codes are the spec's", subackCodesValid),
  ...both(sameId("MQTT-3.10.1-1"), "An UNSUBSCRIBE with flags other than 0010 closes the connection", unsubscribeFlagsClose),
  ...both(sameId("MQTT-3.10.3-1"), "An UNSUBSCRIBE filter with ill-formed UTF-8 closes the connection", unsubscribeIllFormed),
  ...both(sameId("MQTT-3.10.3-2"), "An UNSUBSCRIBE without Topic Filters closes the connection", unsubscribeEmpty),
  ...both(sameId("MQTT-3.10.4-1"), "UNSUBSCRIBE removes only a subscription whose filter is identical", unsubscribeExactMatch),
  ...both(sameId("MQTT-3.10.4-2"), "After UNSUBSCRIBE no new messages are added for the filter", stopsAfterUnsubscribe),
  ...both(sameId("MQTT-3.10.4-3"), "A QoS 2 delivery started before UNSUBSCRIBE is completed", completesStartedDelivery),
  ...both(sameId("MQTT-3.10.4-4"), "An UNSUBSCRIBE is answered with an UNSUBACK with its Packet Identifier", (t) => unsubackSent(t, true)),
  ...both(sameId("MQTT-3.10.4-5"), "UNSUBACK even when nothing was subscribed", (t) => unsubackSent(t, false)),
  ...both(sameId("MQTT-3.10.4-6"), "An UNSUBSCRIBE with several filters: one UNSUBACK, all removed", unsubscribeMultiple),
  v5("MQTT-3.11.3-1", "UNSUBACK codes are in the order of the filters", unsubackCodes),
  v5("MQTT-3.11.3-2", "UNSUBACK codes are the spec's", unsubackCodes),
];
