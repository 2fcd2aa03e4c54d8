import { expect, test } from "bun:test";
import { formatSummary, summaryJson } from "../../src/core/ping-report";
import { RttStats } from "../../src/core/rtt-stats";

const summary = (received: number) => {
  const rtt = new RttStats();
  for (let i = 0; i < received; i++) rtt.record(1 + i);
  return {
    target: "localhost:10008",
    pingTopic: "/ping",
    pongTopic: "/pong",
    transmitted: 4,
    received,
    duplicates: 0,
    outOfOrder: 0,
    elapsedMs: 3000.4,
    rtt,
    connect: { transportMs: 0.5, connackMs: 1.25 },
  };
};

test("the summary reads like ping(8)'s", () => {
  expect(formatSummary(summary(3))).toEqual([
    "--- localhost:10008 /ping → /pong ping statistics ---",
    "4 probes transmitted, 3 received, 0 duplicates, 0 out of order, 25% loss, time 3000ms",
    "rtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms",
    "rtt p50/p90/p99/p99.9 = 2.000/3.000/3.000/3.000 ms",
    "connect: transport 0.500 ms, CONNACK 1.250 ms",
  ]);
});

test("no rtt line when nothing came back", () => {
  expect(formatSummary(summary(0)).some((line) => line.startsWith("rtt"))).toBe(false);
});

test("the JSON summary carries the same figures", () => {
  const json = summaryJson(summary(3)) as { lossPercent: number; rttMs: { p50: number; max: number } };
  expect(json.lossPercent).toBe(25);
  expect(json.rttMs.p50).toBe(2);
  expect(json.rttMs.max).toBe(3);
});
