import { describe, expect, test } from "bun:test";
import { BreakdownStats, breakdownJson, breakdownOf, breakdownSummaryJson, formatBreakdown, formatBreakdownSummary, formatTurnaroundUs, parseTurnaroundUs } from "../../src/core/probe-breakdown";

describe("probe breakdown", () => {
  test("each part is measured from the probe's send; path is the round trip less echo's turnaround", () => {
    const breakdown = breakdownOf({ sentAtMs: 100, pingrespAtMs: 100.2, pubackAtMs: 100.3, echoAtMs: 101, echoTurnaroundMs: 0.25 });
    expect(breakdown.transportMs).toBeCloseTo(0.2);
    expect(breakdown.brokerAckMs).toBeCloseTo(0.3);
    expect(breakdown.endToEndMs).toBeCloseTo(1);
    expect(breakdown.echoTurnaroundMs).toBe(0.25);
    expect(breakdown.pathMs).toBeCloseTo(0.75);
  });

  test("parts that did not come are null, and so is the path without echo's turnaround", () => {
    expect(breakdownOf({ sentAtMs: 5, echoAtMs: 6 })).toEqual({ transportMs: null, brokerAckMs: null, endToEndMs: 1, echoTurnaroundMs: null, pathMs: null });
  });

  test("a turnaround reported longer than the round trip (clock steps) never makes a negative path", () => {
    expect(breakdownOf({ sentAtMs: 0, echoAtMs: 1, echoTurnaroundMs: 1.5 }).pathMs).toBe(0);
  });

  test("echo's turnaround travels as microseconds in text, and only sane numbers are read back", () => {
    expect(formatTurnaroundUs(0.12345)).toBe("123.5");
    expect(parseTurnaroundUs("123.5")).toBeCloseTo(0.1235);
    expect(parseTurnaroundUs(["80", "90"])).toBeCloseTo(0.08);
    for (const bad of [undefined, "", "-3", "1e9", "abc", "12ms"]) expect(parseTurnaroundUs(bad)).toBeUndefined();
  });

  test("the summary has p50 and p90 per part, and counts only the probes that had it", () => {
    const stats = new BreakdownStats();
    for (let i = 1; i <= 10; i++) stats.record(breakdownOf({ sentAtMs: 0, pingrespAtMs: i / 10, echoAtMs: i, echoTurnaroundMs: i % 2 ? 0.5 : undefined }));
    const summary = stats.summary();
    expect(summary.transportMs).toEqual({ p50: 0.5, p90: 0.9, count: 10 });
    // Above ~1 ms the histogram's buckets are 0.2% wide: 9 ms reads as the lowest value of its bucket.
    expect(summary.endToEndMs).toEqual({ p50: 5, p90: 8.992, count: 10 });
    expect(summary.echoTurnaroundMs.count).toBe(5);
    expect(summary.brokerAckMs).toEqual({ p50: null, p90: null, count: 0 });
    expect(breakdownSummaryJson(stats).transportMs).toEqual({ p50: 0.5, p90: 0.9, count: 10 });
    expect(formatBreakdownSummary(stats)[0]).toBe("breakdown p50/p90 (ms): transport 0.500/0.900, broker ack -/-, echo 0.500/0.500, path 4.496/8.500, end-to-end 5.000/8.992");
  });

  test("a run of a million probes keeps a fixed size and the same percentiles (to the histogram's 0.2%)", () => {
    const stats = new BreakdownStats();
    for (let i = 0; i < 1_000_000; i++) stats.record(breakdownOf({ sentAtMs: 0, pingrespAtMs: 0.1 + (i % 1000) / 10_000, echoAtMs: 1 + (i % 100) / 10 }));
    const summary = stats.summary();
    expect(summary.transportMs).toEqual({ p50: 0.15, p90: 0.19, count: 1_000_000 });
    expect(summary.endToEndMs.count).toBe(1_000_000);
    expect(summary.endToEndMs.p50!).toBeCloseTo(5.9, 1);
    expect(summary.endToEndMs.p90!).toBeCloseTo(9.9, 1);
  });

  test("per-probe text and JSON round to microseconds", () => {
    const breakdown = breakdownOf({ sentAtMs: 0, pingrespAtMs: 0.12345, echoAtMs: 1.0004 });
    expect(formatBreakdown(breakdown)).toBe("transport 0.123 ms, broker ack - ms, echo - ms, path - ms");
    expect(breakdownJson(breakdown)).toEqual({ transportMs: 0.123, brokerAckMs: null, echoTurnaroundMs: null, pathMs: null, endToEndMs: 1 });
  });
});
