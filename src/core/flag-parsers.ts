// The value of each kind of flag, checked: a bad value is a UsageError naming the flag. No I/O here.
import { parsePort } from "./address";
import { parseDurationMs } from "./duration";
import { UsageError } from "./usage-error";

export function parseIntegerFlag(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`--${name} must be ${range}, not "${text}"`);
  }
  return value;
}

export function parseChoiceFlag<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, not "${text}"`);
  }
  return text as T;
}

export function durationFlag(name: string, text: string, minMs = 0): number {
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
  if (ms < minMs) throw new UsageError(`--${name} must be at least ${minMs} ms, not "${text}"`);
  return ms;
}

export function qosFlag(text: string, name = "qos"): 0 | 1 | 2 {
  return Number(parseChoiceFlag(name, text, ["0", "1", "2"])) as 0 | 1 | 2;
}

export function topicFlag(name: string, text: string): string {
  if (text.length === 0) throw new UsageError(`--${name} must not be empty`);
  if (/[#+]/.test(text)) throw new UsageError(`--${name} must not contain wildcards (+, #): "${text}"`);
  return text;
}

export function portFlag(value: unknown, name = "port"): number {
  try {
    return parsePort(String(value));
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

/** MQTT 5's largest Session Expiry Interval, which means the session never expires. */
export const SESSION_NEVER_EXPIRES = 0xffffffff;

/** Seconds (a bare number), a duration such as 1h, or "never". */
export function sessionExpiryFlag(text: string): number {
  if (text === "never" || text === "-1") return SESSION_NEVER_EXPIRES;
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (error) {
    throw new UsageError(`--session-expiry: ${(error as Error).message}, or "never"`);
  }
  const seconds = Math.round(ms / 1000);
  if (seconds > SESSION_NEVER_EXPIRES) throw new UsageError(`--session-expiry: "${text}" is too long (use "never")`);
  return seconds;
}
