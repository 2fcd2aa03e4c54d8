/** Payload formats: the pinger's timestamps, and a safe way to show any payload in a log line. */

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Digits after the decimal point for a probe interval: the seconds form at 1 s and above (as the
 * original program sent), milliseconds below, microseconds below a millisecond.
 */
export function timestampDecimals(intervalMs: number): number {
  if (intervalMs >= 1000) return 0;
  if (intervalMs >= 1) return 3;
  return 6;
}

/** Unix time as ASCII digits, e.g. `1795000000` or `1795000000.250`. */
export function formatTimestamp(epochMs: number, decimals: number): string {
  if (decimals === 0) return String(Math.floor(epochMs / 1000));
  return (epochMs / 1000).toFixed(decimals);
}

/** The timestamp at the head of a probe payload (digits and dots), or "" when there is none. */
export function timestampPrefix(payload: Uint8Array): string {
  let end = 0;
  while (end < payload.length) {
    const byte = payload[end]!;
    if ((byte < ZERO || byte > NINE) && byte !== DOT) break;
    end++;
  }
  if (end === 0) return "";
  // On the hot path (every echo): Buffer's latin1 decoding is one native call, with no spread array.
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return bytes.toString("latin1", 0, end);
}

/** Pads a probe payload to `size` bytes, timestamp first, then a space and filler. */
export function buildProbePayload(timestamp: string, size: number): Buffer {
  if (size <= timestamp.length) return Buffer.from(timestamp, "latin1");
  const payload = Buffer.alloc(size, 0x78); // 'x'
  payload.write(timestamp, 0, "latin1");
  if (size > timestamp.length) payload[timestamp.length] = 0x20;
  return payload;
}

const MAX_SHOWN_CHARS = 64;
const HEX_PREFIX_BYTES = 16;
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Shows a payload in one log line: text as text (cut when long), anything else as length and hex prefix. */
export function describePayload(payload: Uint8Array): string {
  if (payload.length === 0) return "(empty)";
  const text = decodePrintable(payload.length > 4096 ? payload.subarray(0, 4096) : payload);
  if (text !== undefined) {
    if (text.length <= MAX_SHOWN_CHARS && payload.length <= 4096) return text;
    return `${text.slice(0, MAX_SHOWN_CHARS)}… (${payload.length} bytes)`;
  }
  const hex = Buffer.from(payload.subarray(0, HEX_PREFIX_BYTES)).toString("hex");
  return `<${payload.length} bytes: ${hex}${payload.length > HEX_PREFIX_BYTES ? "…" : ""}>`;
}

function decodePrintable(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch {
    // A long payload cut mid-character is still text; only judge whole payloads strictly.
    return undefined;
  }
  // Control characters other than tab would garble a terminal line.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return undefined;
  }
  return text;
}
