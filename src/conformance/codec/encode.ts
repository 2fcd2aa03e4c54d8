/**
 * Client-to-server packets, built byte by byte so a check can also build wrong ones: every field can
 * be overridden, a string can be given as raw bytes (for ill-formed UTF-8), and `frame` wraps any body.
 */
import { encodeVariableByteInteger } from "../../core/variable-byte-integer";
import { encodeProperties, lengthPrefixed, type Property } from "./properties";
import { PacketType, type ProtocolLevel } from "./packet-types";

/** A string field: text (sent as UTF-8) or the exact bytes to send. */
export type Text = string | Buffer;

/** A whole packet: first byte (type and flags), Remaining Length, body. */
export function frame(firstByte: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.of(firstByte), encodeVariableByteInteger(payload.length), payload]);
}

export const u16 = (value: number): Buffer => {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
};

export const text = lengthPrefixed;

export interface WillFields {
  topic: Text;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  properties?: Property[];
}

export interface ConnectFields {
  clientId: Text;
  cleanStart?: boolean;
  keepAlive?: number;
  will?: WillFields;
  username?: Text;
  password?: Buffer | string;
  properties?: Property[];
  protocolName?: Text;
  /** Overrides the protocol level byte (4 or 5 from the connection otherwise). */
  protocolLevel?: number;
  /** Bits OR-ed into the Connect Flags after they are computed (e.g. 0x01, the reserved bit). */
  extraFlags?: number;
  /** Bits cleared from the computed Connect Flags. */
  clearFlags?: number;
}

export function connect(level: ProtocolLevel, fields: ConnectFields): Buffer {
  const { will } = fields;
  let flags = 0;
  if (fields.cleanStart ?? true) flags |= 0x02;
  if (will) flags |= 0x04 | ((will.qos ?? 0) << 3) | (will.retain ? 0x20 : 0);
  if (fields.password !== undefined) flags |= 0x40;
  if (fields.username !== undefined) flags |= 0x80;
  flags = (flags | (fields.extraFlags ?? 0)) & ~(fields.clearFlags ?? 0);
  const parts = [text(fields.protocolName ?? "MQTT"), Buffer.of(fields.protocolLevel ?? level, flags), u16(fields.keepAlive ?? 0)];
  if (level === 5) parts.push(encodeProperties(fields.properties ?? []));
  parts.push(text(fields.clientId));
  if (will) {
    if (level === 5) parts.push(encodeProperties(will.properties ?? []));
    parts.push(text(will.topic), lengthPrefixed(toBytes(will.payload ?? "")));
  }
  if (fields.username !== undefined) parts.push(text(fields.username));
  if (fields.password !== undefined) parts.push(lengthPrefixed(toBytes(fields.password)));
  return frame(PacketType.CONNECT << 4, ...parts);
}

export interface PublishFields {
  topic: Text;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  /** Required for QoS 1 and 2. */
  packetId?: number;
  properties?: Property[];
}

export function publish(level: ProtocolLevel, fields: PublishFields): Buffer {
  const qos = fields.qos ?? 0;
  const firstByte = (PacketType.PUBLISH << 4) | (fields.dup ? 0x08 : 0) | (qos << 1) | (fields.retain ? 0x01 : 0);
  const parts = [text(fields.topic)];
  if (qos > 0) parts.push(u16(fields.packetId ?? 1));
  if (level === 5) parts.push(encodeProperties(fields.properties ?? []));
  parts.push(toBytes(fields.payload ?? ""));
  return frame(firstByte, ...parts);
}

export interface Subscription {
  filter: Text;
  qos?: number;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: number;
  /** The whole options byte, when a check sends reserved bits. */
  options?: number;
}

export function subscribe(level: ProtocolLevel, packetId: number, subscriptions: Subscription[], properties: Property[] = [], firstByte = 0x82): Buffer {
  const parts = [u16(packetId)];
  if (level === 5) parts.push(encodeProperties(properties));
  for (const subscription of subscriptions) {
    const options =
      subscription.options ??
      ((subscription.qos ?? 0) | (subscription.noLocal ? 0x04 : 0) | (subscription.retainAsPublished ? 0x08 : 0) | ((subscription.retainHandling ?? 0) << 4));
    parts.push(text(subscription.filter), Buffer.of(options));
  }
  return frame(firstByte, ...parts);
}

export function unsubscribe(level: ProtocolLevel, packetId: number, filters: Text[], properties: Property[] = [], firstByte = 0xa2): Buffer {
  const parts = [u16(packetId)];
  if (level === 5) parts.push(encodeProperties(properties));
  for (const filter of filters) parts.push(text(filter));
  return frame(firstByte, ...parts);
}

/** PUBACK, PUBREC, PUBREL or PUBCOMP; MQTT 5 adds a Reason Code and properties when they are not the defaults. */
export function acknowledgement(level: ProtocolLevel, type: number, packetId: number, reasonCode = 0, properties: Property[] = []): Buffer {
  const firstByte = (type << 4) | (type === PacketType.PUBREL ? 0x02 : 0);
  if (level === 4 || (reasonCode === 0 && properties.length === 0)) return frame(firstByte, u16(packetId));
  return frame(firstByte, u16(packetId), Buffer.of(reasonCode), encodeProperties(properties));
}

export const pingreq = (): Buffer => frame(PacketType.PINGREQ << 4);

export function disconnect(level: ProtocolLevel, reasonCode = 0, properties: Property[] = []): Buffer {
  if (level === 4 || (reasonCode === 0 && properties.length === 0)) return frame(PacketType.DISCONNECT << 4);
  return frame(PacketType.DISCONNECT << 4, Buffer.of(reasonCode), encodeProperties(properties));
}

export function auth(reasonCode: number, properties: Property[] = []): Buffer {
  return frame(PacketType.AUTH << 4, Buffer.of(reasonCode), encodeProperties(properties));
}

function toBytes(value: Buffer | string): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}
