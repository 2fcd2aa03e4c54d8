/** §3.3 PUBLISH: flags (DUP, QoS, RETAIN), retained messages, topic names, the response, overlapping subscriptions. */
import type { Check, CheckContext } from "../check";
import { frame, publish } from "../codec/encode";
import type { Packet } from "../codec/decode";
import { Prop } from "../codec/properties";
import { both, closesAfter, pair, retainedFor, sameId, storeRetained, v311, v5 } from "./define";
import { expect, fail } from "../verdict";

async function qos0HasDupZero(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 0);
  await t.publish(publisher, { topic, qos: 1, dup: true, payload: "x" });
  const message = await t.message(subscriber, topic);
  expect(message.qos === 0 && !message.dup, `QoS ${message.qos} DUP ${message.dup ? 1 : 0}`);
  return "QoS 0, DUP 0";
}

async function dupNotPropagated(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { subscriber, publisher } = await pair(t, topic, 1);
  await t.publish(publisher, { topic, qos: 1, dup: true, payload: "first sending with DUP 1" });
  const message = await t.message(subscriber, topic);
  expect(!message.dup, "the incoming DUP 1 was copied to the first delivery");
  return "DUP 0 on first delivery";
}

const qos3Closes = (t: CheckContext) => closesAfter(t, frame(0x36, Buffer.of(0, 1, 0x61, 0, 1)), "a PUBLISH with both QoS bits set");

async function retainedStored(t: CheckContext): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "first");
  await storeRetained(t, topic, "second");
  const retained = await retainedFor(t, topic, t.replyMs);
  expect(retained?.payload?.toString() === "second", `a new subscriber got ${JSON.stringify(retained?.payload?.toString())}, want the replacing "second"`);
  return "replaced and stored";
}

async function retainedOnEachMatchingTopic(t: CheckContext): Promise<string> {
  await storeRetained(t, t.topic("r/a"), "a");
  await storeRetained(t, t.topic("r/b"), "b");
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: t.topic("r/+"), qos: 1 }]);
  await t.message(connection, t.topic("r/a"), "the retained message on r/a");
  await t.message(connection, t.topic("r/b"), "the retained message on r/b");
  return "both sent";
}

async function qos0RetainedReplaces(t: CheckContext): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "old");
  const { connection } = await t.connect();
  await t.publish(connection, { topic, qos: 0, retain: true, payload: "new" });
  await t.publish(connection, { topic: t.topic("sync"), qos: 1, payload: "sync" });
  const retained = await retainedFor(t, topic);
  expect(retained?.payload?.toString() !== "old", "the retained message still there after a QoS 0 retained PUBLISH");
  return retained ? `now "${retained.payload}"` : "discarded";
}

async function retainFlagOnNewSubscription(t: CheckContext): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "kept");
  const retained = await retainedFor(t, topic, t.replyMs);
  expect(retained?.retain, "a retained message sent for a new subscription has RETAIN 0");
  return "RETAIN 1";
}

async function retainFlagClearedOnLiveDelivery(t: CheckContext, retainAsPublished = false): Promise<string> {
  const topic = t.topic();
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: topic, qos: 1, retainAsPublished }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, retain: true, payload: "live" });
  const message = await t.message(subscriber, topic);
  await t.publish(publisher, { topic, qos: 1, retain: true, payload: "" });
  expect(message.retain === retainAsPublished, `RETAIN ${message.retain ? 1 : 0} on a live delivery${retainAsPublished ? " with Retain As Published 1" : ""}`);
  return `RETAIN ${message.retain ? 1 : 0}`;
}

async function emptyRetainedRemoves(t: CheckContext): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "to remove");
  const { subscriber, publisher } = await pair(t, topic, 1);
  await t.message(subscriber, topic, "the retained message");
  await t.publish(publisher, { topic, qos: 1, retain: true, payload: "" });
  const live = await t.message(subscriber, topic, "the zero-byte PUBLISH delivered as normal");
  expect(live.payload!.length === 0, "the zero-byte message arrived with a payload");
  expect(!(await retainedFor(t, topic)), "the retained message was not removed by a zero-byte retained PUBLISH");
  return "removed, and delivered to the subscriber";
}

async function emptyRetainedNotStored(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection } = await t.connect();
  await t.publish(connection, { topic, qos: 1, retain: true, payload: "" });
  expect(!(await retainedFor(t, topic)), "a zero-byte retained message was stored");
  return "not stored";
}

async function nonRetainedLeavesRetained(t: CheckContext): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "retained");
  const { connection } = await t.connect();
  await t.publish(connection, { topic, qos: 1, retain: false, payload: "not retained" });
  const retained = await retainedFor(t, topic, t.replyMs);
  expect(retained?.payload?.toString() === "retained", `a new subscriber got ${JSON.stringify(retained?.payload?.toString())}, want the untouched "retained"`);
  return "retained message unchanged";
}

async function retainHandling(t: CheckContext, option: 1 | 2): Promise<string> {
  const topic = t.topic();
  await storeRetained(t, topic, "retained");
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: topic, qos: 1, retainHandling: option }]);
  const isRetained = (packet: Packet) => packet.name === "PUBLISH" && packet.topic === topic;
  if (option === 2) {
    await t.nothing(connection, isRetained, "Retain Handling 2 sent the retained message");
    return "not sent";
  }
  await connection.take(isRetained, t.replyMs, "the retained message for a new subscription with Retain Handling 1");
  await t.subscribed(connection, [{ filter: topic, qos: 1, retainHandling: 1 }]);
  await t.nothing(connection, isRetained, "Retain Handling 1 re-sent the retained message for an existing subscription");
  return "sent for the new subscription only";
}

const noTopicCloses = (t: CheckContext) => closesAfter(t, frame(0x30, Buffer.of(0x00)), "a PUBLISH without a Topic Name");
const wildcardTopicCloses = (wildcard: string) => (t: CheckContext) =>
  closesAfter(t, publish(t.level, { topic: `${t.topic()}/${wildcard}`, payload: "x" }), `a Topic Name containing ${wildcard}`);

async function deliveredTopicMatchesFilter(t: CheckContext): Promise<string> {
  const { subscriber, publisher } = await pair(t, t.topic("+/c"), 0);
  const topic = t.topic("b/c");
  await t.publish(publisher, { topic, payload: "x" });
  const message = await subscriber.take("PUBLISH", t.replyMs);
  expect(message.topic === topic, `delivered with Topic Name ${message.topic}, published to ${topic}`);
  return "the published Topic Name";
}

async function responsePerQos(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  await t.publish(connection, { topic: t.topic(), qos: 0, payload: "0" });
  await t.nothing(connection, (packet) => ["PUBACK", "PUBREC"].includes(packet.name), "a QoS 0 PUBLISH was acknowledged", 300);
  const puback = await t.publish(connection, { topic: t.topic(), qos: 1, payload: "1" });
  const pubcomp = await t.publish(connection, { topic: t.topic(), qos: 2, payload: "2" });
  expect(puback?.name === "PUBACK" && pubcomp?.name === "PUBCOMP", "wrong acknowledgements");
  return "none, PUBACK, PUBREC";
}

async function overlappingMaximumQos(t: CheckContext): Promise<string> {
  const topic = t.topic("o/p");
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: t.topic("o/#"), qos: 0 }, { filter: t.topic("o/+"), qos: 2 }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 2, payload: "x" });
  const first = await t.message(subscriber, topic);
  const second = await subscriber.poll((packet) => packet.name === "PUBLISH" && packet.topic === topic, t.quietMs);
  const qos = Math.max(first.qos!, second?.qos ?? 0);
  expect(qos === 2, `delivered at QoS ${[first, second].filter(Boolean).map((packet) => packet!.qos).join(" and ")}, the highest matching subscription has QoS 2`);
  return `${second ? "two copies" : "one copy"}, QoS 2`;
}

async function deniedPublish(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  const packetId = t.id();
  connection.write(publish(t.level, { topic: t.settings.expectations.deniedTopic!, qos: 1, packetId, payload: "x" }));
  const puback = await connection.poll("PUBACK", t.replyMs);
  if (puback) return `PUBACK ${puback.reasonCode}`;
  if (!connection.closed) fail("neither a PUBACK nor a closed connection");
  return "closed";
}

/** Two overlapping subscriptions with Subscription Identifiers 5 and 7. */
async function subscriptionIdentifiers(t: CheckContext, statement: "3" | "4" | "5"): Promise<string> {
  const topic = t.topic("s/t");
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: t.topic("s/+"), qos: 1 }], [{ id: Prop.subscriptionIdentifier, value: 5 }]);
  await t.subscribed(connection, [{ filter: t.topic("s/#"), qos: 1 }], [{ id: Prop.subscriptionIdentifier, value: 7 }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "x" });
  const copies = [await t.message(connection, topic)];
  for (;;) {
    const more = await connection.poll((packet) => packet.name === "PUBLISH" && packet.topic === topic, t.quietMs);
    if (!more) break;
    copies.push(more);
  }
  const ids = copies.map((copy) => copy.properties.filter((property) => property.id === Prop.subscriptionIdentifier).map((property) => Number(property.value)).sort());
  const all = ids.flat().sort();
  const shown = ids.map((list) => `[${list.join(",")}]`).join(" ");
  if (statement === "3") expect(all.includes(5) && all.includes(7), `Subscription Identifiers ${shown}, want 5 and 7`);
  if (statement === "4" && copies.length === 1) expect(ids[0]!.join() === "5,7", `one copy with ${shown}, want both 5 and 7`);
  if (statement === "5" && copies.length > 1) {
    expect(ids.every((list) => list.length <= 1), `copies with ${shown}: each must carry only its own subscription's identifier`);
    expect(all.join() === "5,7", `copies with ${shown}, want 5 and 7 each once`);
  }
  return `${copies.length} cop${copies.length === 1 ? "y" : "ies"}: ${shown}`;
}


export const publishChecks: Check[] = [
  ...both(sameId("MQTT-3.3.1-2"), "QoS 0 deliveries have DUP 0", qos0HasDupZero),
  ...both(sameId("MQTT-3.3.1-3"), "An incoming DUP 1 is not propagated to subscribers", dupNotPropagated),
  ...both(sameId("MQTT-3.3.1-4"), "A PUBLISH with QoS bits 11 closes the connection", qos3Closes),
  v311("MQTT-3.3.1-5", "RETAIN 1: the server stores the message for future subscribers", retainedStored),
  v5("MQTT-3.3.1-5", "RETAIN 1: the server replaces the topic's retained message and stores this one", retainedStored),
  v311("MQTT-3.3.1-6", "A new subscription gets the retained message of every matching topic", retainedOnEachMatchingTopic),
  v5("MQTT-3.3.1-9", "Retain Handling 0: retained messages matching the filter are sent", retainedOnEachMatchingTopic),
  v311("MQTT-3.3.1-7", "A QoS 0 retained PUBLISH discards the topic's previous retained message", qos0RetainedReplaces),
  v311("MQTT-3.3.1-8", "Messages sent for a new subscription have RETAIN 1", retainFlagOnNewSubscription),
  v311("MQTT-3.3.1-9", "Messages sent to established subscriptions have RETAIN 0", (t) => retainFlagClearedOnLiveDelivery(t)),
  v5("MQTT-3.3.1-12", "Retain As Published 0: forwarded with RETAIN 0", (t) => retainFlagClearedOnLiveDelivery(t, false)),
  v5("MQTT-3.3.1-13", "Retain As Published 1: forwarded with the RETAIN flag as published", (t) => retainFlagClearedOnLiveDelivery(t, true)),
  ...both({ v311: "MQTT-3.3.1-10", v5: "MQTT-3.3.1-6" }, "A zero-byte retained PUBLISH is delivered and removes the retained message", emptyRetainedRemoves),
  ...both({ v311: "MQTT-3.3.1-11", v5: "MQTT-3.3.1-7" }, "A zero-byte retained message is not stored", emptyRetainedNotStored),
  ...both({ v311: "MQTT-3.3.1-12", v5: "MQTT-3.3.1-8" }, "RETAIN 0 neither stores nor removes a retained message", nonRetainedLeavesRetained),
  v5("MQTT-3.3.1-10", "Retain Handling 1: retained messages only for a subscription that did not exist", (t) => retainHandling(t, 1)),
  v5("MQTT-3.3.1-11", "Retain Handling 2: no retained messages", (t) => retainHandling(t, 2)),
  ...both(sameId("MQTT-3.3.2-1"), "A PUBLISH without a Topic Name closes the connection", noTopicCloses),
  ...both(sameId("MQTT-3.3.2-2"), "A Topic Name containing + closes the connection", wildcardTopicCloses("+")),
  ...both({ v311: "MQTT-4.7.1-1", v5: "MQTT-4.7.0-1" }, "A Topic Name containing # closes the connection", wildcardTopicCloses("#")),
  ...both(sameId("MQTT-3.3.2-3"), "A delivered Topic Name is the published one, matching the filter", deliveredTopicMatchesFilter),
  ...both(sameId("MQTT-3.3.4-1"), "QoS 0: no response; QoS 1: PUBACK; QoS 2: PUBREC", responsePerQos),
  ...both({ v311: "MQTT-3.3.5-1", v5: "MQTT-3.3.4-2" }, "Overlapping subscriptions: delivered at the highest of their QoS", overlappingMaximumQos),
  v311("MQTT-3.3.5-2", "An unauthorized PUBLISH is acknowledged as normal or the connection closed", deniedPublish, "deniedTopic"),
  v5("MQTT-3.3.4-3", "Overlapping subscriptions: their Subscription Identifiers are sent", (t) => subscriptionIdentifiers(t, "3")),
  v5("MQTT-3.3.4-4", "One copy for overlapping subscriptions carries all their Subscription Identifiers", (t) => subscriptionIdentifiers(t, "4")),
  v5("MQTT-3.3.4-5", "Several copies: each carries its own subscription's Subscription Identifier", (t) => subscriptionIdentifiers(t, "5")),
];
