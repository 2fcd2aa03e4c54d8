// Reads a QoS 0 PUBLISH whole in a buffer, for echo's fast path: its topic bytes, payload and the MQTT 5
// properties echo answers with. Anything it does not know returns undefined, and MQTT.js handles it.
import { INCOMPLETE, MALFORMED, readVariableByteInteger, type ReadCursor } from "./variable-byte-integer";
import type { WholePacket } from "./packet-framer";

export interface Qos0Publish {
  topic: Uint8Array;
  payload: Buffer;
  properties: { responseTopic?: string; correlationData?: Buffer; userProperties?: Record<string, string | string[]> };
}

const PUBLISH = 3;
const cursor: ReadCursor = { pos: 0 };

/** Whether a packet's first byte is a QoS 0 PUBLISH's. */
export function isQos0Publish(firstByte: number): boolean {
  return firstByte >> 4 === PUBLISH && ((firstByte >> 1) & 3) === 0;
}

/**
 * The PUBLISH at `packet` in `chunk` when it is QoS 0 and plain; undefined for another packet type, a
 * QoS above 0, a Topic Alias (its topic lives in the connection's state) or a property it does not know.
 */
export function decodeQos0Publish(chunk: Buffer, packet: WholePacket, protocolVersion: 4 | 5): Qos0Publish | undefined {
  if (!isQos0Publish(chunk[packet.start]!)) return undefined;
  let pos = packet.body;
  if (pos + 2 > packet.end) return undefined;
  const topicLength = (chunk[pos]! << 8) | chunk[pos + 1]!;
  pos += 2;
  if (topicLength === 0 || pos + topicLength > packet.end) return undefined;
  const topic = chunk.subarray(pos, pos + topicLength);
  pos += topicLength;
  const properties: Qos0Publish["properties"] = {};
  if (protocolVersion === 5) {
    const length = readVariableByteInteger(chunk, pos, packet.end, cursor);
    if (length === INCOMPLETE || length === MALFORMED || cursor.pos + length > packet.end) return undefined;
    const end = cursor.pos + length;
    pos = cursor.pos;
    while (pos < end) {
      const id = chunk[pos++]!;
      const next = readProperty(chunk, id, pos, end, properties);
      if (next === undefined) return undefined;
      pos = next;
    }
  }
  return { topic, payload: chunk.subarray(pos, packet.end), properties };
}

/** Reads one property's value at `pos`; returns the offset after it, or undefined to give up. */
function readProperty(chunk: Buffer, id: number, pos: number, end: number, into: Qos0Publish["properties"]): number | undefined {
  const binary = (at: number) => (at + 2 > end ? undefined : { start: at + 2, end: at + 2 + ((chunk[at]! << 8) | chunk[at + 1]!) });
  switch (id) {
    case 0x01: // Payload Format Indicator: not carried over, as on MQTT.js's path
      return pos + 1 <= end ? pos + 1 : undefined;
    case 0x02: // Message Expiry Interval: likewise
      return pos + 4 <= end ? pos + 4 : undefined;
    case 0x0b: {
      // Subscription Identifier
      const value = readVariableByteInteger(chunk, pos, end, cursor);
      return value < 0 ? undefined : cursor.pos;
    }
    case 0x03: // Content Type
    case 0x08: // Response Topic
    case 0x09: {
      // Correlation Data
      const field = binary(pos);
      if (!field || field.end > end) return undefined;
      if (id === 0x08) into.responseTopic = chunk.toString("utf8", field.start, field.end);
      if (id === 0x09) into.correlationData = Buffer.from(chunk.subarray(field.start, field.end));
      return field.end;
    }
    case 0x26: {
      // User Property: a name and a value
      const name = binary(pos);
      const value = name && name.end <= end ? binary(name.end) : undefined;
      if (!name || !value || value.end > end) return undefined;
      const key = chunk.toString("utf8", name.start, name.end);
      const text = chunk.toString("utf8", value.start, value.end);
      const user = (into.userProperties ??= {});
      const seen = user[key];
      user[key] = seen === undefined ? text : Array.isArray(seen) ? [...seen, text] : [seen, text];
      return value.end;
    }
    default: // Topic Alias (0x23) and anything else: MQTT.js's path
      return undefined;
  }
}
