// The aedes patch's lib/fast-publish.js reads and writes the message path's PUBLISH and
// acknowledgements without mqtt-packet. It must be indistinguishable from mqtt-packet: the same
// packets (field by field) from the same bytes, with mqtt-packet taking over wherever the fast
// reader stops, and the same bytes for the same packet.
import { describe, expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { encodeSimpleConfirmation, encodeSimplePublish, readSimplePublishes } from "../../node_modules/aedes/lib/fast-publish.js";
import { generateCases } from "../../scripts/lib/fuzz/generator";

type Version = 4 | 5;
interface Parsed {
  packets: Array<Record<string, unknown>>;
  error?: string;
}

/** mqtt-packet alone, as a connected client's parser (its settings are the CONNECT's). */
function referenceParse(bytes: Buffer, protocolVersion: Version): Parsed {
  const parser = mqttPacket.parser({ protocolVersion });
  const parsed: Parsed = { packets: [] };
  parser.on("packet", (packet) => parsed.packets.push({ ...packet }));
  parser.on("error", (error: Error) => (parsed.error ??= error.message));
  parser.parse(bytes);
  return parsed;
}

/** As aedes's readBatch does it: the fast reader first, then mqtt-packet from where it stopped. */
function fastParse(bytes: Buffer, protocolVersion: Version, maxWireSize = 0): Parsed & { fastBytes: number } {
  const parser = mqttPacket.parser({ protocolVersion });
  const parsed: Parsed = { packets: [] };
  parser.on("packet", (packet) => parsed.packets.push({ ...packet }));
  parser.on("error", (error: Error) => (parsed.error ??= error.message));
  const read = readSimplePublishes(bytes, protocolVersion, maxWireSize, parser, { closed: false });
  if (read < bytes.length) parser.parse(bytes.subarray(read));
  return { ...parsed, fastBytes: read };
}

const publish = (fields: Record<string, unknown>, protocolVersion: Version) =>
  mqttPacket.generate({ cmd: "publish", retain: false, dup: false, qos: 0, payload: Buffer.alloc(0), ...fields } as mqttPacket.IPublishPacket, { protocolVersion });

// Remaining Length crosses from 1 to 2, 2 to 3 and 3 to 4 bytes at 128, 16 384 and 2 097 152.
const sizes = [0, 1, 16, 120, 127, 128, 16_383, 16_384, 2_097_152];

describe("fast PUBLISH reader", () => {
  for (const protocolVersion of [4, 5] as Version[]) {
    test(`MQTT ${protocolVersion === 5 ? 5 : "3.1.1"}: simple packets read by it give mqtt-packet's packets, field by field`, () => {
      const packets: Buffer[] = [];
      for (const size of sizes)
        for (const qos of [0, 1, 2])
          packets.push(publish({ topic: `a/b/${size}`, payload: Buffer.alloc(size, size & 0xff), qos, messageId: qos ? 1 + (size % 65535) : undefined, retain: size % 2 === 0, dup: qos > 0 && size % 3 === 0 }, protocolVersion));
      for (const cmd of ["puback", "pubrec", "pubrel", "pubcomp"]) packets.push(mqttPacket.generate({ cmd, messageId: 513, ...(protocolVersion === 5 ? { reasonCode: 0 } : {}) } as never, { protocolVersion }));
      const bytes = Buffer.concat(packets);
      const fast = fastParse(bytes, protocolVersion);
      expect(fast.fastBytes).toBe(bytes.length); // all of them took the fast path
      expect(fast).toEqual({ ...referenceParse(bytes, protocolVersion), fastBytes: bytes.length });
    });
  }

  test("MQTT 5: request/response properties read by it give mqtt-packet's packets, field by field, User Properties' wire order too", () => {
    const propertySets = [
      { responseTopic: "/pong", correlationData: Buffer.from("c0ffee", "hex") },
      { responseTopic: "/pong", correlationData: Buffer.alloc(0), userProperties: { "breakdown-request": "1" } },
      { payloadFormatIndicator: true, messageExpiryInterval: 4_294_967_295, contentType: "text/plain" },
      { payloadFormatIndicator: false, messageExpiryInterval: 0, contentType: "" },
      // A name that comes back after another, and one whose first value is empty (mqtt-packet replaces it).
      { userProperties: { a: ["1", "3"], b: "2", e: ["", "x"] } },
    ];
    for (const properties of propertySets)
      for (const qos of [0, 1]) {
        const bytes = publish({ topic: "a/b", payload: Buffer.from("payload"), qos, messageId: qos ? 9 : undefined, properties }, 5);
        const fast = fastParse(bytes, 5);
        const reference = referenceParse(bytes, 5);
        expect(fast.fastBytes).toBe(bytes.length);
        expect(fast).toEqual({ ...reference, fastBytes: bytes.length });
        const order = (parsed: Parsed) => (parsed.packets[0]!.properties as { userProperties?: Record<symbol, unknown> }).userProperties?.[Symbol.for("mqtt-packet.userPropertyOrder")];
        expect(order(fast)).toEqual(order(reference));
      }
    // Pairs on the wire as a, b, a: the order kept is the wire's.
    const interleaved = Buffer.from([0x30, 0x19, 0, 1, 0x74, 0x15, 0x26, 0, 1, 0x61, 0, 1, 0x31, 0x26, 0, 1, 0x62, 0, 1, 0x32, 0x26, 0, 1, 0x61, 0, 1, 0x33]);
    const fast = fastParse(interleaved, 5);
    expect(fast.fastBytes).toBe(interleaved.length);
    expect(fast).toEqual({ ...referenceParse(interleaved, 5), fastBytes: interleaved.length });
    const userProperties = fast.packets[0]!.properties as { userProperties: Record<string | symbol, unknown> };
    expect(userProperties.userProperties[Symbol.for("mqtt-packet.userPropertyOrder")]).toEqual(["a", "1", "b", "2", "a", "3"]);
  });

  test("anything else is left to mqtt-packet from its first byte: other or repeated properties, non-ASCII strings, non-ASCII or NUL topics, acknowledgements with reason codes", () => {
    const simple = publish({ topic: "t", payload: Buffer.from("x") }, 5);
    const others = [
      publish({ topic: "t", payload: Buffer.from("x"), properties: { topicAlias: 3 } }, 5),
      publish({ topic: "t", payload: Buffer.from("x"), properties: { subscriptionIdentifier: 4 } }, 5),
      publish({ topic: "t", payload: Buffer.from("x"), properties: { responseTopic: "/antwört" } }, 5),
      publish({ topic: "t", payload: Buffer.from("x"), properties: { userProperties: { "schlüssel": "x" } } }, 5),
      publish({ topic: "t", payload: Buffer.from("x"), properties: { contentType: "a\0b" } }, 5),
      // Response Topic twice: mqtt-packet makes a list of it (the broker's guard refuses the packet).
      Buffer.from([0x30, 0x0e, 0, 1, 0x74, 0x08, 0x08, 0, 1, 0x61, 0x08, 0, 1, 0x62, 0x78]),
      publish({ topic: "zähler", payload: Buffer.from("x") }, 5),
      publish({ topic: "a\0b", payload: Buffer.from("x") }, 5),
      mqttPacket.generate({ cmd: "puback", messageId: 7, reasonCode: 0x10 } as never, { protocolVersion: 5 }),
      mqttPacket.generate({ cmd: "pingreq" } as never, { protocolVersion: 5 }),
    ];
    for (const other of others) {
      const bytes = Buffer.concat([simple, other, simple]);
      const fast = fastParse(bytes, 5);
      expect(fast.fastBytes).toBe(simple.length);
      expect(fast).toEqual({ ...referenceParse(bytes, 5), fastBytes: simple.length });
    }
  });

  test("a packet cut short at the end of a read is left to mqtt-packet, which waits for the rest", () => {
    const simple = publish({ topic: "t", payload: Buffer.from("xyz") }, 5);
    const bytes = Buffer.concat([simple, simple.subarray(0, simple.length - 1)]);
    const fast = fastParse(bytes, 5);
    expect(fast.fastBytes).toBe(simple.length);
    expect(fast.packets).toHaveLength(1);
    expect(fast).toEqual({ ...referenceParse(bytes, 5), fastBytes: simple.length });
  });

  test("a packet larger than the broker's Maximum Packet Size is left to mqtt-packet (and aedes's check)", () => {
    const bytes = publish({ topic: "t", payload: Buffer.alloc(100) }, 5);
    expect(fastParse(bytes, 5, 50).fastBytes).toBe(0);
    expect(fastParse(bytes, 5, bytes.length).fastBytes).toBe(bytes.length);
  });

  test("a topic is the connection's last one only when its bytes are the same, across reads too", () => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const topics: string[] = [];
    parser.on("packet", (packet) => topics.push((packet as mqttPacket.IPublishPacket).topic));
    const sent = ["a/b/1", "a/b/1", "a/b/2", "a/c/2", "a/b/22", "a/b/2", "a/b/2"];
    const reads = [sent.slice(0, 3), sent.slice(3)].map((group) => Buffer.concat(group.map((topic) => publish({ topic, payload: Buffer.from("x") }, 5))));
    for (const read of reads) expect(readSimplePublishes(read, 5, 0, parser, { closed: false })).toBe(read.length);
    expect(topics).toEqual(sent);
  });

  test("stops after a packet that closed the client", () => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const client = { closed: false };
    let seen = 0;
    parser.on("packet", () => {
      seen++;
      client.closed = true;
    });
    const one = publish({ topic: "t", payload: Buffer.from("x") }, 5);
    expect(readSimplePublishes(Buffer.concat([one, one]), 5, 0, parser, client)).toBe(one.length);
    expect(seen).toBe(1);
  });

  test("the fuzzer's 6,000 inputs, valid and malformed, give the same packets and errors as mqtt-packet alone", () => {
    let compared = 0;
    for (const fuzzCase of generateCases(7, 6_000)) {
      const bytes = Buffer.concat(fuzzCase.chunks);
      // Past the CONNECT, as a connected client's reads are.
      const connectEnd = bytes[0]! >> 4 === 1 ? 2 + bytes[1]! : 0;
      if (connectEnd === 0 || bytes[1]! & 0x80 || connectEnd > bytes.length) continue;
      const rest = bytes.subarray(connectEnd);
      for (const protocolVersion of [4, 5] as Version[]) {
        const { fastBytes: _, ...fast } = fastParse(rest, protocolVersion);
        expect(fast).toEqual(referenceParse(rest, protocolVersion));
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(1_000);
  });
});

describe("fast PUBLISH and acknowledgement writer", () => {
  test("writes exactly what mqtt-packet writes, or leaves the packet to it", () => {
    let fast = 0;
    for (const protocolVersion of [3, 4, 5] as const)
      for (const size of sizes)
        for (const qos of [0, 1, 2] as const)
          for (const properties of [undefined, { topicAlias: undefined }, { responseTopic: "/pong", correlationData: Buffer.from("id") }]) {
            const packet = { cmd: "publish", topic: `x/${size}`, payload: Buffer.alloc(size, 7), qos, messageId: qos ? 65535 : undefined, retain: size % 2 === 1, dup: qos > 0 && size % 3 === 1, properties };
            const encoded = encodeSimplePublish(packet, protocolVersion);
            if (encoded === null) continue;
            fast++;
            expect(encoded.equals(mqttPacket.generate(packet as never, { protocolVersion }))).toBe(true);
          }
    expect(fast).toBe(3 * sizes.length * 3 * 3); // every one of them
    expect(encodeSimplePublish({ cmd: "publish", topic: "zähler", payload: Buffer.from("x"), qos: 0 }, 5)).toBeNull();
    expect(encodeSimplePublish({ cmd: "publish", topic: "t", payload: "text", qos: 0 }, 5)).toBeNull();
  });

  test("MQTT 5 properties: those it writes give mqtt-packet's bytes, in the object's order; the rest are left to mqtt-packet", () => {
    const order = Symbol.for("mqtt-packet.userPropertyOrder");
    const parsedPairs = Object.assign(Object.create(null), { a: ["1", "3"], b: "2" });
    Object.defineProperty(parsedPairs, order, { value: ["a", "1", "b", "2", "a", "3"] });
    const written = [
      { responseTopic: "/pong", correlationData: Buffer.from([0, 1, 2]) },
      { correlationData: Buffer.alloc(300, 1), responseTopic: "r" },
      { payloadFormatIndicator: true, messageExpiryInterval: 59, contentType: "application/json", topicAlias: 7 },
      { payloadFormatIndicator: false, messageExpiryInterval: 0xffffffff, topicAlias: 0xffff },
      { subscriptionIdentifier: [1, 128, 16_384, 0x0fffffff] },
      { subscriptionIdentifier: 2_097_152, topicAlias: undefined },
      { userProperties: { b: "2", a: ["1", "3"] } },
      { userProperties: parsedPairs, responseTopic: "/pong" },
      { userProperties: Object.assign(Object.create(null), { x: "" }) },
    ];
    for (const properties of written)
      for (const qos of [0, 2] as const) {
        const packet = { cmd: "publish", topic: "t/1", payload: Buffer.from("body"), qos, messageId: qos ? 300 : undefined, retain: false, dup: false, properties };
        const encoded = encodeSimplePublish(packet, 5);
        expect(encoded).not.toBeNull();
        expect(encoded!.equals(mqttPacket.generate(packet as never, { protocolVersion: 5 }))).toBe(true);
      }
    // The wire order, not the object's: a, b, a.
    const interleaved = encodeSimplePublish({ cmd: "publish", topic: "t", payload: Buffer.alloc(0), qos: 0, properties: { userProperties: parsedPairs } }, 5)!;
    expect(interleaved.subarray(interleaved.indexOf(0x26)).toString("latin1")).toBe("\x26\0\x01a\0\x011\x26\0\x01b\0\x012\x26\0\x01a\0\x013");
    const leftToMqttPacket = [
      { reasonString: "no" },
      { responseTopic: null },
      { responseTopic: "/antwört" },
      { responseTopic: 5 },
      { correlationData: "text" },
      { payloadFormatIndicator: 1 },
      { messageExpiryInterval: -1 },
      { messageExpiryInterval: 1.5 },
      { topicAlias: 0x10000 },
      { subscriptionIdentifier: [] },
      { userProperties: {} },
      { userProperties: { n: 1 } },
      { userProperties: { "schlüssel": "x" } },
    ];
    for (const properties of leftToMqttPacket) expect(encodeSimplePublish({ cmd: "publish", topic: "t", payload: Buffer.from("x"), qos: 0, properties }, 5)).toBeNull();
  });

  test("MQTT 5: 2,000 random request/response property sets read and written as mqtt-packet reads and writes them", () => {
    let seed = 11;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
    const ascii = () => Array.from({ length: random(6) }, () => String.fromCharCode(32 + random(95))).join("");
    for (let i = 0; i < 2_000; i++) {
      const properties: Record<string, unknown> = {};
      const names = ["payloadFormatIndicator", "messageExpiryInterval", "contentType", "responseTopic", "correlationData", "userProperties"].filter(() => random(2) === 1);
      for (const name of names) {
        if (name === "payloadFormatIndicator") properties[name] = random(2) === 1;
        else if (name === "messageExpiryInterval") properties[name] = random(2 ** 31);
        else if (name === "correlationData") properties[name] = Buffer.from(ascii());
        else if (name === "userProperties") {
          const pairs: Record<string, string | string[]> = {};
          for (let p = 1 + random(3); p > 0; p--) {
            const key = "k" + random(3);
            const value = ascii();
            const current = pairs[key];
            pairs[key] = current === undefined ? value : [...(Array.isArray(current) ? current : [current]), value];
          }
          properties[name] = pairs;
        } else properties[name] = ascii();
      }
      const qos = random(3);
      const fields = { topic: "a/" + ascii().replace(/[+#]/g, ""), payload: Buffer.from(ascii()), qos, messageId: qos ? 1 + random(65_535) : undefined, properties };
      const bytes = publish(fields, 5);
      const fast = fastParse(bytes, 5);
      const reference = referenceParse(bytes, 5);
      expect(fast).toEqual({ ...reference, fastBytes: fast.fastBytes });
      expect(fast.fastBytes).toBe(bytes.length);
      const written = encodeSimplePublish({ cmd: "publish", retain: false, dup: false, ...fields }, 5);
      expect(written?.equals(bytes)).toBe(true);
      // And a packet as the broker read it, written again: the same bytes.
      expect(encodeSimplePublish(fast.packets[0]!, 5)?.equals(mqttPacket.generate(reference.packets[0] as never, { protocolVersion: 5 }))).toBe(true);
    }
  });

  test("acknowledgements: MQTT 5 reason codes left out, 0, or another, as mqtt-packet writes them", () => {
    for (const protocolVersion of [3, 4, 5] as const)
      for (const cmd of ["puback", "pubrec", "pubrel", "pubcomp"])
        for (const reasonCode of [undefined, 0, 0x10, 0x87])
          for (const dup of [false, true]) {
            const packet = { cmd, messageId: 258, reasonCode, dup };
            const encoded = encodeSimpleConfirmation(packet, protocolVersion);
            let reference: Buffer | undefined;
            try {
              reference = mqttPacket.generate(packet as never, { protocolVersion });
            } catch {
              // mqtt-packet cannot write it (a PUBREL with DUP): left to it, to fail the same way
            }
            if (reference === undefined) expect(encoded).toBeNull();
            else expect(encoded?.equals(reference)).toBe(true);
          }
    expect(encodeSimpleConfirmation({ cmd: "puback", messageId: 1, properties: { reasonString: "no" } }, 5)).toBeNull();
  });
});
