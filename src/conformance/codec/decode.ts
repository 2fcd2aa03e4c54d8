/**
 * Server-to-client packets, decoded from a byte stream. Nothing is hidden: each packet keeps its bytes,
 * whether its Remaining Length was minimal, and the problems found in it (misplaced properties,
 * reserved bits, ill-formed UTF-8), so a check can judge what the server sent.
 */
import { isUtf8 } from "node:buffer";
import { decodeProperties, MalformedPacket, misplacedProperty, readLengthPrefixed, readVbi, repeatedProperty, type Property } from "./properties";
import { PACKET_NAMES, PacketType, type ProtocolLevel } from "./packet-types";

export interface Packet {
  type: number;
  /** CONNACK, PUBLISH, ... */
  name: string;
  /** The low four bits of the first byte. */
  flags: number;
  /** The whole packet as received. */
  bytes: Buffer;
  remainingLengthMinimal: boolean;
  /** What is wrong with the packet, by the spec; empty when nothing is. */
  problems: string[];
  properties: Property[];
  packetId?: number;
  /** CONNACK's return code (3.1.1) or any MQTT 5 Reason Code. */
  reasonCode?: number;
  /** SUBACK and UNSUBACK: one code per filter. */
  reasonCodes?: number[];
  sessionPresent?: boolean;
  /** CONNACK's Connect Acknowledge Flags byte. */
  acknowledgeFlags?: number;
  topic?: string;
  topicBytes?: Buffer;
  payload?: Buffer;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
}

const EXPECTED_FLAGS: Record<number, number> = { [PacketType.PUBREL]: 0x02 };

/** Splits a byte stream into packets; throws MalformedPacket when the framing itself is broken. */
export class PacketReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly level: ProtocolLevel) {}

  push(chunk: Buffer): Packet[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const packets: Packet[] = [];
    for (;;) {
      if (this.pending.length < 2) break;
      const length = readVbi(this.pending, 1);
      if (!length) break;
      const total = 1 + length.length + length.value;
      if (this.pending.length < total) break;
      const bytes = this.pending.subarray(0, total);
      this.pending = this.pending.subarray(total);
      packets.push(decodePacket(bytes, 1 + length.length, length.minimal, this.level));
    }
    return packets;
  }
}

export function decodePacket(bytes: Buffer, bodyOffset: number, remainingLengthMinimal: boolean, level: ProtocolLevel): Packet {
  const type = bytes[0]! >> 4;
  const flags = bytes[0]! & 0x0f;
  const packet: Packet = { type, name: PACKET_NAMES[type] ?? String(type), flags, bytes, remainingLengthMinimal, problems: [], properties: [] };
  if (!remainingLengthMinimal) packet.problems.push("Remaining Length not in its minimal encoding");
  if (type !== PacketType.PUBLISH && flags !== (EXPECTED_FLAGS[type] ?? 0)) packet.problems.push(`reserved flags 0x${flags.toString(16)} in ${packet.name}`);
  try {
    decodeBody(packet, bytes.subarray(bodyOffset), level);
  } catch (error) {
    if (!(error instanceof MalformedPacket)) throw error;
    packet.problems.push(error.message);
  }
  if (level === 5) {
    const misplaced = misplacedProperty(type, packet.properties) ?? repeatedProperty(type, packet.properties);
    if (misplaced) packet.problems.push(misplaced);
  }
  return packet;
}

function decodeBody(packet: Packet, body: Buffer, level: ProtocolLevel): void {
  const end = body.length;
  const properties = (offset: number): number => {
    const decoded = decodeProperties(body, offset);
    packet.properties = decoded.properties;
    return decoded.offset;
  };
  const packetId = (offset: number): number => {
    if (offset + 2 > end) throw new MalformedPacket(`${packet.name} ends before its Packet Identifier`);
    packet.packetId = body.readUInt16BE(offset);
    return offset + 2;
  };
  switch (packet.type) {
    case PacketType.CONNACK: {
      if (end < 2) throw new MalformedPacket("CONNACK shorter than 2 bytes");
      packet.acknowledgeFlags = body[0]!;
      packet.sessionPresent = (body[0]! & 0x01) === 1;
      packet.reasonCode = body[1]!;
      if (level === 5 && end > 2) properties(2);
      if (level === 4 && end !== 2) throw new MalformedPacket("MQTT 3.1.1 CONNACK longer than 2 bytes");
      return;
    }
    case PacketType.PUBLISH: {
      packet.qos = (packet.flags >> 1) & 0x03;
      packet.dup = (packet.flags & 0x08) !== 0;
      packet.retain = (packet.flags & 0x01) !== 0;
      if (packet.qos === 3) throw new MalformedPacket("PUBLISH with both QoS bits set");
      const topic = readLengthPrefixed(body, 0, end);
      packet.topicBytes = topic.bytes;
      packet.topic = topic.bytes.toString("utf8");
      checkUtf8(topic.bytes, "Topic Name");
      let offset = topic.offset;
      if (packet.qos > 0) offset = packetId(offset);
      if (level === 5) offset = properties(offset);
      packet.payload = body.subarray(offset);
      return;
    }
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
    case PacketType.UNSUBACK:
    case PacketType.SUBACK: {
      let offset = packetId(0);
      const listsCodes = packet.type === PacketType.SUBACK || (packet.type === PacketType.UNSUBACK && level === 5);
      if (listsCodes) {
        if (level === 5) offset = properties(offset);
        packet.reasonCodes = [...body.subarray(offset)];
        return;
      }
      if (level === 4 || end === 2) {
        if (end !== 2) throw new MalformedPacket(`${packet.name} longer than its Packet Identifier`);
        packet.reasonCode = 0;
        return;
      }
      packet.reasonCode = body[offset]!;
      if (end > 3) properties(3);
      return;
    }
    case PacketType.DISCONNECT:
    case PacketType.AUTH: {
      packet.reasonCode = end > 0 ? body[0]! : 0;
      if (end > 1) properties(1);
      return;
    }
    case PacketType.PINGRESP:
      if (end !== 0) throw new MalformedPacket("PINGRESP with a body");
      return;
    default:
      throw new MalformedPacket(`a server must not send packet type ${packet.type}`);
  }
}

function checkUtf8(bytes: Buffer, what: string): void {
  if (!isUtf8(bytes)) throw new MalformedPacket(`${what} is not well-formed UTF-8`);
  if (bytes.includes(0)) throw new MalformedPacket(`${what} contains U+0000`);
}

/** The value of the first property with this identifier. */
export function propertyOf(packet: Packet, id: number): Property["value"] | undefined {
  return packet.properties.find((property) => property.id === id)?.value;
}

/** Every value of a property that may repeat (User Property, Subscription Identifier). */
export function propertiesOf(packet: Packet, id: number): Property["value"][] {
  return packet.properties.filter((property) => property.id === id).map((property) => property.value);
}
