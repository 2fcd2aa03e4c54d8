/**
 * QoS 0 PUBLISH packets to one topic with fixed properties, encoded as mqtt-packet would encode them.
 * The topic and properties are encoded once; each packet only adds its fixed header and payload, in one
 * buffer. MQTT.js rebuilds both for every message and writes them to the socket field by field.
 */

import { encodeVariableByteInteger, variableByteIntegerLength, writeVariableByteInteger } from "./variable-byte-integer";

export interface FrameProperties {
  /** MQTT 5 Response Topic (0x08). */
  responseTopic?: string;
  /** MQTT 5 Correlation Data (0x09). */
  correlationData?: Buffer;
}

const PUBLISH_QOS0 = 0x30;
const RESPONSE_TOPIC = 0x08;
const CORRELATION_DATA = 0x09;
/** The largest Remaining Length a packet can have [MQTT-1.5.5]. */
const MAX_REMAINING_LENGTH = 268_435_455;

export class Qos0PublishFrames {
  /** Topic Name and, under MQTT 5, the properties: the same bytes in every packet. */
  private readonly variableHeader: Buffer;

  constructor(topic: string, protocolVersion: 4 | 5, properties: FrameProperties = {}) {
    const parts = [lengthPrefixed(Buffer.from(topic, "utf8"))];
    if (protocolVersion === 5) {
      // In the order mqtt-packet writes them (its object's key order: responseTopic, correlationData).
      const encoded: Buffer[] = [];
      if (properties.responseTopic !== undefined) encoded.push(Buffer.of(RESPONSE_TOPIC), lengthPrefixed(Buffer.from(properties.responseTopic, "utf8")));
      if (properties.correlationData !== undefined) encoded.push(Buffer.of(CORRELATION_DATA), lengthPrefixed(properties.correlationData));
      const body = Buffer.concat(encoded);
      parts.push(encodeVariableByteInteger(body.length), body);
    }
    this.variableHeader = Buffer.concat(parts);
  }

  /** The whole packet's size for a payload of this many bytes; Infinity when over the protocol's limit. */
  packetLength(payloadLength: number): number {
    const remainingLength = this.variableHeader.length + payloadLength;
    if (remainingLength > MAX_REMAINING_LENGTH) return Infinity;
    return 1 + variableByteIntegerLength(remainingLength) + remainingLength;
  }

  /** One whole PUBLISH packet carrying `payload`. */
  encode(payload: Uint8Array): Buffer {
    const remainingLength = this.variableHeader.length + payload.length;
    if (remainingLength > MAX_REMAINING_LENGTH) throw new RangeError(`PUBLISH of ${remainingLength} bytes is over the protocol's limit`);
    const packet = Buffer.allocUnsafe(1 + variableByteIntegerLength(remainingLength) + remainingLength);
    packet[0] = PUBLISH_QOS0;
    let offset = writeVariableByteInteger(packet, 1, remainingLength);
    offset += this.variableHeader.copy(packet, offset);
    packet.set(payload, offset);
    return packet;
  }
}

function lengthPrefixed(bytes: Buffer): Buffer {
  if (bytes.length > 0xffff) throw new RangeError(`${bytes.length} bytes do not fit a two-byte length`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}
