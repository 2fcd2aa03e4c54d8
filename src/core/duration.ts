/** Parses durations as people type them: `1s`, `250ms`, `0.5s`, `2m`, `100us`; a bare number is seconds. */
const UNIT_MS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class DurationError extends Error {}

export function parseDurationMs(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new DurationError(`invalid duration "${text}" (use e.g. 1s, 250ms, 0.5s)`);
  const value = Number(match[1]) * UNIT_MS[match[2] ?? "s"]!;
  if (!Number.isFinite(value)) throw new DurationError(`invalid duration "${text}"`);
  return value;
}

/** Formats milliseconds the short way ping(8) users read: 0.412 ms, 12.3 ms, 1.50 s. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(3)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
