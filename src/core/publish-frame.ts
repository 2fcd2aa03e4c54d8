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
  /** MQTT 5 User Properties (0x26), the same in every packet. */
  userProperties?: Array<[string, string]>;
}

const PUBLISH_QOS0 = 0x30;
const RESPONSE_TOPIC = 0x08;
const CORRELATION_DATA = 0x09;
const USER_PROPERTY = 0x26;
/** The largest Remaining Length a packet can have [MQTT-1.5.5]. */
const MAX_REMAINING_LENGTH = 268_435_455;

export class Qos0PublishFrames {
  /** Topic Name and, under MQTT 5, the properties: the same bytes in every packet. */
  private readonly variableHeader: Buffer;
  private readonly topicName: Buffer;
  /** The properties without their length (MQTT 5), for packets that add one. */
  private readonly propertiesBody: Buffer | undefined;

  constructor(topic: string, protocolVersion: 4 | 5, properties: FrameProperties = {}) {
    this.topicName = lengthPrefixed(Buffer.from(topic, "utf8"));
    const parts = [this.topicName];
    if (protocolVersion === 5) {
      // In the order mqtt-packet writes them (its object's key order: responseTopic, correlationData, userProperties).
      const encoded: Buffer[] = [];
      if (properties.responseTopic !== undefined) encoded.push(Buffer.of(RESPONSE_TOPIC), lengthPrefixed(Buffer.from(properties.responseTopic, "utf8")));
      if (properties.correlationData !== undefined) encoded.push(Buffer.of(CORRELATION_DATA), lengthPrefixed(properties.correlationData));
      for (const [name, value] of properties.userProperties ?? []) encoded.push(userProperty(name, value));
      this.propertiesBody = Buffer.concat(encoded);
      parts.push(encodeVariableByteInteger(this.propertiesBody.length), this.propertiesBody);
    }
    this.variableHeader = Buffer.concat(parts);
  }

  /**
   * One PUBLISH carrying `payload` and, under MQTT 5, one more User Property after the fixed ones
   * (a value that changes with each packet); under 3.1.1 the same as encode().
   */
  encodeWithUserProperty(payload: Uint8Array, name: string, value: string): Buffer {
    if (this.propertiesBody === undefined) return this.encode(payload);
    const body = Buffer.concat([this.propertiesBody, userProperty(name, value)]);
    return publishPacket(Buffer.concat([this.topicName, encodeVariableByteInteger(body.length), body]), payload);
  }

  /** The whole packet's size for a payload of this many bytes; Infinity when over the protocol's limit. */
  packetLength(payloadLength: number): number {
    const remainingLength = this.variableHeader.length + payloadLength;
    if (remainingLength > MAX_REMAINING_LENGTH) return Infinity;
    return 1 + variableByteIntegerLength(remainingLength) + remainingLength;
  }

  /** One whole PUBLISH packet carrying `payload`. */
  encode(payload: Uint8Array): Buffer {
    return publishPacket(this.variableHeader, payload);
  }
}

function publishPacket(variableHeader: Buffer, payload: Uint8Array): Buffer {
  const remainingLength = variableHeader.length + payload.length;
  if (remainingLength > MAX_REMAINING_LENGTH) throw new RangeError(`PUBLISH of ${remainingLength} bytes is over the protocol's limit`);
  const packet = Buffer.allocUnsafe(1 + variableByteIntegerLength(remainingLength) + remainingLength);
  packet[0] = PUBLISH_QOS0;
  let offset = writeVariableByteInteger(packet, 1, remainingLength);
  offset += variableHeader.copy(packet, offset);
  packet.set(payload, offset);
  return packet;
}

function userProperty(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.of(USER_PROPERTY), lengthPrefixed(Buffer.from(name, "utf8")), lengthPrefixed(Buffer.from(value, "utf8"))]);
}

function lengthPrefixed(bytes: Buffer): Buffer {
  if (bytes.length > 0xffff) throw new RangeError(`${bytes.length} bytes do not fit a two-byte length`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}
