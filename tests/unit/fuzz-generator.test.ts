import { describe, expect, test } from "bun:test";
import { isUtf8 } from "node:buffer";
import mqttPacket from "mqtt-packet";
import { FUZZ_KINDS, generateCase, generateCases, Rng, type FuzzCase } from "../../scripts/lib/fuzz/generator";
import { encodeVariableByteInteger } from "../../src/core/variable-byte-integer";
import { ReasonCode } from "../../src/core/reason-codes";

/** Parses bytes as a broker would; returns the packets and the parse error, if any. */
function parse(bytes: Buffer, version: 4 | 5 = 4): { packets: Array<Record<string, any>>; error?: string } {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: Array<Record<string, any>> = [];
  let error: string | undefined;
  parser.on("packet", (packet) => packets.push(packet as Record<string, any>));
  parser.on("error", (e: Error) => (error ??= e.message));
  parser.parse(bytes);
  return { packets, error };
}

function casesOf(kind: string, count = 40): FuzzCase[] {
  const found: FuzzCase[] = [];
  for (const c of generateCases(99, 20_000)) {
    if (c.kind === kind) found.push(c);
    if (found.length === count) break;
  }
  return found;
}

const bytesOf = (c: FuzzCase) => Buffer.concat(c.chunks);

describe("fuzz generator", () => {
  test("the same seed and index give the same bytes; another seed gives others", () => {
    for (let index = 0; index < 200; index++) {
      const a = generateCase(42, index);
      const b = generateCase(42, index);
      expect(b.kind).toBe(a.kind);
      expect(bytesOf(b).equals(bytesOf(a))).toBe(true);
    }
    const differing = [...Array(200).keys()].filter((i) => !bytesOf(generateCase(42, i)).equals(bytesOf(generateCase(43, i))));
    expect(differing.length).toBeGreaterThan(190);
  });

  test("a case can be regenerated alone, without the ones before it", () => {
    const run = [...generateCases(7, 500)];
    expect(bytesOf(generateCase(7, 437)).equals(bytesOf(run[437]!))).toBe(true);
    expect([...generateCases(7, 3, 100)].map((c) => c.index)).toEqual([100, 101, 102]);
  });

  test("every kind is produced, in roughly equal shares", () => {
    const counts = new Map<string, number>();
    for (const c of generateCases(1, 18_000)) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...FUZZ_KINDS].sort());
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  test("ACL-shaped identities: user names and client ids with %, +, #, /, NUL, and very long ones", () => {
    const identities: string[] = [];
    for (const c of casesOf("acl-shaped-identity", 300)) {
      const connect = parse(c.chunks[0]!, c.version).packets[0]!;
      expect(connect.cmd).toBe("connect");
      identities.push(connect.clientId, ...(connect.username === undefined ? [] : [connect.username]));
    }
    for (const shape of ["%u", "%c", "+", "#", "/", "\0"]) expect(identities.some((id) => id.includes(shape)), shape).toBe(true);
    expect(identities.some((id) => id.length > 1_000)).toBe(true);
  });

  test("Rng stays in range and is not constant", () => {
    const rng = new Rng(5);
    const values = Array.from({ length: 1000 }, () => rng.int(3, 9));
    expect(Math.min(...values)).toBe(3);
    expect(Math.max(...values)).toBe(9);
  });

  test("remaining lengths encode as the spec's examples", () => {
    expect([...encodeVariableByteInteger(0)]).toEqual([0x00]);
    expect([...encodeVariableByteInteger(127)]).toEqual([0x7f]);
    expect([...encodeVariableByteInteger(128)]).toEqual([0x80, 0x01]);
    expect([...encodeVariableByteInteger(16_383)]).toEqual([0xff, 0x7f]);
    expect([...encodeVariableByteInteger(268_435_455)]).toEqual([0xff, 0xff, 0xff, 0x7f]);
  });

  test("cases that open with CONNECT open with a valid one in their version", () => {
    for (const c of generateCases(3, 2_000)) {
      if (!c.version || c.kind === "connect-reserved-flag" || c.kind === "truncated" || c.kind === "mutated-valid") continue;
      const { packets } = parse(c.chunks[0]!, c.version);
      expect(packets[0]?.cmd).toBe("connect");
      expect(packets[0]?.protocolVersion).toBe(c.version);
    }
  });

  test("bad packets that mqtt-packet must reject fail to parse", () => {
    for (const kind of ["reserved-bits", "qos-3", "malformed-remaining-length", "unknown-packet-type", "bad-protocol-version", "connect-reserved-flag"]) {
      for (const c of casesOf(kind)) expect(parse(bytesOf(c), c.version ?? 4).error, `${kind} #${c.index}`).toBeDefined();
    }
  });

  test("rule breakers the parser lets through parse, and break the rule they name", () => {
    for (const c of casesOf("wildcard-in-publish-topic")) {
      const { packets, error } = parse(bytesOf(c), c.version);
      expect(error).toBeUndefined();
      expect(packets[1]!.topic).toMatch(/[+#]/);
      expect(c.reasonCode).toBe(c.version === 5 ? ReasonCode.topicNameInvalid : undefined);
    }
    for (const c of casesOf("nul-in-topic")) expect(parse(bytesOf(c), c.version).packets[1]!.topic).toContain("\0");
    for (const c of casesOf("packet-id-0")) expect(parse(bytesOf(c), c.version).packets[1]!.messageId).toBe(0);
    for (const c of casesOf("second-connect")) expect(parse(bytesOf(c), c.version).packets.map((p) => p.cmd)).toEqual(["connect", "connect"]);
    for (const c of casesOf("empty-publish-topic")) expect(parse(bytesOf(c), c.version).packets[1]!.topic).toBe("");
    for (const c of casesOf("packet-before-connect")) {
      const parsed = [parse(bytesOf(c), 4), parse(bytesOf(c), 5)].find((p) => p.packets.length === 1)!;
      expect(parsed.packets[0]!.cmd).not.toBe("connect");
    }
  });

  test("invalid UTF-8 topics carry bytes that are not UTF-8", () => {
    for (const c of casesOf("invalid-utf8-topic")) {
      const publish = c.chunks[1]!;
      const topicLength = publish.readUInt16BE(2);
      expect(isUtf8(publish.subarray(4, 4 + topicLength))).toBe(false);
    }
  });

  test("huge remaining lengths claim far more than is sent", () => {
    for (const c of casesOf("huge-remaining-length")) {
      const header = c.chunks[1]!;
      let claimed = 0;
      for (let i = header.length - 1; i >= 1; i--) claimed = claimed * 128 + (header[i]! & 0x7f);
      expect(claimed).toBeGreaterThanOrEqual(1_000_000);
      expect(c.chunks[2]!.length).toBeLessThan(claimed);
    }
  });

  test("truncated cases stop inside the packet that follows CONNECT", () => {
    for (const c of casesOf("truncated")) {
      expect(c.expect).toBe("any");
      const { packets, error } = parse(bytesOf(c), c.version);
      expect(error).toBeUndefined();
      expect(packets.length).toBeLessThan(2);
    }
  });

  test("only MQTT 5 connections expect a reason code", () => {
    for (const c of generateCases(11, 3_000)) {
      if (c.reasonCode !== undefined) {
        expect(c.version).toBe(5);
        expect(c.expect).toBe("close");
      }
    }
  });
});
