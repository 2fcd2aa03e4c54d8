import { expect, test } from "bun:test";
import { formatGap, gapTotals, PingGaps, type Gap } from "../../src/core/ping-gaps";

function tracker() {
  const events: string[] = [];
  const settled: Gap[] = [];
  const gaps = new PingGaps({
    back: (seq) => events.push(`back ${seq}`),
    settled: (gap) => {
      settled.push(gap);
      events.push(`settled ${gap.firstSeq}..${gap.lastSeq}`);
    },
  });
  /** Sends probes from..to, each answered unless listed in `unanswered`. */
  const run = (from: number, to: number, unanswered: number[] = []) => {
    for (let seq = from; seq <= to; seq++) {
      gaps.sent(seq);
      if (!unanswered.includes(seq)) gaps.answered(seq);
    }
  };
  return { gaps, events, settled, run };
}

test("no failover, no gap: nothing reported", () => {
  const { gaps, events, run } = tracker();
  run(1, 10);
  gaps.lost(11);
  expect(events).toEqual([]);
  expect(gaps.gaps()).toEqual([]);
  expect(gaps.reconnects).toBe(0);
});

test("QoS 0: probes in flight and sent while down are lost; the gap settles once the last one times out", () => {
  const { gaps, events, settled, run } = tracker();
  run(1, 5);
  gaps.sent(6); // in flight when the node dies
  gaps.disconnected();
  gaps.sent(7);
  gaps.sent(8);
  expect(gaps.reconnected(250)).toBe(2);
  gaps.sent(9); // sent before the pong subscription is back: its echo goes nowhere
  run(10, 12);
  expect(events).toEqual(["back 10"]);
  for (const seq of [6, 7, 8]) gaps.lost(seq);
  expect(settled).toEqual([]);
  gaps.lost(9);
  expect(settled).toEqual([{ firstSeq: 6, lastSeq: 9, lost: 4, recovered: 0 }]);
  expect(gapTotals(gaps.gaps())).toEqual({ lost: 4, recovered: 0 });
  expect(gaps.probesSentDisconnected).toBe(2);
  expect(gaps.downMs).toBe(250);
});

test("QoS 1: probes sent again on the new connection and answered late count as recovered", () => {
  const { gaps, events, settled, run } = tracker();
  run(1, 3);
  gaps.sent(4);
  gaps.sent(5);
  gaps.disconnected();
  gaps.sent(6);
  gaps.reconnected(100);
  gaps.answered(4); // resent by MQTT.js after the reconnect: recovered, echoes not yet "back"
  expect(events).toEqual([]);
  gaps.answered(6);
  expect(events).toEqual(["back 6"]);
  expect(settled).toEqual([]);
  run(7, 7);
  gaps.answered(5); // answered after seq=7: out of order, still the gap's
  expect(settled).toEqual([{ firstSeq: 4, lastSeq: 5, lost: 0, recovered: 2 }]);
});

test("probes that timed out before the loss (echo gone first) are not the gap's", () => {
  const { gaps, settled, run } = tracker();
  run(1, 2);
  gaps.sent(3);
  gaps.lost(3);
  gaps.sent(4);
  gaps.disconnected();
  gaps.reconnected(10);
  run(5, 5);
  gaps.lost(4);
  expect(settled).toEqual([{ firstSeq: 4, lastSeq: 4, lost: 1, recovered: 0 }]);
});

test("a gap with no probe in it settles at once, and says so", () => {
  const { gaps, events, settled, run } = tracker();
  run(1, 3);
  gaps.disconnected();
  gaps.reconnected(5);
  run(4, 4);
  expect(events).toEqual(["back 4", "settled 4..3"]);
  expect(formatGap(settled[0]!)).toBe("No probe fell into the gap.");
});

test("a second drop before echoes are back extends the same gap", () => {
  const { gaps, settled, run } = tracker();
  run(1, 2);
  gaps.sent(3);
  gaps.disconnected();
  gaps.sent(4);
  gaps.reconnected(50);
  gaps.sent(5);
  gaps.disconnected();
  gaps.sent(6);
  expect(gaps.reconnected(70)).toBe(1);
  run(7, 7);
  for (const seq of [3, 4, 5, 6]) gaps.lost(seq);
  expect(settled).toEqual([{ firstSeq: 3, lastSeq: 6, lost: 4, recovered: 0 }]);
  expect(gaps.reconnects).toBe(2);
  expect(gaps.probesSentDisconnected).toBe(2);
});

test("two separate gaps are reported one by one and added up", () => {
  const { gaps, settled, run } = tracker();
  run(1, 2);
  gaps.sent(3);
  gaps.disconnected();
  gaps.reconnected(1);
  run(4, 6);
  gaps.lost(3);
  gaps.sent(7);
  gaps.disconnected();
  gaps.reconnected(1);
  gaps.sent(8);
  gaps.answered(7);
  run(9, 9);
  gaps.answered(8);
  expect(settled).toEqual([
    { firstSeq: 3, lastSeq: 3, lost: 1, recovered: 0 },
    { firstSeq: 7, lastSeq: 8, lost: 0, recovered: 2 },
  ]);
  expect(gapTotals(gaps.gaps())).toEqual({ lost: 1, recovered: 2 });
});

test("stopped before a gap settles: its unanswered probes count as lost, as the summary counts them", () => {
  const { gaps, settled, run } = tracker();
  run(1, 2);
  gaps.sent(3);
  gaps.sent(4);
  gaps.disconnected();
  gaps.sent(5);
  gaps.reconnected(10);
  gaps.answered(3);
  expect(settled).toEqual([]);
  expect(gaps.gaps()).toEqual([{ firstSeq: 3, lastSeq: 5, lost: 2, recovered: 1 }]);
});

test("the settled line names the gap's probes and what became of them", () => {
  expect(formatGap({ firstSeq: 6, lastSeq: 9, lost: 3, recovered: 1 })).toBe("The gap's 4 probes (seq=6..9): 3 lost, 1 recovered (answered late).");
  expect(formatGap({ firstSeq: 6, lastSeq: 6, lost: 1, recovered: 0 })).toBe("The gap's 1 probe (seq=6): 1 lost, 0 recovered (answered late).");
});
