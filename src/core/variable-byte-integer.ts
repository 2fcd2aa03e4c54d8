// MQTT's Variable Byte Integer [MQTT-1.5.5]: remaining lengths and property lengths, 1 to 4 bytes,
// 7 bits each, least significant first, the top bit saying "more follows".

/** The largest value four bytes hold. */
export const VARIABLE_BYTE_INTEGER_MAX = 268_435_455;

export function variableByteIntegerLength(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : 4;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeVariableByteInteger(out: Uint8Array, offset: number, value: number): number {
  do {
    const digit = value % 128;
    value = Math.floor(value / 128);
    out[offset++] = value > 0 ? digit | 0x80 : digit;
  } while (value > 0);
  return offset;
}

export function encodeVariableByteInteger(value: number): Buffer {
  const out = Buffer.allocUnsafe(variableByteIntegerLength(value));
  writeVariableByteInteger(out, 0, value);
  return out;
}

/** Where a read ended: the offset after the integer (set by readVariableByteInteger). */
export interface ReadCursor {
  pos: number;
}

/** readVariableByteInteger's answers when there is no value: the bytes end first, or a fifth byte would be needed. */
export const INCOMPLETE = -1;
export const MALFORMED = -2;

/** Reads the integer at `pos`, before `end`: returns its value and sets `cursor.pos` after it, or INCOMPLETE / MALFORMED. */
export function readVariableByteInteger(buf: Uint8Array, pos: number, end: number, cursor: ReadCursor): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; ; i++) {
    if (i === 4) return MALFORMED;
    if (pos >= end) return INCOMPLETE;
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  cursor.pos = pos;
  return value;
}
