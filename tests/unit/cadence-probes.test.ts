import { describe, expect, test } from "bun:test";
import { cpuMsOfStat, percentOfCore, withoutOverlaps, type TimedProbe } from "../../scripts/bench/cadence-probes";

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

  test("CPU time comes from utime and stime, past a command name with spaces and parentheses", () => {
    const stat = "4242 (mqtt (pingpong) x) S 1 4242 4242 0 -1 4194304 1000 0 0 0 150 50 0 0 20 0 9 0 100 1000 100";
    expect(cpuMsOfStat(stat)).toBe(2000);
    expect(percentOfCore(1000, 1050, 10_000)).toBe(0.5);
  });
});
