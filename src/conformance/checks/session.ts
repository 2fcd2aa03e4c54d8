/** Sessions (§3.1.2.4, §3.2.2.2, §4.1, §4.4): Clean Start, Session Expiry, Session Present, redelivery. */
import type { Check, CheckContext } from "../check";
import { disconnect } from "../codec/encode";
import { Prop, type Property } from "../codec/properties";
import type { Connection } from "../connection";
import { both, retainedFor, sameId, v311, v5 } from "./define";
import { expect } from "../verdict";

const expiry = (seconds: number): Property[] => [{ id: Prop.sessionExpiryInterval, value: seconds }];

/** CONNECT fields that open (or resume) a session which outlives the connection, in either version. */
const lasting = (t: CheckContext, cleanStart: boolean, seconds = 99_999) => ({ cleanStart: t.level === 4 ? false : cleanStart, properties: expiry(seconds) });

/** Ends a session on the server once a check is done with it: a clean connection that ends at once. */
async function endSession(t: CheckContext, clientId: string): Promise<void> {
  const { connection } = await t.connect({ clientId, cleanStart: true, properties: expiry(0) });
  connection.write(disconnect(t.level));
}

async function leave(connection: Connection, how: "disconnect" | "drop"): Promise<void> {
  if (how === "drop") return connection.destroy();
  connection.write(disconnect(connection.level));
  await connection.waitClosed(1000);
  connection.destroy();
}

/**
 * The scenario: a session subscribes to a wildcard at QoS 2 and goes away; QoS 1 and QoS 2
 * messages are published to two matching topics; the client comes back with Clean Start 0 and must
 * find its session (Session Present 1) and both messages.
 */
async function offlineMessagesKept(t: CheckContext, firstCleanStart: boolean, how: "disconnect" | "drop"): Promise<string> {
  const clientId = t.clientId();
  const base = t.topic("s");
  const { connection } = await t.connect({ clientId, ...lasting(t, firstCleanStart) });
  await t.subscribed(connection, [{ filter: `${base}/+/+`, qos: 2 }]);
  await leave(connection, how);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic: `${base}/Topic/C`, qos: 1, payload: "qos1" });
  await t.publish(publisher, { topic: `${base}/TopicA/C`, qos: 2, payload: "qos2" });
  const { connection: back, connack } = await t.connect({ clientId, cleanStart: false, properties: expiry(0) });
  expect(connack.sessionPresent, "Session Present 0 on returning to a session with Session Expiry 99999");
  await t.message(back, `${base}/Topic/C`, "the QoS 1 message published while away");
  await t.message(back, `${base}/TopicA/C`, "the QoS 2 message published while away");
  return "Session Present 1, both messages delivered";
}

/** Clean Start 1 discards the old session (its subscription is gone) and starts one that persists. */
async function cleanStartDiscards(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const old = t.topic("old");
  const { connection } = await t.connect({ clientId, ...lasting(t, false) });
  await t.subscribed(connection, [{ filter: old, qos: 1 }]);
  await leave(connection, "disconnect");
  const fresh = await t.connect({ clientId, cleanStart: true, properties: expiry(t.level === 5 ? 99_999 : 0) });
  expect(!fresh.connack.sessionPresent, "Session Present 1 with Clean Start 1");
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic: old, qos: 1, payload: "to the old subscription" });
  await t.nothing(fresh.connection, "PUBLISH", "the discarded session's subscription still delivers");
  if (t.level === 4) return "old subscription gone";
  await leave(fresh.connection, "disconnect");
  await endSession(t, clientId);
  return `old subscription gone; ${await offlineMessagesKept(t, true, "disconnect")}`;
}

async function newSessionWhenNone(t: CheckContext): Promise<string> {
  const { connection, connack } = await t.connect({ ...lasting(t, false, 0), cleanStart: false });
  expect(!connack.sessionPresent, "Session Present 1 for a client id the server never saw");
  const topic = t.topic();
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  await t.publish(connection, { topic, qos: 1, payload: "x" });
  await t.message(connection, topic);
  return "Session Present 0, the new session works";
}

async function cleanSessionLastsAsLongAsConnection(t: CheckContext): Promise<string> {
  const detail = await cleanStartDiscards(t);
  const clientId = t.clientId();
  const { connection } = await t.connect({ clientId, cleanStart: true });
  await t.subscribed(connection, [{ filter: t.topic(), qos: 1 }]);
  await leave(connection, "disconnect");
  const back = await t.connect({ clientId, cleanStart: false });
  expect(!back.connack.sessionPresent, "a CleanSession 1 session outlived its connection");
  back.connection.write(disconnect(4));
  await endSession(t, clientId);
  return detail;
}

async function retainedOutlivesSession(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection } = await t.connect({ cleanStart: true });
  await t.publish(connection, { topic, qos: 1, retain: true, payload: "kept" });
  await leave(connection, "disconnect");
  const retained = await retainedFor(t, topic, t.replyMs);
  expect(retained?.payload?.toString() === "kept", "the retained message went with the session that published it");
  await t.publish(connection.closed ? (await t.connect()).connection : connection, { topic, qos: 1, retain: true, payload: "" });
  return "still retained";
}

async function sessionPresentCleanStart(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { connection } = await t.connect({ clientId, ...lasting(t, false, 60) });
  await t.subscribed(connection, [{ filter: t.topic(), qos: 1 }]);
  await leave(connection, "disconnect");
  const { connack } = await t.connect({ clientId, cleanStart: true, properties: expiry(0) });
  expect(!connack.sessionPresent, "Session Present 1 with Clean Start 1 (a session existed)");
  expect((connack.acknowledgeFlags! & 0xfe) === 0, `reserved Connect Acknowledge Flags set: ${connack.acknowledgeFlags}`);
  return "Session Present 0";
}

async function sessionPresentResume(t: CheckContext, sessionExists: boolean): Promise<string> {
  const clientId = t.clientId();
  if (sessionExists) {
    const { connection } = await t.connect({ clientId, ...lasting(t, false, 60) });
    await t.subscribed(connection, [{ filter: t.topic(), qos: 1 }]);
    await leave(connection, "drop");
  }
  const { connack } = await t.connect({ clientId, cleanStart: false, properties: expiry(0) });
  expect(connack.sessionPresent === sessionExists, `Session Present ${connack.sessionPresent ? 1 : 0} ${sessionExists ? "with" : "without"} a stored session`);
  expect((connack.acknowledgeFlags! & 0xfe) === 0, `reserved Connect Acknowledge Flags set: ${connack.acknowledgeFlags}`);
  return `Session Present ${sessionExists ? 1 : 0}`;
}

async function sessionPresentBoth(t: CheckContext): Promise<string> {
  return `${await sessionPresentResume(t, true)}; ${await sessionPresentEmpty(t)}; ${await sessionPresentResume(t, false)}`;
}

/**
 * A session with nothing in it is still stored: "The existence of a Session, even if the rest of the
 * Session State is empty" is Session State (3.1.1 section 3.1.2.4, 5.0 section 4.1).
 */
async function sessionPresentEmpty(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { connection } = await t.connect({ clientId, ...lasting(t, false, 60) });
  await leave(connection, "disconnect");
  const { connack } = await t.connect({ clientId, cleanStart: false, properties: expiry(0) });
  expect(connack.sessionPresent, "Session Present 0 for a stored session with no subscriptions");
  return "Session Present 1 for an empty stored session";
}

/** Session Expiry 1 s counts only once the connection is closed. */
async function notDiscardedWhileOpen(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const { connection } = await t.connect({ cleanStart: true, properties: expiry(1) });
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  await Bun.sleep(2000);
  await t.publish(connection, { topic, qos: 1, payload: "still subscribed" });
  await t.message(connection, topic, "a message on the subscription 2 s into a session with Session Expiry 1 s");
  return "subscription alive after 2 s";
}

async function discardedAfterExpiry(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { connection } = await t.connect({ clientId, cleanStart: true, properties: expiry(1) });
  await t.subscribed(connection, [{ filter: t.topic(), qos: 1 }]);
  await leave(connection, "disconnect");
  // Twice and a half the expiry: room for a late timer on a loaded machine.
  await Bun.sleep(3500);
  const { connack } = await t.connect({ clientId, cleanStart: false, properties: expiry(0) });
  expect(!connack.sessionPresent, "the session was still there 3.5 s after closing with Session Expiry 1 s");
  return "gone";
}

/** An unacknowledged QoS 1 PUBLISH and an unacknowledged PUBREL are re-sent on resumption, same ids. */
async function resendOnResume(t: CheckContext, requireDup: boolean): Promise<string> {
  const clientId = t.clientId();
  const topic = t.topic();
  const { connection } = await t.connect({ clientId, ...lasting(t, false, 60) });
  connection.autoAcknowledge = false;
  await t.subscribed(connection, [{ filter: topic, qos: 2 }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "qos1" });
  const first = await t.message(connection, topic);
  connection.destroy();
  const { connection: back } = await t.connect({ clientId, cleanStart: false, properties: expiry(60) });
  back.autoAcknowledge = false;
  const again = await t.message(back, topic, "the unacknowledged QoS 1 PUBLISH re-sent");
  expect(again.packetId === first.packetId, `re-sent with Packet Identifier ${again.packetId}, first sent as ${first.packetId}`);
  if (requireDup) expect(again.dup, "a re-sent PUBLISH with DUP 0");
  await endSession(t, clientId);
  return `re-sent with id ${again.packetId}${again.dup ? ", DUP 1" : ""}`;
}

async function dupOnRedelivery(t: CheckContext): Promise<string> {
  return resendOnResume(t, true);
}

async function storedForAllMatching(t: CheckContext): Promise<string> {
  const topic = t.topic("a/b");
  const { connection: exact } = await t.connect();
  await t.subscribed(exact, [{ filter: topic, qos: 1 }]);
  const { connection: wildcard } = await t.connect();
  await t.subscribed(wildcard, [{ filter: t.topic("a/+"), qos: 1 }]);
  const { connection: publisher } = await t.connect();
  await t.publish(publisher, { topic, qos: 1, payload: "to both" });
  await t.message(exact, topic, "the message on the exact subscription");
  await t.message(wildcard, topic, "the message on the wildcard subscription");
  return "both subscribers";
}

export const sessionChecks: Check[] = [
  v311("MQTT-3.1.2-4", "CleanSession 0 resumes the session: subscriptions kept, Session Present 1", (t) => offlineMessagesKept(t, false, "disconnect")),
  v311("MQTT-3.1.2-5", "CleanSession 0: QoS 1 and 2 messages published while away are stored and delivered", (t) => offlineMessagesKept(t, false, "drop")),
  v311("MQTT-3.1.2-6", "CleanSession 1 discards the old session; the new one lasts as long as the connection", cleanSessionLastsAsLongAsConnection),
  v311("MQTT-3.1.2-7", "Retained messages are not deleted when the session that published them ends", retainedOutlivesSession),
  v5("MQTT-3.1.2-4", "Clean Start 1 discards the old session and starts one that persists (Session Expiry 99999)", cleanStartDiscards),
  v5("MQTT-3.1.2-5", "Clean Start 0 resumes the session started with Clean Start 1: messages sent while away arrive", (t) => offlineMessagesKept(t, true, "disconnect")),
  v5("MQTT-3.1.2-6", "Clean Start 0 and no session: a new session", newSessionWhenNone),
  v5("MQTT-3.1.2-23", "Session Expiry > 0: the session is stored after the network connection drops", (t) => offlineMessagesKept(t, true, "drop")),
  ...both({ v311: "MQTT-3.1.4-3", v5: "MQTT-3.1.4-4" }, "A CONNECT's Clean Start / CleanSession is processed", cleanStartDiscards),
  ...both({ v311: "MQTT-3.2.2-1", v5: "MQTT-3.2.2-2" }, "Clean Start 1 is acknowledged with Session Present 0", sessionPresentCleanStart),
  v311("MQTT-3.2.2-2", "CleanSession 0 with a stored session, empty or not: Session Present 1", async (t) => `${await sessionPresentResume(t, true)}; ${await sessionPresentEmpty(t)}`),
  v311("MQTT-3.2.2-3", "CleanSession 0 without a stored session: Session Present 0", (t) => sessionPresentResume(t, false)),
  v5("MQTT-3.2.2-3", "Clean Start 0: Session Present 1 when a session is stored, else 0", sessionPresentBoth),
  v5("MQTT-3.2.2-1", "Connect Acknowledge Flags bits 7-1 are 0", sessionPresentBoth),
  v5("MQTT-4.1.0-1", "The session is not discarded while the connection is open (Session Expiry 1 s, 2 s later)", notDiscardedWhileOpen),
  v5("MQTT-4.1.0-2", "The session is discarded once closed for longer than its Session Expiry", discardedAfterExpiry),
  ...both(sameId("MQTT-4.4.0-1"), "On resumption an unacknowledged PUBLISH is re-sent with its original Packet Identifier", (t) => resendOnResume(t, false)),
  ...both(sameId("MQTT-3.3.1-1"), "A re-delivered PUBLISH has DUP 1", dupOnRedelivery),
  v311("MQTT-2.3.1-4", "A PUBLISH the server re-sends keeps its Packet Identifier", (t) => resendOnResume(t, false)),
  ...both(sameId("MQTT-4.5.0-1"), "A message is delivered to every session with a matching subscription", storedForAllMatching),
];
