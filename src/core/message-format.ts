/**
 * How sub prints a message: plain (mosquitto_sub's default and -v), hex or base64 for binary, a -F
 * format string (mosquitto's % codes), or one JSON object a line. No I/O here; everything returns bytes.
 */

export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  subscriptionIdentifier?: number | number[];
  contentType?: string;
}

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  messageId?: number;
  properties?: MessageProperties;
}

export type PayloadEncoding = "raw" | "hex" | "base64";

export class FormatError extends Error {}

const NEWLINE = Buffer.from("\n");
const SPACE = Buffer.from(" ");

export function encodePayload(payload: Buffer, encoding: PayloadEncoding): Buffer {
  if (encoding === "raw") return payload;
  return Buffer.from(payload.toString(encoding), "latin1");
}

/** mosquitto_sub's default output: the payload bytes as they came (or encoded), `topic ` first with -v. */
export function formatPlain(message: ReceivedMessage, options: { verbose: boolean; encoding: PayloadEncoding; eol: boolean }): Buffer {
  const parts = options.verbose ? [Buffer.from(message.topic), SPACE, encodePayload(message.payload, options.encoding)] : [encodePayload(message.payload, options.encoding)];
  if (options.eol) parts.push(NEWLINE);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function asText(payload: Buffer): string | undefined {
  try {
    return utf8.decode(payload);
  } catch {
    return undefined;
  }
}

/** ISO 8601 in UTC with microseconds, e.g. 2026-11-22T05:52:50.827471Z. */
export function isoTimestamp(epochMs: number): string {
  const epochUs = Math.round(epochMs * 1000); // whole microseconds: no float crumbs in the digits
  const iso = new Date(Math.floor(epochUs / 1000)).toISOString(); // ...T05:52:50.827Z
  return `${iso.slice(0, -1)}${String(epochUs % 1000).padStart(3, "0")}Z`;
}

/** Unix time as mosquitto's %U prints it: seconds.nanoseconds (here to the microsecond). */
function unixTimestamp(epochMs: number): string {
  const epochUs = Math.round(epochMs * 1000);
  return `${Math.floor(epochUs / 1e6)}.${String(epochUs % 1e6).padStart(6, "0")}000`;
}

/** The message as one JSON object, keys as mosquitto_sub's %j; a payload that is not UTF-8 goes in payload_base64. */
export function messageJson(message: ReceivedMessage, epochMs: number): string {
  const object: Record<string, unknown> = {
    tst: isoTimestamp(epochMs),
    topic: message.topic,
    qos: message.qos,
    retain: message.retain ? 1 : 0,
    payloadlen: message.payload.length,
  };
  if (message.messageId !== undefined && message.qos > 0) object.mid = message.messageId;
  Object.assign(object, payloadJson(message.payload));
  const properties = propertiesJson(message.properties);
  if (properties) object.properties = properties;
  return JSON.stringify(object);
}

/** `payload` as text when it is UTF-8, else `payload_base64`, so any payload survives JSON. */
export function payloadJson(payload: Buffer): { payload: string } | { payload_base64: string } {
  const text = asText(payload);
  return text !== undefined ? { payload: text } : { payload_base64: payload.toString("base64") };
}

/** echo --json: one line per answered message. */
export function echoJson(echo: { topic: string; payload: Buffer; correlationData?: Buffer }, epochMs: number): string {
  return JSON.stringify({
    type: "echo",
    tst: isoTimestamp(epochMs),
    topic: echo.topic,
    payloadlen: echo.payload.length,
    ...payloadJson(echo.payload),
    ...(echo.correlationData ? { correlation_data_hex: echo.correlationData.toString("hex") } : {}),
  });
}

function propertiesJson(properties: MessageProperties | undefined): Record<string, unknown> | undefined {
  if (!properties) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString("hex") : value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

type Part = string | ((message: ReceivedMessage, epochMs: number) => Buffer | string);

const CODES: Record<string, (message: ReceivedMessage, epochMs: number) => Buffer | string> = {
  "%": () => "%",
  t: (m) => m.topic,
  p: (m) => m.payload,
  x: (m) => m.payload.toString("hex"),
  X: (m) => m.payload.toString("hex").toUpperCase(),
  b: (m) => m.payload.toString("base64"),
  l: (m) => String(m.payload.length),
  q: (m) => String(m.qos),
  r: (m) => (m.retain ? "1" : "0"),
  m: (m) => String(m.messageId ?? 0),
  j: (m, epochMs) => messageJson(m, epochMs),
  J: (m, epochMs) => messageJson(m, epochMs),
  I: (_, epochMs) => new Date(epochMs).toISOString().replace(/\.\d+Z$/, "+0000"),
  U: (_, epochMs) => unixTimestamp(epochMs),
  A: (m) => (m.properties?.topicAlias === undefined ? "" : String(m.properties.topicAlias)),
  C: (m) => m.properties?.contentType ?? "",
  D: (m) => m.properties?.correlationData ?? "",
  E: (m) => (m.properties?.messageExpiryInterval === undefined ? "" : String(m.properties.messageExpiryInterval)),
  F: (m) => (m.properties?.payloadFormatIndicator === undefined ? "" : m.properties.payloadFormatIndicator ? "1" : "0"),
  P: (m) =>
    Object.entries(m.properties?.userProperties ?? {})
      .flatMap(([key, value]) => [value].flat().map((one) => `${key}:${one}`))
      .join(" "),
  R: (m) => m.properties?.responseTopic ?? "",
  S: (m) => [m.properties?.subscriptionIdentifier ?? []].flat().join(","),
};

const ESCAPES: Record<string, string> = { "\\": "\\", "0": "\0", a: "\x07", e: "\x1b", n: "\n", r: "\r", t: "\t", v: "\v" };

/**
 * Compiles a -F format once, so each message only runs the pieces: mosquitto_sub's % codes
 * (%t topic, %p payload, %x/%X hex, %l length, %q QoS, %r retain, %m message id, %j/%J JSON,
 * %I ISO time, %U Unix time, %C %D %E %F %P %R %S %A MQTT 5 properties), %b base64 (ours), and
 * backslash escapes (\n \t \\ \0 \a \e \r \v). An unknown code is a FormatError.
 */
export function compileFormat(format: string): (message: ReceivedMessage, epochMs: number) => Buffer {
  const parts: Part[] = [];
  let literal = "";
  for (let i = 0; i < format.length; i++) {
    const char = format[i]!;
    if (char !== "%" && char !== "\\") {
      literal += char;
      continue;
    }
    const code = format[++i];
    if (code === undefined) throw new FormatError(`the format ends in a lone "${char}"`);
    if (char === "\\") {
      const escaped = ESCAPES[code];
      if (escaped === undefined) throw new FormatError(`unknown escape "\\${code}"`);
      literal += escaped;
      continue;
    }
    const piece = CODES[code];
    if (!piece) throw new FormatError(`unknown format code "%${code}"`);
    if (code === "%") {
      literal += "%";
      continue;
    }
    if (literal) parts.push(literal);
    literal = "";
    parts.push(piece);
  }
  if (literal) parts.push(literal);
  return (message, epochMs) =>
    Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : toBuffer(part(message, epochMs)))));
}

const toBuffer = (value: Buffer | string) => (typeof value === "string" ? Buffer.from(value) : value);
