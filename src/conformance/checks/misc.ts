/** §3.2 CONNACK, §3.12 PINGREQ, §3.14 DISCONNECT, §3.15 AUTH, §4.8.0/§4.13 errors, §4.12 enhanced authentication. */
import type { Check, CheckContext } from "../check";
import { frame, pingreq, publish, subscribe } from "../codec/encode";
import { Prop } from "../codec/properties";
import { both, closesAfter, connectBytes, hex, refusesConnect, sameId, v311, v5 } from "./define";
import { expect } from "../verdict";

const CONNACK_CODES = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f];
const DISCONNECT_CODES = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2];
const AUTH_METHOD = [{ id: Prop.authenticationMethod, value: "CONFORMANCE-UNSUPPORTED-METHOD" }];

/** CONNECT, SUBSCRIBE and PINGREQ in one write: the CONNACK must still come first. */
async function connackFirst(t: CheckContext): Promise<string> {
  const connection = await t.open();
  connection.write(Buffer.concat([connectBytes(t), subscribe(t.level, 1, [{ filter: t.topic() }]), pingreq()]));
  await connection.take("PINGRESP", t.replyMs);
  const order = connection.received.map((packet) => packet.name);
  expect(order[0] === "CONNACK", `first packet from the server: ${order[0]}`);
  expect(order.filter((name) => name === "CONNACK").length === 1, `${order.filter((name) => name === "CONNACK").length} CONNACKs`);
  return order.join(", ");
}

/** A refused CONNECT for a client id that has a stored session: Session Present 0, then closed. */
async function refusedWithSession(t: CheckContext, part: "present" | "close" | "codes"): Promise<string> {
  const clientId = t.clientId();
  const { connection } = await t.connect({ clientId, cleanStart: false, properties: [{ id: Prop.sessionExpiryInterval, value: 60 }] });
  await t.subscribed(connection, [{ filter: t.topic(), qos: 1 }]);
  connection.destroy();
  const refusal = t.level === 4 ? connectBytes(t, { clientId, cleanStart: false, protocolLevel: 9 }) : connectBytes(t, { clientId, cleanStart: false, properties: AUTH_METHOD });
  const refused = await t.open();
  refused.write(refusal);
  const connack = await refused.take("CONNACK", t.replyMs, "a CONNACK refusing the CONNECT");
  expect(connack.reasonCode !== 0, "the CONNECT was accepted");
  await t.connect({ clientId, cleanStart: true });
  if (part === "present") {
    expect(!connack.sessionPresent, `Session Present 1 with refusal ${hex(connack.reasonCode)}`);
    return `CONNACK ${hex(connack.reasonCode)}, Session Present 0`;
  }
  if (part === "codes") {
    expect(CONNACK_CODES.includes(connack.reasonCode!), `CONNACK Reason Code ${hex(connack.reasonCode)}`);
    return `CONNACK ${hex(connack.reasonCode)}`;
  }
  return `CONNACK ${hex(connack.reasonCode)}, ${await t.closedBy(refused, `CONNACK ${hex(connack.reasonCode)}`)}`;
}

async function pingresp(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  for (let ping = 0; ping < 3; ping++) {
    await t.pinged(connection);
  }
  return "3 PINGRESPs";
}

/** Connects a will publisher and a subscriber on its will topic. */
async function withWill(t: CheckContext) {
  const topic = t.topic("will");
  const { connection: subscriber } = await t.connect();
  await t.subscribed(subscriber, [{ filter: topic, qos: 1 }]);
  const { connection } = await t.connect({ will: { topic, payload: "will", qos: 1 } });
  return { subscriber, connection, topic };
}

/** A DISCONNECT with reserved flags is malformed: the connection closes and, not being a DISCONNECT, the will is published. */
async function disconnectReservedBits(t: CheckContext): Promise<string> {
  const { subscriber, connection, topic } = await withWill(t);
  connection.write(frame(0xe1, ...(t.level === 5 ? [Buffer.of(0)] : [])));
  const closed = await t.closedBy(connection, "a DISCONNECT with flags 0001");
  await t.message(subscriber, topic, "the will: a malformed DISCONNECT does not discard it");
  return `${closed}, will published`;
}

async function disconnectDiscardsWill(t: CheckContext): Promise<string> {
  const { subscriber, connection, topic } = await withWill(t);
  connection.write(frame(0xe0));
  await connection.waitClosed(t.replyMs);
  connection.destroy();
  await t.nothing(subscriber, (packet) => packet.name === "PUBLISH" && packet.topic === topic, "the will was published after DISCONNECT", t.quietMs * 2);
  return "not published";
}

/** Provokes a server DISCONNECT (a PUBLISH with Topic Alias 0, a protocol error) and returns it. */
async function serverDisconnect(t: CheckContext) {
  const { connection } = await t.connect();
  connection.write(publish(5, { topic: t.topic(), payload: "x", properties: [{ id: Prop.topicAlias, value: 0 }] }));
  const closed = await t.closedBy(connection, "a PUBLISH with Topic Alias 0");
  return { closed, disconnect: connection.received.find((packet) => packet.name === "DISCONNECT") };
}

async function disconnectCodes(t: CheckContext): Promise<string> {
  const { closed, disconnect } = await serverDisconnect(t);
  if (disconnect) expect(DISCONNECT_CODES.includes(disconnect.reasonCode!), `DISCONNECT Reason Code ${hex(disconnect.reasonCode)}`);
  return closed;
}

async function noSessionExpiryOnDisconnect(t: CheckContext): Promise<string> {
  const { closed, disconnect } = await serverDisconnect(t);
  expect(!disconnect?.properties.some((property) => property.id === Prop.sessionExpiryInterval), "the server's DISCONNECT carries Session Expiry Interval");
  return closed;
}

/** A malformed CONNECT: no DISCONNECT may come before a successful CONNACK. */
async function noDisconnectBeforeConnack(t: CheckContext): Promise<string> {
  const connection = await t.open();
  connection.write(connectBytes(t, { will: { topic: t.topic(), qos: 3 } }));
  await connection.waitClosed(t.replyMs);
  const names = connection.received.map((packet) => packet.name);
  expect(!names.includes("DISCONNECT"), `the server sent ${names.join(", ")} without a successful CONNACK`);
  return names.join(", ") || "nothing, closed";
}

const authFlagsClose = (t: CheckContext) => closesAfter(t, frame(0xf1, Buffer.of(0x19, 0x00)), "an AUTH with flags 0001");

async function unsupportedAuthMethod(t: CheckContext): Promise<string> {
  const detail = await refusesConnect(t, connectBytes(t, { properties: AUTH_METHOD }), "an unsupported Authentication Method");
  return detail;
}

async function noAuthWithoutMethod(t: CheckContext): Promise<string> {
  const { connection, connack } = await t.connect();
  expect(!connack.properties.some((property) => property.id === Prop.authenticationMethod), "CONNACK carries an Authentication Method the client did not ask for");
  await t.pinged(connection);
  expect(!connection.received.some((packet) => packet.name === "AUTH"), "the server sent AUTH to a client without an Authentication Method");
  return "no AUTH, no Authentication Method";
}

/** After its DISCONNECT the server sends nothing more and closes the connection. */
async function nothingAfterDisconnect(t: CheckContext): Promise<string> {
  const { closed, disconnect } = await serverDisconnect(t);
  if (!disconnect) return `${closed} without a DISCONNECT: not applicable`;
  return `${closed}; DISCONNECT was the last packet`;
}

async function nothingSentAfterDisconnect(t: CheckContext): Promise<string> {
  const { connection } = await t.connect();
  connection.write(publish(5, { topic: t.topic(), payload: "x", properties: [{ id: Prop.topicAlias, value: 0 }] }));
  await connection.waitClosed(t.replyMs);
  const names = connection.received.map((packet) => packet.name);
  const at = names.indexOf("DISCONNECT");
  if (at < 0) return "no DISCONNECT sent: not applicable";
  expect(at === names.length - 1, `packets after the server's DISCONNECT: ${names.slice(at + 1).join(", ")}`);
  return "nothing after DISCONNECT";
}

const protocolErrorCloses = (t: CheckContext) => serverDisconnect(t).then(({ closed }) => closed);

/** A server's DISCONNECT of 0x80 or more is followed by the close (session takeover gives one). */
async function closedAfterErrorCode(t: CheckContext): Promise<string> {
  const clientId = t.clientId();
  const { connection: first } = await t.connect({ clientId });
  await t.connect({ clientId });
  return t.closedBy(first, "the session was taken over");
}

const clientSendsConnack = (t: CheckContext) => closesAfter(t, frame(0x20, Buffer.of(0, 0)), "a CONNACK sent by the client");

async function maximumQos(t: CheckContext, part: "told" | "subscribe" | "will"): Promise<string> {
  const maxQos = t.settings.expectations.maxQos!;
  if (part === "will") return refusesConnect(t, connectBytes(t, { will: { topic: t.topic(), qos: 2 } }), `Will QoS 2 on a broker with Maximum QoS ${maxQos}`);
  const { connection, connack } = await t.connect();
  if (part === "told") {
    const told = connack.properties.find((property) => property.id === Prop.maximumQos)?.value;
    expect(told === maxQos, `CONNACK Maximum QoS ${told ?? "absent"}, the broker's is ${maxQos}`);
    return `Maximum QoS ${told}`;
  }
  const suback = await t.subscribe(connection, [{ filter: t.topic(), qos: 2 }]);
  expect(suback.reasonCodes![0]! <= maxQos, `SUBACK ${hex(suback.reasonCodes![0])} for QoS 2 on a broker with Maximum QoS ${maxQos}`);
  return `granted ${suback.reasonCodes![0]}`;
}

const retainUnsupported = (t: CheckContext) => refusesConnect(t, connectBytes(t, { will: { topic: t.topic(), retain: true } }), "a retained will on a broker without retained messages");


export const miscChecks: Check[] = [
  ...both(sameId("MQTT-3.2.0-1"), "The server's first packet is CONNACK, even with packets pipelined after CONNECT", connackFirst),
  v5("MQTT-3.2.0-2", "One CONNACK per connection", connackFirst),
  ...both({ v311: "MQTT-3.2.2-4", v5: "MQTT-3.2.2-6" }, "A refusing CONNACK has Session Present 0 (even with a stored session)", (t) => refusedWithSession(t, "present")),
  ...both({ v311: "MQTT-3.2.2-5", v5: "MQTT-3.2.2-7" }, "After a refusing CONNACK the server closes the connection", (t) => refusedWithSession(t, "close")),
  v5("MQTT-3.2.2-8", "CONNACK Reason Codes are the spec's", (t) => refusedWithSession(t, "codes")),
  v5("MQTT-3.2.2-9", "A server below QoS 2 says its Maximum QoS in CONNACK", (t) => maximumQos(t, "told"), "maxQos"),
  v5("MQTT-3.2.2-10", "A server below QoS 2 still accepts SUBSCRIBE at QoS 2 (granting less)", (t) => maximumQos(t, "subscribe"), "maxQos"),
  v5("MQTT-3.2.2-12", "A Will QoS above the server's Maximum QoS is refused", (t) => maximumQos(t, "will"), "maxQos"),
  v5("MQTT-3.2.2-13", "A retained will on a server without retained messages is refused", retainUnsupported, "retainUnavailable"),
  ...both(sameId("MQTT-3.12.4-1"), "PINGREQ is answered with PINGRESP", pingresp),
  ...both(sameId("MQTT-3.14.1-1"), "A DISCONNECT with reserved flags closes the connection and the will is published", disconnectReservedBits),
  ...both(sameId("MQTT-3.14.4-3"), "After DISCONNECT the will is discarded, not published", disconnectDiscardsWill),
  v5("MQTT-3.14.0-1", "No DISCONNECT from the server before a successful CONNACK", noDisconnectBeforeConnack),
  v5("MQTT-3.14.2-1", "The server's DISCONNECT Reason Codes are the spec's", disconnectCodes),
  v5("MQTT-3.14.2-2", "The server's DISCONNECT carries no Session Expiry Interval", noSessionExpiryOnDisconnect),
  v5("MQTT-3.15.1-1", "An AUTH with reserved flags closes the connection", authFlagsClose),
  v5("MQTT-3.14.4-1", "After its DISCONNECT the server sends no more packets", nothingSentAfterDisconnect),
  v5("MQTT-3.14.4-2", "After its DISCONNECT the server closes the connection", nothingAfterDisconnect),
  v5("MQTT-4.12.0-1", "An unsupported Authentication Method is refused and the connection closed", unsupportedAuthMethod),
  v5("MQTT-4.12.0-6", "Without an Authentication Method: no AUTH and no Authentication Method in CONNACK", noAuthWithoutMethod),
  v5("MQTT-4.13.1-1", "A protocol error (Topic Alias 0) closes the connection", protocolErrorCloses),
  v5("MQTT-4.13.2-1", "A DISCONNECT of 0x80 or more (session taken over) is followed by the close", closedAfterErrorCode),
  v311("MQTT-4.8.0-1", "A protocol violation (a CONNACK from the client) closes the connection", clientSendsConnack),
];
