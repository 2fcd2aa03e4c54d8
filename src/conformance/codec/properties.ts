/** MQTT 5 properties (§2.2.2): identifiers, their data types, the packets each may appear in. No I/O. */
import { encodeVariableByteInteger, INCOMPLETE, MALFORMED, readVariableByteInteger, variableByteIntegerLength } from "../../core/variable-byte-integer";
import { PacketType } from "./packet-types";

export type PropertyValue = number | string | Buffer | readonly [string, string];
export interface Property {
  id: number;
  value: PropertyValue;
}

type DataType = "byte" | "u16" | "u32" | "vbi" | "string" | "binary" | "pair";
/** Packets a property may appear in; WILL stands for the Will Properties of a CONNECT. */
export const WILL = 0;

const { CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH } = PacketType;
const ACKS = [PUBACK, PUBREC, PUBREL, PUBCOMP];

export const Prop = {
  payloadFormatIndicator: 0x01,
  messageExpiryInterval: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionIdentifier: 0x0b,
  sessionExpiryInterval: 0x11,
  assignedClientIdentifier: 0x12,
  serverKeepAlive: 0x13,
  authenticationMethod: 0x15,
  authenticationData: 0x16,
  requestProblemInformation: 0x17,
  willDelayInterval: 0x18,
  requestResponseInformation: 0x19,
  responseInformation: 0x1a,
  serverReference: 0x1c,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumQos: 0x24,
  retainAvailable: 0x25,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
  wildcardSubscriptionAvailable: 0x28,
  subscriptionIdentifierAvailable: 0x29,
  sharedSubscriptionAvailable: 0x2a,
} as const;

const DEFINITIONS: Record<number, { type: DataType; packets: number[] }> = {
  [Prop.payloadFormatIndicator]: { type: "byte", packets: [PUBLISH, WILL] },
  [Prop.messageExpiryInterval]: { type: "u32", packets: [PUBLISH, WILL] },
  [Prop.contentType]: { type: "string", packets: [PUBLISH, WILL] },
  [Prop.responseTopic]: { type: "string", packets: [PUBLISH, WILL] },
  [Prop.correlationData]: { type: "binary", packets: [PUBLISH, WILL] },
  [Prop.subscriptionIdentifier]: { type: "vbi", packets: [PUBLISH, SUBSCRIBE] },
  [Prop.sessionExpiryInterval]: { type: "u32", packets: [CONNECT, CONNACK, DISCONNECT] },
  [Prop.assignedClientIdentifier]: { type: "string", packets: [CONNACK] },
  [Prop.serverKeepAlive]: { type: "u16", packets: [CONNACK] },
  [Prop.authenticationMethod]: { type: "string", packets: [CONNECT, CONNACK, AUTH] },
  [Prop.authenticationData]: { type: "binary", packets: [CONNECT, CONNACK, AUTH] },
  [Prop.requestProblemInformation]: { type: "byte", packets: [CONNECT] },
  [Prop.willDelayInterval]: { type: "u32", packets: [WILL] },
  [Prop.requestResponseInformation]: { type: "byte", packets: [CONNECT] },
  [Prop.responseInformation]: { type: "string", packets: [CONNACK] },
  [Prop.serverReference]: { type: "string", packets: [CONNACK, DISCONNECT] },
  [Prop.reasonString]: { type: "string", packets: [CONNACK, ...ACKS, SUBACK, UNSUBACK, DISCONNECT, AUTH] },
  [Prop.receiveMaximum]: { type: "u16", packets: [CONNECT, CONNACK] },
  [Prop.topicAliasMaximum]: { type: "u16", packets: [CONNECT, CONNACK] },
  [Prop.topicAlias]: { type: "u16", packets: [PUBLISH] },
  [Prop.maximumQos]: { type: "byte", packets: [CONNACK] },
  [Prop.retainAvailable]: { type: "byte", packets: [CONNACK] },
  [Prop.userProperty]: { type: "pair", packets: [CONNECT, CONNACK, PUBLISH, WILL, ...ACKS, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH] },
  [Prop.maximumPacketSize]: { type: "u32", packets: [CONNECT, CONNACK] },
  [Prop.wildcardSubscriptionAvailable]: { type: "byte", packets: [CONNACK] },
  [Prop.subscriptionIdentifierAvailable]: { type: "byte", packets: [CONNACK] },
  [Prop.sharedSubscriptionAvailable]: { type: "byte", packets: [CONNACK] },
};

/** A property list as it goes on the wire: its Variable Byte Integer length, then each property. */
export function encodeProperties(properties: readonly Property[]): Buffer {
  const body = Buffer.concat(properties.map(encodeProperty));
  return Buffer.concat([encodeVariableByteInteger(body.length), body]);
}

function encodeProperty({ id, value }: Property): Buffer {
  const definition = DEFINITIONS[id];
  // An unknown identifier is sent as a byte value, for checks that send one on purpose.
  const type = definition?.type ?? "byte";
  const head = encodeVariableByteInteger(id);
  return Buffer.concat([head, encodeValue(type, value)]);
}

function encodeValue(type: DataType, value: PropertyValue): Buffer {
  switch (type) {
    case "byte":
      return Buffer.of(Number(value));
    case "u16": {
      const out = Buffer.alloc(2);
      out.writeUInt16BE(Number(value));
      return out;
    }
    case "u32": {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(Number(value));
      return out;
    }
    case "vbi":
      return encodeVariableByteInteger(Number(value));
    case "string":
    case "binary":
      return lengthPrefixed(value as string | Buffer);
    case "pair": {
      const [key, text] = value as readonly [string, string];
      return Buffer.concat([lengthPrefixed(key), lengthPrefixed(text)]);
    }
  }
}

/** Two-byte length then the bytes; a string is UTF-8 encoded, a Buffer is sent as it is. */
export function lengthPrefixed(value: string | Buffer): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const out = Buffer.alloc(2 + bytes.length);
  out.writeUInt16BE(bytes.length);
  bytes.copy(out, 2);
  return out;
}

export class MalformedPacket extends Error {}

/**
 * The Variable Byte Integer at `offset`, before `end`: its value, its length, and whether it used the
 * fewest bytes [MQTT-1.5.5-1]. Undefined when the bytes end first; throws when a fifth byte is needed.
 */
export function readVbi(bytes: Uint8Array, offset: number, end = bytes.length): { value: number; length: number; minimal: boolean } | undefined {
  const cursor = { pos: offset };
  const value = readVariableByteInteger(bytes, offset, end, cursor);
  if (value === INCOMPLETE) return undefined;
  if (value === MALFORMED) throw new MalformedPacket("a Variable Byte Integer longer than four bytes");
  const length = cursor.pos - offset;
  return { value, length, minimal: length === variableByteIntegerLength(value) };
}

/** Reads a property list at `offset` (its length first); returns the properties and the offset after. */
export function decodeProperties(bytes: Buffer, offset: number): { properties: Property[]; offset: number } {
  const length = readVbi(bytes, offset);
  if (!length) throw new MalformedPacket("property length runs past the packet");
  let position = offset + length.length;
  const end = position + length.value;
  if (end > bytes.length) throw new MalformedPacket("properties run past the packet");
  const properties: Property[] = [];
  while (position < end) {
    const id = readVbi(bytes, position);
    if (!id) throw new MalformedPacket("property identifier runs past the packet");
    position += id.length;
    const definition = DEFINITIONS[id.value];
    if (!definition) throw new MalformedPacket(`unknown property identifier 0x${id.value.toString(16)}`);
    const read = readValue(definition.type, bytes, position, end);
    properties.push({ id: id.value, value: read.value });
    position = read.offset;
  }
  return { properties, offset: end };
}

function readValue(type: DataType, bytes: Buffer, offset: number, end: number): { value: PropertyValue; offset: number } {
  const need = (count: number) => {
    if (offset + count > end) throw new MalformedPacket("a property value runs past the properties");
  };
  switch (type) {
    case "byte":
      need(1);
      return { value: bytes[offset]!, offset: offset + 1 };
    case "u16":
      need(2);
      return { value: bytes.readUInt16BE(offset), offset: offset + 2 };
    case "u32":
      need(4);
      return { value: bytes.readUInt32BE(offset), offset: offset + 4 };
    case "vbi": {
      const decoded = readVbi(bytes, offset, end);
      if (!decoded) throw new MalformedPacket("a property value runs past the properties");
      return { value: decoded.value, offset: offset + decoded.length };
    }
    case "string":
    case "binary": {
      const read = readLengthPrefixed(bytes, offset, end);
      return { value: type === "string" ? read.bytes.toString("utf8") : read.bytes, offset: read.offset };
    }
    case "pair": {
      const key = readLengthPrefixed(bytes, offset, end);
      const text = readLengthPrefixed(bytes, key.offset, end);
      return { value: [key.bytes.toString("utf8"), text.bytes.toString("utf8")], offset: text.offset };
    }
  }
}

export function readLengthPrefixed(bytes: Buffer, offset: number, end: number): { bytes: Buffer; offset: number } {
  if (offset + 2 > end) throw new MalformedPacket("a length runs past the packet");
  const length = bytes.readUInt16BE(offset);
  if (offset + 2 + length > end) throw new MalformedPacket("a string runs past the packet");
  return { bytes: bytes.subarray(offset + 2, offset + 2 + length), offset: offset + 2 + length };
}

/** Why these properties may not appear in this packet type, or undefined when they all may [MQTT-2.2.2-2]. */
export function misplacedProperty(packetType: number, properties: readonly Property[]): string | undefined {
  for (const { id } of properties) {
    const definition = DEFINITIONS[id];
    if (!definition?.packets.includes(packetType)) return `property 0x${id.toString(16).padStart(2, "0")} is not valid in packet type ${packetType}`;
  }
  return undefined;
}

/** Properties that may appear at most once (all but User Property and, in PUBLISH, Subscription Identifier). */
export function repeatedProperty(packetType: number, properties: readonly Property[]): string | undefined {
  const seen = new Set<number>();
  for (const { id } of properties) {
    const repeatable = id === Prop.userProperty || (id === Prop.subscriptionIdentifier && packetType === PacketType.PUBLISH);
    if (seen.has(id) && !repeatable) return `property 0x${id.toString(16).padStart(2, "0")} appears more than once`;
    seen.add(id);
  }
  return undefined;
}
