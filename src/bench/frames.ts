/**
 * MQTT framing for the load generator, without allocation on the message path: finds where each
 * packet starts and ends in a chunk and reads a PUBLISH's fields in place. Everything else (CONNACK,
 * SUBACK, ...) is rare and goes to mqtt-packet's parser.
 */

import mqttPacket from "mqtt-packet";
import { MALFORMED, readVariableByteInteger, type ReadCursor } from "../core/variable-byte-integer";

/** Where the last variable byte integer read ended: one object for every read, no allocation per packet. */
const cursor: ReadCursor = { pos: 0 };

export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
} as const;

/** Where one packet lies in a buffer: [start, end), its body from bodyStart. */
export interface Frame {
  type: number;
  flags: number;
  start: number;
  bodyStart: number;
  end: number;
}

/**
 * Reads the frame at `offset` into `frame` (reused, so no allocation). Returns false when the
 * buffer holds only part of it. Throws on a malformed remaining length.
 */
export function readFrame(buf: Uint8Array, offset: number, frame: Frame): boolean {
  const length = buf.length;
  if (offset + 2 > length) return false;
  const first = buf[offset]!;
  const remaining = readVariableByteInteger(buf, offset + 1, length, cursor);
  if (remaining === MALFORMED) throw new Error("malformed remaining length");
  if (remaining < 0) return false;
  const pos = cursor.pos;
  if (pos + remaining > length) return false;
  frame.type = first >> 4;
  frame.flags = first & 0x0f;
  frame.start = offset;
  frame.bodyStart = pos;
  frame.end = pos + remaining;
  return true;
}

/** A PUBLISH read in place: the payload is buf[payloadStart, frame.end). */
export interface PublishView {
  qos: number;
  messageId: number;
  topicStart: number;
  topicEnd: number;
  payloadStart: number;
}

export function readPublish(buf: Uint8Array, frame: Frame, protocolVersion: 4 | 5, view: PublishView): void {
  const qos = (frame.flags >> 1) & 3;
  let pos = frame.bodyStart;
  const topicLength = (buf[pos]! << 8) | buf[pos + 1]!;
  view.topicStart = pos + 2;
  view.topicEnd = pos = pos + 2 + topicLength;
  view.qos = qos;
  view.messageId = 0;
  if (qos > 0) {
    view.messageId = (buf[pos]! << 8) | buf[pos + 1]!;
    pos += 2;
  }
  view.payloadStart = protocolVersion === 5 ? skipProperties(buf, pos) : pos;
}

/** MQTT 5 properties: a variable byte integer length, then that many bytes. Returns the offset after them. */
export function skipProperties(buf: Uint8Array, pos: number): number {
  const propertiesLength = readVariableByteInteger(buf, pos, buf.length, cursor);
  // Malformed or cut short: past the end, which every caller treats as no room.
  return propertiesLength < 0 ? buf.length + 1 : cursor.pos + propertiesLength;
}

/** PUBACK, PUBREC, PUBREL or PUBCOMP for a message id: 4 bytes, written into `out` at `offset`. */
export function writeAck(out: Uint8Array, offset: number, type: number, messageId: number): number {
  // PUBREL carries the reserved flags 0b0010.
  out[offset] = (type << 4) | (type === PacketType.pubrel ? 2 : 0);
  out[offset + 1] = 2;
  out[offset + 2] = messageId >> 8;
  out[offset + 3] = messageId & 0xff;
  return offset + 4;
}

/** The message id at a PUBACK/PUBREC/PUBREL/PUBCOMP body. */
export function ackMessageId(buf: Uint8Array, frame: Frame): number {
  return (buf[frame.bodyStart]! << 8) | buf[frame.bodyStart + 1]!;
}

/** Bytes after the identifier of each MQTT 5 property (spec §2.2.2.2); -1: a length-prefixed string or binary, -2: a string pair, -3: a variable byte integer. */
const PROPERTY_SIZE: Record<number, number> = {
  0x01: 1, 0x02: 4, 0x03: -1, 0x08: -1, 0x09: -1, 0x0b: -3, 0x11: 4, 0x12: -1, 0x13: 2, 0x15: -1,
  0x16: -1, 0x17: 1, 0x18: 4, 0x19: 1, 0x1a: -1, 0x1c: -1, 0x1f: -1, 0x21: 2, 0x22: 2, 0x23: 2,
  0x24: 1, 0x25: 1, 0x26: -2, 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1,
};
const RECEIVE_MAXIMUM = 0x21;

/**
 * The Receive Maximum of an MQTT 5 CONNACK (65535 when absent), read in place: a parser per
 * connection was a fifth of the generator's CPU when it opens thousands. `frame` is the CONNACK's.
 * Returns undefined when the properties are malformed.
 */
export function connackReceiveMaximum(buf: Uint8Array, frame: Frame): number | undefined {
  let pos = frame.bodyStart + 2; // acknowledge flags, reason code
  if (pos >= frame.end) return 65535; // no properties at all
  const end = skipProperties(buf, pos);
  if (end > frame.end) return undefined;
  readVariableByteInteger(buf, pos, end, cursor); // the properties' length
  pos = cursor.pos;
  while (pos < end) {
    const id = buf[pos++]!;
    const size = PROPERTY_SIZE[id];
    if (size === undefined) return undefined;
    if (id === RECEIVE_MAXIMUM) return pos + 2 <= end ? (buf[pos]! << 8) | buf[pos + 1]! : undefined;
    if (size > 0) pos += size;
    else if (size === -3) {
      if (readVariableByteInteger(buf, pos, end, cursor) < 0) return undefined;
      pos = cursor.pos;
    }
    else {
      const strings = size === -2 ? 2 : 1;
      for (let i = 0; i < strings; i++) pos += 2 + ((buf[pos]! << 8) | buf[pos + 1]!);
    }
  }
  return pos === end ? 65535 : undefined;
}

/** The CONNECT packet for these options (a clean session). */
export function encodeConnect(options: { clientId: string; username?: string; password?: string; keepaliveSec: number; protocolVersion: 4 | 5 }): Buffer {
  return mqttPacket.generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: options.protocolVersion,
    clientId: options.clientId,
    clean: true,
    keepalive: options.keepaliveSec,
    username: options.username,
    password: options.password === undefined ? undefined : Buffer.from(options.password),
  });
}

/** The Receive Maximum property of an MQTT 5 CONNACK (65535 when absent), by mqtt-packet's parser: for what frames.ts cannot read. */
export function parsedReceiveMaximum(bytes: Uint8Array): number {
  let receiveMaximum = 65535;
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on("packet", (packet) => {
    receiveMaximum = (packet as mqttPacket.IConnackPacket).properties?.receiveMaximum ?? 65535;
  });
  parser.on("error", () => {});
  parser.parse(Buffer.from(bytes));
  return receiveMaximum;
}
