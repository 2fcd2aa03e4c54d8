// What /metrics answers, read back for tests.
import { expect } from "bun:test";

/** Parses the Prometheus text format strictly enough to catch malformed output. */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const comment = /^# (HELP|TYPE) ([a-z_]+) (.+)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        expect(["gauge", "counter"]).toContain(comment[3]!);
        typed.add(comment[2]!);
      }
      continue;
    }
    const sample = /^([a-z_]+)(\{[a-z_]+="[^"]*"\})? (-?\d+(?:\.\d+)?)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`);
    expect(typed.has(sample[1]!)).toBe(true); // TYPE comes before the sample
    values.set(sample[1]! + (sample[2] ?? ""), Number(sample[3]));
  }
  return values;
}
