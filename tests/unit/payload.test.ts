import { describe, expect, test } from "bun:test";
import { buildProbePayload, describePayload, formatTimestamp, timestampDecimals, timestampPrefix } from "../../src/core/payload";

describe("probe payloads", () => {
  test("seconds at 1 s intervals, finer digits below", () => {
    expect(timestampDecimals(1000)).toBe(0);
    expect(timestampDecimals(250)).toBe(3);
    expect(timestampDecimals(0.5)).toBe(6);
    expect(formatTimestamp(1_795_000_000_999, 0)).toBe("1795000000");
    expect(formatTimestamp(1_795_000_000_250, 3)).toBe("1795000000.250");
  });

  test("padding keeps the timestamp first and reaches the size exactly", () => {
    const payload = buildProbePayload("1795000000.250", 64);
    expect(payload.length).toBe(64);
    expect(timestampPrefix(payload)).toBe("1795000000.250");
    expect(buildProbePayload("1795000000", 4).toString()).toBe("1795000000");
  });

  test("a payload that does not start with a timestamp has no prefix", () => {
    expect(timestampPrefix(Buffer.from("hello"))).toBe("");
    expect(timestampPrefix(Buffer.alloc(0))).toBe("");
  });
});

describe("describePayload", () => {
  test("text is shown as text", () => expect(describePayload(Buffer.from("1795000000"))).toBe("1795000000"));
  test("empty is named", () => expect(describePayload(Buffer.alloc(0))).toBe("(empty)"));
  test("binary is shown as length and hex prefix", () => {
    expect(describePayload(Buffer.from([0, 1, 2, 255]))).toBe("<4 bytes: 000102ff>");
    expect(describePayload(Buffer.alloc(20, 0xff))).toBe(`<20 bytes: ${"ff".repeat(16)}…>`);
  });
  test("control characters make a payload binary", () => {
    expect(describePayload(Buffer.from("a\x1b[31mb"))).toMatch(/^<7 bytes/);
  });
  test("long text is cut with its length", () => {
    expect(describePayload(Buffer.from("y".repeat(100)))).toBe(`${"y".repeat(64)}… (100 bytes)`);
  });
});
