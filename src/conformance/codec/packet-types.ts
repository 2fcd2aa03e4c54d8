/** MQTT Control Packet types (§2.1.2), the same in 3.1.1 and 5. */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;

export type PacketName = keyof typeof PacketType;

export const PACKET_NAMES: readonly string[] = ["reserved(0)", ...Object.keys(PacketType)];

/** 4 is MQTT 3.1.1's protocol level, 5 is MQTT 5's. */
export type ProtocolLevel = 4 | 5;
