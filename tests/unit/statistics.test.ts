import { describe, expect, test } from "bun:test";
import { LatencyHistogram } from "../../src/core/histogram";
import { lossPercent, RttStats } from "../../src/core/rtt-stats";

describe("RttStats", () => {
  test("min/avg/max/mdev match ping(8)'s definitions", () => {
    const stats = new RttStats();
    for (const ms of [1, 2, 3, 4]) stats.record(ms);
    expect(stats.minMs).toBe(1);
    expect(stats.maxMs).toBe(4);
    expect(stats.avgMs).toBe(2.5);
    expect(stats.mdevMs).toBeCloseTo(Math.sqrt(1.25), 10);
  });

  test("an empty set has no averages", () => {
    expect(new RttStats().avgMs).toBeNaN();
  });

  test("loss percentage", () => {
    expect(lossPercent(10, 10)).toBe(0);
    expect(lossPercent(4, 1)).toBe(75);
    expect(lossPercent(0, 0)).toBe(0);
  });
});

describe("LatencyHistogram", () => {
  test("values below 1024 µs are exact", () => {
    const histogram = new LatencyHistogram();
    for (let us = 1; us <= 1000; us++) histogram.recordUs(us);
    expect(histogram.percentileUs(0.5)).toBe(500);
    expect(histogram.percentileUs(0.99)).toBe(990);
    expect(histogram.percentileUs(1)).toBe(1000);
  });

  test("large values stay within 0.2 % and never exceed the maximum", () => {
    const histogram = new LatencyHistogram();
    const values = [5_000, 123_456, 9_876_543, 3_600_000_000];
    for (const value of values) {
      const single = new LatencyHistogram();
      single.recordUs(value);
      const reported = single.percentileUs(0.5);
      expect(reported).toBeLessThanOrEqual(value);
      expect(Math.abs(reported - value) / value).toBeLessThan(0.002);
      histogram.recordUs(value);
    }
    expect(histogram.percentileUs(1)).toBe(3_600_000_000);
  });

  test("percentiles are ordered and merge adds counts", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 10_000; i++) (i % 2 ? a : b).recordUs(Math.floor(Math.random() * 50_000));
    a.merge(b);
    expect(a.count).toBe(10_000);
    const [p50, p90, p99, p999] = [0.5, 0.9, 0.99, 0.999].map((q) => a.percentileUs(q));
    expect(a.minUs).toBeLessThanOrEqual(p50!);
    expect(p50!).toBeLessThanOrEqual(p90!);
    expect(p90!).toBeLessThanOrEqual(p99!);
    expect(p99!).toBeLessThanOrEqual(p999!);
    expect(p999!).toBeLessThanOrEqual(a.maxUs);
  });
});
