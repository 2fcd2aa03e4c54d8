/** §3.1 CONNECT: the packet's format, its flags, the client identifier, and what the server does with it. */
import type { Check, CheckContext } from "../check";
import { connect, frame, pingreq, publish, text, u16 } from "../codec/encode";
import { Prop } from "../codec/properties";
import { both, closesAfter, connectBytes, everyPart, hex, refusesConnect, retainedFor, sameId, v311, v5 } from "./define";
import { expect, fail } from "../verdict";

/** A CONNECT with this check's client id whose payload is followed by `extra` bytes (fields its flags do not announce). */
function connectWithExtra(t: CheckContext, flags: number, extra: Buffer): Buffer {
  const properties = t.level === 5 ? [Buffer.of(0)] : [];
  return frame(0x10, text("MQTT"), Buffer.of(t.level, flags), u16(30), ...properties, text(t.clientId()), extra);
}

async function firstPacketMustBeConnect(t: CheckContext): Promise<string> {
  const connection = await t.open();
  connection.write(Buffer.concat([publish(t.level, { topic: t.topic(), payload: "before CONNECT", retain: true }), pingreq()]));
  const closed = await t.closedBy(connection, "a PUBLISH before any CONNECT");
  const answered = connection.received.find((packet) => packet.name === "PINGRESP" || packet.name === "CONNACK");
  expect(!answered, `the server answered ${answered?.name} before any CONNECT`);
  expect(!(await retainedFor(t, t.topic())), "the PUBLISH sent before CONNECT was processed (its retained message is stored)");
  return closed;
}

async function secondConnectCloses(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  connection.write(connectBytes(t));
  const closed = await t.closedBy(connection, "a second CONNECT");
  const connacks = connection.received.filter((packet) => packet.name === "CONNACK").length;
  expect(connacks === 1, `${connacks} CONNACKs on one connection`);
  return closed;
}

const badProtocolName = (t: CheckContext) => refusesConnect(t, connectBytes(t, { protocolName: "MQTX" }), 'protocol name "MQTX"');

async function unsupportedLevel(t: CheckContext): Promise<string> {
  const detail = await refusesConnect(t, connectBytes(t, { protocolLevel: 9 }), "protocol level 9");
  if (t.level === 4) expect(detail.startsWith("CONNACK 0x01"), `want CONNACK 0x01 (unacceptable protocol version) then close; got ${detail}`);
  return detail;
}

const reservedConnectFlag = (t: CheckContext) => refusesConnect(t, connectBytes(t, { extraFlags: 0x01 }), "the reserved Connect Flag set");

/** Will flag set but no Will Topic and Will Message in the payload. */
async function willFieldsMissing(t: CheckContext): Promise<string> {
  return refusesConnect(t, connectWithExtra(t, 0x02 | 0x04, Buffer.alloc(0)), "Will Flag 1 without Will Topic and Will Message");
}

/** Will flag 0 with will fields present anyway (extra bytes after the client id). */
async function willFieldsWithoutFlag(t: CheckContext): Promise<string> {
  const willProperties = t.level === 5 ? [Buffer.of(0)] : [];
  return refusesConnect(t, connectWithExtra(t, 0x02, Buffer.concat([...willProperties, text(t.topic("will")), text("gone")])), "will fields present with Will Flag 0");
}

const willQosWithoutWill = (t: CheckContext) => refusesConnect(t, connectBytes(t, { extraFlags: 0x08 }), "Will QoS 1 with Will Flag 0");
const willRetainWithoutWill = (t: CheckContext) => refusesConnect(t, connectBytes(t, { extraFlags: 0x20 }), "Will Retain 1 with Will Flag 0");
const willQos3 = (t: CheckContext) => refusesConnect(t, connectBytes(t, { will: { topic: t.topic("will"), qos: 3 } }), "Will QoS 3");

const USER_NAME = 0x80;
const PASSWORD = 0x40;
const userNameWithoutFlag = (t: CheckContext) => refusesConnect(t, connectWithExtra(t, 0x02, text("user")), "a User Name with User Name Flag 0");
const userNameFlagWithout = (t: CheckContext) => refusesConnect(t, connectWithExtra(t, 0x02 | USER_NAME, Buffer.alloc(0)), "User Name Flag 1 without a User Name");
const passwordWithoutFlag = (t: CheckContext) => refusesConnect(t, connectWithExtra(t, 0x02 | USER_NAME, Buffer.concat([text("user"), text("secret")])), "a Password with Password Flag 0");
const passwordFlagWithout = (t: CheckContext) => refusesConnect(t, connectWithExtra(t, 0x02 | USER_NAME | PASSWORD, text("user")), "Password Flag 1 without a Password");
const passwordWithoutUserName = (t: CheckContext) => refusesConnect(t, connectWithExtra(t, 0x02 | PASSWORD, text("secret")), "Password Flag 1 with User Name Flag 0");

/**
 * With Keep Alive 1 s and silence, the server must close within 1.5 s of the CONNECT, its last packet.
 * Timed from the CONNACK (a little after the server's own start), with 1.5 s of slack for a loaded machine.
 */
async function keepAliveEnforced(t: CheckContext): Promise<string> {
  const { connection, connack } = await t.connect({ keepAlive: 1 });
  const started = Date.now();
  const serverKeepAlive = connack.properties.find((property) => property.id === Prop.serverKeepAlive)?.value;
  if (serverKeepAlive !== undefined && serverKeepAlive !== 1) return `the server set its own Server Keep Alive ${serverKeepAlive}: not applicable`;
  const tooEarlyMs = 900;
  const graceMs = 1500;
  // Wait longer than the limit, to report when a late server does close.
  if (!(await connection.waitClosed(6000))) fail(`still open ${Date.now() - started} ms after the last packet with Keep Alive 1 s`);
  const elapsed = Date.now() - started;
  expect(elapsed <= 1500 + graceMs, `closed only after ${elapsed} ms with Keep Alive 1 s (limit 1500 ms, allowed ${1500 + graceMs} ms)`);
  expect(elapsed >= tooEarlyMs, `closed after ${elapsed} ms, before the keep-alive period`);
  return `closed after ${elapsed} ms`;
}

/** Clients that keep to their Keep Alive stay connected: the server uses the client's value, not a shorter one. */
async function keepAliveHonoured(t: CheckContext): Promise<string | void> {
  const { connection, connack } = await t.connect({ keepAlive: 2 });
  const serverKeepAlive = connack.properties.find((property) => property.id === Prop.serverKeepAlive)?.value;
  if (serverKeepAlive !== undefined) return `the server sent Server Keep Alive ${serverKeepAlive}: not applicable`;
  for (let ping = 0; ping < 3; ping++) {
    await Bun.sleep(1200);
    await t.pinged(connection);
  }
  expect(!connection.closed, "closed although the client sent PINGREQ within its Keep Alive");
}

async function payloadInOrder(t: CheckContext): Promise<void> {
  const topic = t.topic("will");
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: topic, qos: 0 }]);
  const credentials = { username: t.settings.username ?? "user", password: t.settings.password ?? "secret" };
  const { connection } = await t.connect({ will: { topic, payload: "last words" }, ...credentials });
  connection.destroy();
  const will = await t.message(subscriber, topic, "the will (Client Identifier, Will Topic, Will Message, User Name, Password in order)");
  expect(will.payload!.toString() === "last words", `will payload ${JSON.stringify(will.payload!.toString())}`);
}

/** The client id names the session: another id does not see it, the same id does. */
async function clientIdIdentifiesSession(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const persistent = t.level === 5 ? { cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 60 }] } : { cleanStart: false };
  const { connection } = await t.connect({ clientId, ...persistent });
  await t.subscribed(connection, [{ filter: t.topic(), qos: 1 }]);
  connection.destroy();
  const other = await t.connect({ ...persistent, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  expect(other.connack.sessionPresent === false, "a new client id was given a present session");
  const same = await t.connect({ clientId, ...persistent, properties: [{ id: Prop.sessionExpiryInterval, value: 0 }] });
  expect(same.connack.sessionPresent === true, "the same client id got Session Present 0");
  return "other id: Session Present 0; same id: 1";
}

const clientIdMissing = (t: CheckContext) =>
  refusesConnect(t, frame(0x10, text("MQTT"), Buffer.of(t.level, 0x02), u16(30), ...(t.level === 5 ? [Buffer.of(0)] : [])), "a CONNECT without a Client Identifier");
const clientIdIllFormed = (t: CheckContext) => refusesConnect(t, connectBytes(t, { clientId: Buffer.of(0x61, 0xc3, 0x28) }), "a Client Identifier with ill-formed UTF-8");

async function shortAndLongClientIds(t: CheckContext): Promise<string> {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const random = (length: number) => Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
  await t.connect({ clientId: random(23) });
  await t.connect({ clientId: random(1) });
  return "23 and 1 characters accepted";
}

/** Two clients with empty client ids are two sessions: neither takes the other over. */
async function emptyClientIdAssigned(t: CheckContext): Promise<string> {
  const first = await t.tryConnect({ clientId: "" });
  if (first.connack?.reasonCode !== 0) return `empty client ids refused (${hex(first.connack?.reasonCode)}), which the server may do`;
  const second = await t.connect({ clientId: "" });
  await t.pinged(first.connection, "PINGRESP on the first empty-id connection (the second must not take it over)");
  if (t.level === 5) {
    const ids = [first.connack, second.connack].map((connack) => connack.properties.find((property) => property.id === Prop.assignedClientIdentifier)?.value);
    expect(ids[0] && ids[1], "CONNACK without Assigned Client Identifier for an empty client id");
    expect(ids[0] !== ids[1], `the same Assigned Client Identifier twice: ${ids[0]}`);
    return `assigned ${ids.join(", ")}`;
  }
  return "both connected";
}

async function emptyIdWithoutCleanSession(t: CheckContext): Promise<string> {
  const connection = await t.open();
  connection.write(connectBytes(t, { clientId: "", cleanStart: false }));
  const connack = await connection.take("CONNACK", t.replyMs);
  expect(connack.reasonCode === 0x02, `CONNACK ${hex(connack.reasonCode)}, want 0x02 (identifier rejected)`);
  return t.closedBy(connection, "CONNACK 0x02");
}

const willTopicIllFormed = (t: CheckContext) => refusesConnect(t, connectBytes(t, { will: { topic: Buffer.of(0x61, 0xc3, 0x28) } }), "a Will Topic with ill-formed UTF-8");
const userNameIllFormed = (t: CheckContext) => refusesConnect(t, connectBytes(t, { username: Buffer.of(0x61, 0xc3, 0x28) }), "a User Name with ill-formed UTF-8");

/** A client id length running past the packet: closed, and (3.1.1) without a CONNACK. */
async function malformedConnect(t: CheckContext): Promise<string> {
  const bytes = frame(0x10, text("MQTT"), Buffer.of(t.level, 0x02), u16(30), ...(t.level === 5 ? [Buffer.of(0)] : []), u16(40), Buffer.from("short"));
  const detail = await refusesConnect(t, bytes, "a Client Identifier running past the packet");
  if (t.level === 4) expect(detail.startsWith("no CONNACK"), `a CONNACK was sent to a malformed CONNECT (${detail})`);
  return detail;
}

/** A second connection with the same client id: the first is closed (MQTT 5: after DISCONNECT 0x8E, if sent). */
async function takeover(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { connection: first } = await t.connect({ clientId });
  await t.connect({ clientId });
  const closed = await t.closedBy(first, "another connection with its client id");
  const disconnect = first.received.find((packet) => packet.name === "DISCONNECT");
  if (t.level === 5 && disconnect) expect(disconnect.reasonCode === 0x8e, `DISCONNECT ${hex(disconnect.reasonCode)} to the old connection, want 0x8e`);
  return closed;
}

/** A valid CONNECT, also with Keep Alive 0 (no keep-alive), is acknowledged with code 0. */
async function validConnectAccepted(t: CheckContext): Promise<string> {
  return everyPart({
    "Keep Alive 30": async () => void (await t.connect()),
    "Keep Alive 0": async () => void (await t.connect({ keepAlive: 0 })),
  });
}

/** After a refused CONNECT, what follows is not processed: the retained PUBLISH is not stored. */
async function nothingAfterRefusal(t: CheckContext): Promise<string> {
  const topic = t.topic();
  const connection = await t.open();
  connection.write(Buffer.concat([connectBytes(t, { protocolLevel: 9 }), publish(t.level, { topic, payload: "after refusal", retain: true })]));
  await t.closedBy(connection, "a refused CONNECT");
  const retained = await retainedFor(t, topic);
  expect(!retained, "a PUBLISH sent after a refused CONNECT was processed (stored as retained)");
  return "not processed";
}

async function authenticationRequired(t: CheckContext): Promise<string> {
  const connection = await t.open();
  connection.write(connect(t.level, { clientId: t.clientId(), keepAlive: 30 }));
  const connack = await connection.poll("CONNACK", t.replyMs);
  expect(!connack || connack.reasonCode !== 0, "a CONNECT without credentials was accepted");
  return `${connack ? `CONNACK ${hex(connack.reasonCode)}, ` : ""}${await t.closedBy(connection, "refusing the credentials")}`;
}

export const connectChecks: Check[] = [
  ...both(sameId("MQTT-3.1.0-1"), "The first packet must be CONNECT: a PUBLISH first closes the connection, unprocessed", firstPacketMustBeConnect),
  ...both(sameId("MQTT-3.1.0-2"), "A second CONNECT is a protocol violation: connection closed", secondConnectCloses),
  ...both(sameId("MQTT-3.1.2-1"), 'A protocol name other than "MQTT" is not accepted', badProtocolName),
  ...both(sameId("MQTT-3.1.2-2"), "An unsupported protocol level is refused (3.1.1: CONNACK 0x01) and closed", unsupportedLevel),
  ...both(sameId("MQTT-3.1.2-3"), "The reserved Connect Flag set: connection closed", reservedConnectFlag),
  ...both(sameId("MQTT-3.1.2-9"), "Will Flag 1 needs Will Topic and Will Message in the payload", willFieldsMissing),
  v311("MQTT-3.1.2-11", "Will Flag 0: no will fields in the payload", willFieldsWithoutFlag),
  ...both({ v311: "MQTT-3.1.2-13", v5: "MQTT-3.1.2-11" }, "Will Flag 0 requires Will QoS 0", willQosWithoutWill),
  ...both({ v311: "MQTT-3.1.2-14", v5: "MQTT-3.1.2-12" }, "Will QoS 3 is refused", willQos3),
  ...both({ v311: "MQTT-3.1.2-15", v5: "MQTT-3.1.2-13" }, "Will Flag 0 requires Will Retain 0", willRetainWithoutWill),
  ...both({ v311: "MQTT-3.1.2-18", v5: "MQTT-3.1.2-16" }, "User Name Flag 0: no User Name in the payload", userNameWithoutFlag),
  ...both({ v311: "MQTT-3.1.2-19", v5: "MQTT-3.1.2-17" }, "User Name Flag 1: a User Name must be present", userNameFlagWithout),
  ...both({ v311: "MQTT-3.1.2-20", v5: "MQTT-3.1.2-18" }, "Password Flag 0: no Password in the payload", passwordWithoutFlag),
  ...both({ v311: "MQTT-3.1.2-21", v5: "MQTT-3.1.2-19" }, "Password Flag 1: a Password must be present", passwordFlagWithout),
  v311("MQTT-3.1.2-22", "User Name Flag 0 requires Password Flag 0", passwordWithoutUserName),
  ...both({ v311: "MQTT-3.1.2-24", v5: "MQTT-3.1.2-22" }, "Keep Alive 1 s and silence: closed within 1.5 s", keepAliveEnforced),
  v5("MQTT-3.2.2-22", "Without Server Keep Alive the server uses the client's Keep Alive (not a shorter one)", keepAliveHonoured),
  ...both(sameId("MQTT-3.1.3-1"), "Payload fields in order: Client Identifier, Will Topic, Will Message, User Name, Password", payloadInOrder),
  ...both(sameId("MQTT-3.1.3-2"), "The Client Identifier identifies the session", clientIdIdentifiesSession),
  ...both(sameId("MQTT-3.1.3-3"), "A CONNECT without a Client Identifier is refused", clientIdMissing),
  ...both(sameId("MQTT-3.1.3-4"), "A Client Identifier with ill-formed UTF-8 is refused", clientIdIllFormed),
  ...both(sameId("MQTT-3.1.3-5"), "Client Identifiers of 1 and 23 letters and digits are accepted", shortAndLongClientIds),
  ...both(sameId("MQTT-3.1.3-6"), "An empty Client Identifier, if accepted, gets a unique identifier of its own", emptyClientIdAssigned),
  v5("MQTT-3.1.3-7", "An empty Client Identifier: CONNACK carries a unique Assigned Client Identifier", emptyClientIdAssigned),
  v5("MQTT-3.2.2-16", "Assigned Client Identifiers are new, not used by another session", emptyClientIdAssigned),
  v311("MQTT-3.1.3-8", "An empty Client Identifier with CleanSession 0: CONNACK 0x02, then closed", emptyIdWithoutCleanSession),
  v311("MQTT-3.1.3-9", "A rejected Client Identifier (empty, CleanSession 0): CONNACK 0x02, then closed", emptyIdWithoutCleanSession),
  ...both({ v311: "MQTT-3.1.3-10", v5: "MQTT-3.1.3-11" }, "A Will Topic with ill-formed UTF-8 is refused", willTopicIllFormed),
  ...both({ v311: "MQTT-3.1.3-11", v5: "MQTT-3.1.3-12" }, "A User Name with ill-formed UTF-8 is refused", userNameIllFormed),
  ...both(sameId("MQTT-3.1.4-1"), "A malformed CONNECT closes the connection (3.1.1: without CONNACK)", malformedConnect),
  v311("MQTT-3.2.2-6", "A CONNECT no return code fits (malformed): closed without CONNACK", malformedConnect),
  ...both({ v311: "MQTT-3.1.4-2", v5: "MQTT-3.1.4-3" }, "A second connection with the same Client Identifier closes the first", takeover),
  ...both({ v311: "MQTT-3.1.4-4", v5: "MQTT-3.1.4-5" }, "A valid CONNECT (Keep Alive 30 or 0) gets CONNACK 0", validConnectAccepted),
  ...both({ v311: "MQTT-3.1.4-5", v5: "MQTT-3.1.4-6" }, "Data after a refused CONNECT is not processed", nothingAfterRefusal),
  v5("MQTT-3.1.4-2", "Failed authentication closes the connection", authenticationRequired, "authRequired"),
];
