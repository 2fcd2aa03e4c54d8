import { describe, expect, test } from "bun:test";
import { encodeVariableByteInteger, INCOMPLETE, MALFORMED, readVariableByteInteger, VARIABLE_BYTE_INTEGER_MAX, variableByteIntegerLength } from "../../src/core/variable-byte-integer";

describe("MQTT variable byte integer [MQTT-1.5.5]", () => {
  test("encodes the spec's boundary values in 1 to 4 bytes", () => {
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [16_383, [0xff, 0x7f]],
      [16_384, [0x80, 0x80, 0x01]],
      [2_097_151, [0xff, 0xff, 0x7f]],
      [2_097_152, [0x80, 0x80, 0x80, 0x01]],
      [VARIABLE_BYTE_INTEGER_MAX, [0xff, 0xff, 0xff, 0x7f]],
    ];
    for (const [value, bytes] of cases) {
      expect([...encodeVariableByteInteger(value)]).toEqual(bytes);
      expect(variableByteIntegerLength(value)).toBe(bytes.length);
      const cursor = { pos: 0 };
      expect(readVariableByteInteger(Uint8Array.from([0x30, ...bytes, 0xaa]), 1, bytes.length + 2, cursor)).toBe(value);
      expect(cursor.pos).toBe(1 + bytes.length);
    }
  });

  test("a cut-short integer is incomplete and a fifth byte malformed", () => {
    const cursor = { pos: 0 };
    expect(readVariableByteInteger(Uint8Array.from([0x80, 0x80]), 0, 2, cursor)).toBe(INCOMPLETE);
    expect(readVariableByteInteger(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0, 5, cursor)).toBe(MALFORMED);
  });
});
