// Seeded generator of malformed MQTT: pure, so a failing input is reproduced from (seed, index) alone.
import mqttPacket, { type Packet } from "mqtt-packet";
import { identityShapedPackets } from "./identity-inputs";
import { encodeVariableByteInteger } from "../../../src/core/variable-byte-integer";
import { ReasonCode } from "../../../src/core/reason-codes";


export const FUZZ_KINDS = [
  "random-bytes",
  "truncated",
  "huge-remaining-length",
  "malformed-remaining-length",
  "invalid-utf8-topic",
  "nul-in-topic",
  "wildcard-in-publish-topic",
  "empty-publish-topic",
  "reserved-bits",
  "qos-3",
  "packet-id-0",
  "packet-before-connect",
  "second-connect",
  "unknown-packet-type",
  "bad-protocol-version",
  "connect-reserved-flag",
  "empty-subscribe",
  "mutated-valid",
  "acl-shaped-identity",
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

export interface FuzzCase {
  index: number;
  kind: FuzzKind;
  /** Protocol level of the CONNECT that opens the case (none: the case sends garbage first). */
  version?: 4 | 5;
  /** Written in order, each chunk on its own. */
  chunks: Buffer[];
  /**
   * "close": the specification says the broker must close the connection by itself.
   * "any": the broker may wait for more bytes or accept it; the fuzzer half-closes and the broker
   * must then close its side too.
   */
  expect: "close" | "any";
  /** With expect "close" on an MQTT 5 connection: the reason code the 5.0 spec asks the broker to send. */
  reasonCode?: number;
  /** Which of reasonCode's packets carries it: CONNACK for errors in CONNECT, DISCONNECT otherwise. */
  reasonIn?: "connack" | "disconnect";
}

/** mulberry32: a small, fast PRNG; good enough to pick bytes and shapes. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** One seed per (seed, index), so any single case can be regenerated without the ones before it. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function generateCase(seed: number, index: number): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const kind = rng.pick(FUZZ_KINDS);
  return { index, kind, ...BUILDERS[kind](rng) };
}

export function* generateCases(seed: number, count: number, first = 0): Generator<FuzzCase> {
  for (let index = first; index < first + count; index++) yield generateCase(seed, index);
}

type CaseBody = Omit<FuzzCase, "index" | "kind">;

const encode = (packet: Packet, version: 4 | 5): Buffer => mqttPacket.generate(packet, { protocolVersion: version });

function connectPacket(rng: Rng, version: 4 | 5): Buffer {
  return encode(
    {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: version,
      clean: true,
      clientId: `fuzz-${rng.int(0, 0xffffff).toString(16)}`,
      keepalive: rng.int(0, 120),
    } as Packet,
    version,
  );
}

const TOPIC_WORDS = ["a", "b", "ping", "pong", "sensor", "x/y", "", "é", "$SYS", "very/deep/topic/level"];

function randomTopic(rng: Rng): string {
  const parts: string[] = [];
  for (let i = rng.int(1, 4); i > 0; i--) parts.push(rng.pick(TOPIC_WORDS));
  // Always under fuzz/: fuzzing must not feed foreign payloads to a ping/echo pair on /ping and /pong.
  return `fuzz/${parts.join("/")}`;
}

/** A valid packet a connected client may send (never CONNECT), in the given version. */
function validPacket(rng: Rng, version: 4 | 5): Buffer {
  const messageId = rng.int(1, 65535);
  switch (rng.int(0, 6)) {
    case 0:
    case 1: {
      const qos = rng.int(0, 2) as 0 | 1 | 2;
      return encode(
        { cmd: "publish", topic: randomTopic(rng), payload: rng.bytes(rng.int(0, 64)), qos, retain: false, dup: false, ...(qos ? { messageId } : {}) } as Packet,
        version,
      );
    }
    case 2:
      return encode({ cmd: "subscribe", messageId, subscriptions: [{ topic: randomTopic(rng), qos: rng.int(0, 2) as 0 }] } as Packet, version);
    case 3:
      return encode({ cmd: "unsubscribe", messageId, unsubscriptions: [randomTopic(rng)] } as Packet, version);
    case 4:
      return encode({ cmd: "pingreq" } as Packet, version);
    case 5:
      return encode({ cmd: rng.pick(["puback", "pubrec", "pubrel", "pubcomp"] as const), messageId } as Packet, version);
    default:
      return encode({ cmd: "publish", topic: randomTopic(rng), payload: Buffer.alloc(0), qos: 0, retain: false, dup: false } as Packet, version);
  }
}

/** A packet from its first byte and body, with a correct remaining length. */
function rawPacket(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), encodeVariableByteInteger(body.length), body]);
}

function utf8Field(bytes: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** PUBLISH QoS 0 with the topic given as raw bytes; MQTT 5 adds an empty property length. */
function publishWithRawTopic(topic: Buffer, version: 4 | 5, payload = Buffer.from("x")): Buffer {
  const properties = version === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return rawPacket(0x30, Buffer.concat([utf8Field(topic), properties, payload]));
}

/** A valid CONNECT, then a bad packet the broker must close the connection for. */
function connectedWith(rng: Rng, makeBad: (version: 4 | 5) => Buffer, reasonCode: number): CaseBody {
  const version = rng.pick([4, 5] as const);
  return {
    version,
    chunks: [connectPacket(rng, version), makeBad(version)],
    expect: "close",
    reasonCode: version === 5 ? reasonCode : undefined,
    reasonIn: "disconnect",
  };
}

const BUILDERS: Record<FuzzKind, (rng: Rng) => CaseBody> = {
  "random-bytes": (rng) => ({ chunks: [rng.bytes(rng.int(1, 300))], expect: "any" }),

  truncated(rng) {
    const version = rng.pick([4, 5] as const);
    const whole = Buffer.concat([connectPacket(rng, version), validPacket(rng, version)]);
    return { version, chunks: [whole.subarray(0, rng.int(1, whole.length - 1))], expect: "any" };
  },

  "huge-remaining-length"(rng) {
    // Claims up to 256 MB and sends a little: the broker must not allocate what was claimed.
    const version = rng.pick([4, 5] as const);
    const claimed = rng.pick([268_435_455, 100_000_000, rng.int(1_000_000, 268_435_455)]);
    const header = Buffer.concat([Buffer.from([0x30]), encodeVariableByteInteger(claimed)]);
    return { version, chunks: [connectPacket(rng, version), header, rng.bytes(rng.int(0, 1024))], expect: "any" };
  },

  "malformed-remaining-length"(rng) {
    // A fifth continuation byte: no valid remaining length is that long.
    const first = rng.pick([0x10, 0x30, 0x82, 0xc0]);
    const garbage = Buffer.from([first, 0xff, 0xff, 0xff, 0xff, rng.int(0, 0x7f)]);
    if (first === 0x10 || rng.chance(0.5)) return { chunks: [garbage], expect: "close" };
    return connectedWith(rng, () => garbage, ReasonCode.malformedPacket);
  },

  "invalid-utf8-topic": (rng) =>
    connectedWith(rng, (v) => publishWithRawTopic(Buffer.concat([Buffer.from("fuzz/"), rng.pick(INVALID_UTF8)]), v), ReasonCode.malformedPacket),

  "nul-in-topic": (rng) => connectedWith(rng, (v) => publishWithRawTopic(Buffer.from(`fuzz/a\0${rng.int(0, 9)}`), v), ReasonCode.malformedPacket),

  "wildcard-in-publish-topic": (rng) =>
    connectedWith(rng, (v) => publishWithRawTopic(Buffer.from(rng.pick(["fuzz/+", "fuzz/#", "#", "+/x", "fuzz/a+b/#"])), v), ReasonCode.topicNameInvalid),

  "empty-publish-topic": (rng) => connectedWith(rng, (v) => publishWithRawTopic(Buffer.alloc(0), v), ReasonCode.protocolError),

  "reserved-bits"(rng) {
    // Fixed-header flags that the spec fixes: SUBSCRIBE, UNSUBSCRIBE and PUBREL must have 0b0010, the rest 0.
    const messageId = Buffer.from([0x12, 0x34]);
    const variants: Array<(v: 4 | 5) => Buffer> = [
      (v) => rawPacket(0x80 | rng.pick([0, 1, 3, 8]), Buffer.concat([messageId, v === 5 ? Buffer.from([0]) : Buffer.alloc(0), utf8Field(Buffer.from("fuzz/s")), Buffer.from([0])])),
      (v) => rawPacket(0xa0 | rng.pick([0, 1, 4]), Buffer.concat([messageId, v === 5 ? Buffer.from([0]) : Buffer.alloc(0), utf8Field(Buffer.from("fuzz/s"))])),
      () => rawPacket(0x60 | rng.pick([0, 1, 8]), messageId),
      () => rawPacket(0xc0 | rng.int(1, 15), Buffer.alloc(0)),
      () => rawPacket(0xe0 | rng.int(1, 15), Buffer.alloc(0)),
      () => rawPacket(0x40 | rng.int(1, 15), messageId),
    ];
    return connectedWith(rng, rng.pick(variants), ReasonCode.malformedPacket);
  },

  "qos-3": (rng) =>
    connectedWith(rng, (v) => rawPacket(0x36 | rng.pick([0, 1, 8, 9]), Buffer.concat([utf8Field(Buffer.from("fuzz/q")), Buffer.from([0, 1]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from("x")])), ReasonCode.malformedPacket),

  "packet-id-0"(rng) {
    const variants: Array<(v: 4 | 5) => Buffer> = [
      (v) => rawPacket(0x32, Buffer.concat([utf8Field(Buffer.from("fuzz/id0")), Buffer.from([0, 0]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from("x")])),
      (v) => rawPacket(0x34, Buffer.concat([utf8Field(Buffer.from("fuzz/id0")), Buffer.from([0, 0]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from("x")])),
      (v) => rawPacket(0x82, Buffer.concat([Buffer.from([0, 0]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), utf8Field(Buffer.from("fuzz/id0")), Buffer.from([0])])),
      (v) => rawPacket(0xa2, Buffer.concat([Buffer.from([0, 0]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), utf8Field(Buffer.from("fuzz/id0"))])),
    ];
    return connectedWith(rng, rng.pick(variants), ReasonCode.protocolError);
  },

  "packet-before-connect"(rng) {
    // [MQTT-3.1.0-1]: the first packet must be CONNECT; with no version agreed there is no DISCONNECT to send.
    return { chunks: [validPacket(rng, rng.pick([4, 5] as const))], expect: "close" };
  },

  "second-connect"(rng) {
    const version = rng.pick([4, 5] as const);
    // [MQTT-3.1.0-2]: a second CONNECT is a Protocol Error.
    return { version, chunks: [connectPacket(rng, version), connectPacket(rng, version)], expect: "close", reasonCode: version === 5 ? ReasonCode.protocolError : undefined, reasonIn: "disconnect" };
  },

  "unknown-packet-type"(rng) {
    // Type 0 is reserved in every version; 15 (AUTH) does not exist in 3.1.1.
    return connectedWith(rng, (v) => rawPacket(((v === 4 ? rng.pick([0, 15]) : 0) << 4) | rng.int(0, 15), rng.bytes(rng.int(0, 8))), ReasonCode.malformedPacket);
  },

  "bad-protocol-version"(rng) {
    // [MQTT-3.1.2-2]: CONNACK 0x84 (5.0) / 0x01 (3.1.1), then close.
    const level = rng.pick([0, 1, 2, 6, 7, 255]);
    const body = Buffer.concat([utf8Field(Buffer.from("MQTT")), Buffer.from([level, 0x02, 0x00, 0x3c]), utf8Field(Buffer.from("fuzz-version"))]);
    return { chunks: [rawPacket(0x10, body)], expect: "close" };
  },

  "connect-reserved-flag"(rng) {
    // [MQTT-3.1.2-3]: the reserved bit of the connect flags must be 0.
    const version = rng.pick([4, 5] as const);
    const connect = connectPacket(rng, version);
    const flagsAt = 2 + 2 + 4 + 1; // fixed header (short), protocol name, level
    connect[flagsAt]! |= 0x01;
    return { version, chunks: [connect], expect: "close" };
  },

  "empty-subscribe"(rng) {
    // [MQTT-3.8.3-2]: a SUBSCRIBE must carry at least one topic filter.
    return connectedWith(rng, (v) => rawPacket(0x82, Buffer.concat([Buffer.from([0, 7]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0)])), ReasonCode.protocolError);
  },

  "acl-shaped-identity"(rng) {
    // The broker may refuse the CONNECT, the SUBSCRIBE or the PUBLISH, or close for a NUL: anything but a crash.
    const version = rng.pick([4, 5] as const);
    const { connect, after } = identityShapedPackets(rng, version);
    return { version, chunks: [encode(connect, version), Buffer.concat(after.map((packet) => encode(packet, version)))], expect: "any" };
  },

  "mutated-valid"(rng) {
    const version = rng.pick([4, 5] as const);
    const packets = [connectPacket(rng, version)];
    for (let i = rng.int(1, 4); i > 0; i--) packets.push(validPacket(rng, version));
    const bytes = Buffer.concat(packets);
    for (let i = rng.int(1, 4); i > 0; i--) mutate(rng, bytes);
    return { version, chunks: [bytes], expect: "any" };
  },
};

const INVALID_UTF8 = [
  Buffer.from([0xc3, 0x28]), // truncated 2-byte sequence
  Buffer.from([0xa0, 0xa1]), // continuation bytes without a lead
  Buffer.from([0xe2, 0x28, 0xa1]),
  Buffer.from([0xf0, 0x28, 0x8c, 0xbc]),
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate, forbidden by [MQTT-1.5.4-1]
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0xaf]), // overlong "/"
];

/** Flips a bit, overwrites a byte or swaps two bytes in place. */
function mutate(rng: Rng, bytes: Buffer): void {
  const at = rng.int(0, bytes.length - 1);
  switch (rng.int(0, 2)) {
    case 0:
      bytes[at]! ^= 1 << rng.int(0, 7);
      break;
    case 1:
      bytes[at] = rng.int(0, 255);
      break;
    default: {
      const other = rng.int(0, bytes.length - 1);
      [bytes[at], bytes[other]] = [bytes[other]!, bytes[at]!];
    }
  }
}
