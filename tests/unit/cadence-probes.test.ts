import { describe, expect, test } from "bun:test";
import { cpuMsOfStat, percentOfCore, quantile, withoutOverlaps, type TimedProbe } from "../../scripts/bench/cadence-probes";

describe("cadence probes", () => {
  test("probes of different streams in flight at once both drop out; others stay", () => {
    const probes: TimedProbe[] = [
      { stream: "a", sentAtMs: 0, rttMs: 1 },
      { stream: "b", sentAtMs: 1.5, rttMs: 1 }, // within a's 1 ms margin
      { stream: "c", sentAtMs: 10, rttMs: 1 },
      { stream: "a", sentAtMs: 200, rttMs: 1 },
      { stream: "a", sentAtMs: 200.5, rttMs: 1 }, // same stream: not an overlap
    ];
    expect(withoutOverlaps(probes, 1).map((probe) => `${probe.stream}@${probe.sentAtMs}`)).toEqual(["c@10", "a@200", "a@200.5"]);
  });

  test("a long probe overlaps every probe that starts before it ends", () => {
    const probes: TimedProbe[] = [
      { stream: "a", sentAtMs: 0, rttMs: 20 },
      { stream: "b", sentAtMs: 5, rttMs: 1 },
      { stream: "c", sentAtMs: 15, rttMs: 1 },
      { stream: "b", sentAtMs: 40, rttMs: 1 },
    ];
    expect(withoutOverlaps(probes, 0).map((probe) => probe.sentAtMs)).toEqual([40]);
  });

  test("quantiles interpolate between ranks", () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  test("CPU time comes from utime and stime, past a command name with spaces and parentheses", () => {
    const stat = "4242 (mqtt (pingpong) x) S 1 4242 4242 0 -1 4194304 1000 0 0 0 150 50 0 0 20 0 9 0 100 1000 100";
    expect(cpuMsOfStat(stat)).toBe(2000);
    expect(percentOfCore(1000, 1050, 10_000)).toBe(0.5);
  });
});
