// Closes connections that break the MQTT rules aedes lets through, and tells MQTT 5 clients why.
import { isUtf8 } from "node:buffer";
import type { Client } from "aedes";
import { type AedesClient, clientInternals } from "./aedes-internals";
import mqttPacket from "mqtt-packet";
import type { DrainState } from "./drain";
import { ConnackReturnCode, ReasonCode } from "../core/reason-codes";
import { connectProblem, type ConnectFields, type PacketProblem, propertiesProblem, subscribeProblem } from "../core/packet-rules";


/** aedes's client, with the guard's state on its mqtt-packet parser. */
type GuardedClient = AedesClient & { _parser: GuardedParser };

interface ParserInternals extends NodeJS.EventEmitter {
  _pos: number;
  _list: { slice(start: number, end: number): Buffer };
  _parseString(): string | null;
  /** Set by the string check below while a packet is parsed. */
  badString?: string;
}

/** The guard's state of one connection, kept on its parser (no closures per connection). */
interface GuardedParser extends ParserInternals {
  client: GuardedClient;
  guardEnqueue?: (this: unknown, packet: PacketLike) => void;
  guardParseError?: (this: unknown, error: Error) => void;
  guardDrain?: DrainState;
  /** A violation was found: nothing after it is acted on. */
  guardRejected?: boolean;
}

type PacketLike = {
  cmd: string;
  /** The Remaining Length. */
  length: number;
  topic?: string;
  qos?: number;
  messageId?: number;
  properties?: { topicAlias?: number };
  subscriptions?: Array<{ topic: string; nl?: boolean }>;
  unsubscriptions?: unknown[];
} & Partial<ConnectFields>;

/** Parser classes whose string reader already checks the raw bytes. */
const checkedParsers = new WeakSet<object>();

/**
 * Wraps one aedes client's packet intake. Checks: UTF-8 strings well formed and free of U+0000
 * [MQTT-1.5.4-1/2], no second CONNECT [MQTT-3.1.0-2], a valid PUBLISH topic name [MQTT-3.3.2-2],
 * non-zero packet identifiers [MQTT-2.2.1-3], a topic filter in SUBSCRIBE and UNSUBSCRIBE
 * [MQTT-3.8.3-2]. A connected MQTT 5 client then gets a DISCONNECT with the reason code the spec
 * names before the connection closes, also for the parse errors aedes itself finds (0x81).
 * The listeners are shared functions and the state lives on the parser: an idle connection pays
 * a few fields, not a set of closures.
 */
export function guardProtocol(aedesClient: Client, drainState?: DrainState): void {
  const client = clientInternals(aedesClient) as GuardedClient;
  const parser = client._parser;
  checkStrings(parser);
  parser.guardDrain = drainState;
  parser.guardRejected = false;

  const [enqueue] = parser.listeners("packet") as Array<(this: unknown, packet: PacketLike) => void>;
  if (!enqueue) return;
  parser.removeListener("packet", enqueue);
  parser.guardEnqueue = enqueue;
  parser.on("packet", checkedEnqueue);

  // A parse error in the bytes right after CONNECT arrives before CONNACK is out: hold it until then,
  // so an MQTT 5 client learns why (0x81) instead of seeing the connection just drop.
  const [emitParseError] = parser.listeners("error") as Array<(this: unknown, error: Error) => void>;
  if (emitParseError) {
    parser.removeListener("error", emitParseError);
    parser.guardParseError = emitParseError;
    parser.on("error", heldParseError);
  }

  // Errors aedes finds itself (parser errors, a wildcard topic): say why before its error handler closes.
  client.prependListener("error", sayWhy);
}

/** Checks the raw bytes of strings the parser decodes, once per parser class (its prototype). */
function checkStrings(parser: ParserInternals): void {
  const proto = Object.getPrototypeOf(parser) as ParserInternals;
  if (checkedParsers.has(proto)) return;
  checkedParsers.add(proto);
  const parseString = proto._parseString;
  proto._parseString = function checkedParseString(this: ParserInternals) {
    const start = this._pos;
    const text = parseString.call(this);
    // Decoding turns ill-formed UTF-8 into U+FFFD; only then are the raw bytes worth a look.
    if (text !== null && (text.includes("\uFFFD") || text.includes("\0"))) {
      const raw = this._list.slice(start + 2, this._pos);
      if (raw.includes(0)) this.badString = "U+0000 in a UTF-8 string";
      else if (!isUtf8(raw)) this.badString = "ill-formed UTF-8 string";
    }
    return text;
  };
}

function checkedEnqueue(this: GuardedParser, packet: PacketLike): void {
  if (this.guardRejected) return; // nothing after a violation is acted on
  // Draining for shutdown: accept no new messages; unacknowledged, a QoS 1/2 one stays with its sender.
  if (this.guardDrain?.draining && packet.cmd === "publish") return;
  const client = this.client;
  const problem = violation(client, packet, this);
  if (problem) {
    this.guardRejected = true;
    reject(client, problem.reasonCode, problem.message);
    return;
  }
  this.guardEnqueue!.call(this, packet);
}

/** CONNACK, Session Present 0, return code 0x01 (unacceptable protocol version), in 3.1.1's form. */
const UNACCEPTABLE_PROTOCOL_VERSION = Uint8Array.from([0x20, 0x02, 0x00, ConnackReturnCode.unacceptableProtocolVersion]);

function heldParseError(this: GuardedParser, error: Error): void {
  if (this.guardRejected) return;
  this.guardRejected = true;
  const client = this.client;
  const emitParseError = this.guardParseError!;
  // 3.1.1 answers a protocol level it does not speak with CONNACK 0x01 before closing [MQTT-3.1.2-2]
  // (5.0 allows it); the client's own version is unknown, so in 3.1.1's form, as mosquitto does.
  if (error.message === "Invalid protocol version" && !client.connecting && !client.connected && !client.conn.destroyed) {
    client.conn.write(UNACCEPTABLE_PROTOCOL_VERSION);
  }
  if (client.connecting && !client.connected) client.once("connected", () => emitParseError.call(this, error));
  else emitParseError.call(this, error);
}

function sayWhy(this: GuardedClient, error: Error): void {
  sendDisconnect(this, reasonCodeFor(error));
}

function violation(client: GuardedClient, packet: PacketLike, parser: ParserInternals): PacketProblem | undefined {
  if (parser.badString) return { reasonCode: ReasonCode.malformedPacket, message: parser.badString };
  if (packet.cmd === "connect") {
    if (client.connected || client.connecting) return { reasonCode: ReasonCode.protocolError, message: "second CONNECT" };
    // When the parser emits a packet, its position is how many bytes of the payload it read.
    return connectProblem(packet as PacketLike & ConnectFields, parser._pos, packet.length);
  }
  const propertyProblem = propertiesProblem(packet.cmd, packet.properties);
  if (propertyProblem) return propertyProblem;
  if (packet.cmd === "subscribe" && packet.subscriptions) {
    const problem = subscribeProblem(packet.subscriptions);
    if (problem) return problem;
  }
  if (packet.messageId === 0 && (packet.cmd !== "publish" || (packet.qos ?? 0) > 0)) {
    return { reasonCode: ReasonCode.protocolError, message: `${packet.cmd} with packet identifier 0` };
  }
  // [MQTT-3.8.3-2], [MQTT-3.10.3-2]: at least one topic filter.
  if ((packet.cmd === "subscribe" && !packet.subscriptions?.length) || (packet.cmd === "unsubscribe" && !packet.unsubscriptions?.length)) {
    return { reasonCode: ReasonCode.protocolError, message: `${packet.cmd} without a topic filter` };
  }
  if (packet.cmd === "publish" && typeof packet.topic === "string") {
    if (packet.topic.length === 0 && packet.properties?.topicAlias === undefined) {
      return { reasonCode: ReasonCode.protocolError, message: "PUBLISH with an empty topic name" };
    }
    if (/[+#]/.test(packet.topic)) return { reasonCode: ReasonCode.topicNameInvalid, message: `wildcard in PUBLISH topic "${packet.topic}"` };
  }
  return undefined;
}

/** Parser errors mean a malformed packet; aedes's own checks name the topic rules. */
function reasonCodeFor(error: Error): number {
  if (/is not allowed in PUBLISH/.test(error.message)) return ReasonCode.topicNameInvalid;
  if (/empty topic|Invalid protocol/.test(error.message)) return ReasonCode.protocolError;
  return ReasonCode.malformedPacket;
}

function reject(client: GuardedClient, reasonCode: number, message: string): void {
  const close = () => {
    sendDisconnect(client, reasonCode);
    client.emit("error", new Error(`protocol violation: ${message}`));
  };
  // Packets that follow CONNECT in the same read arrive before CONNACK is out; say why after it.
  if (client.connecting && !client.connected) client.once("connected", close);
  else close();
}

const sent = new WeakSet<GuardedClient>();

/** Writes DISCONNECT synchronously, so it is in the socket before aedes destroys it. */
function sendDisconnect(client: GuardedClient, reasonCode: number): void {
  if (client.version !== 5 || !client.connected || client.closed || client.errored || sent.has(client)) return;
  if (client.conn.destroyed) return;
  sent.add(client);
  // One buffer in one write: writeToStream corks until the next tick, after aedes has destroyed the socket.
  client.conn.write(mqttPacket.generate({ cmd: "disconnect", reasonCode } as mqttPacket.IDisconnectPacket, { protocolVersion: 5 }));
}
