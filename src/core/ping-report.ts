import { formatMs } from "./duration";
import { lossPercent, type RttStats } from "./rtt-stats";

/** What the summary needs; the ping role's PingSummary satisfies it. */
export interface SummaryInput {
  target: string;
  pingTopic: string;
  pongTopic: string;
  transmitted: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  elapsedMs: number;
  rtt: RttStats;
  connect: { transportMs: number; connackMs: number };
}

const fixed = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(3) : "-");

/** The closing statistics, laid out like ping(8)'s. */
export function formatSummary(summary: SummaryInput): string[] {
  const loss = lossPercent(summary.transmitted, summary.received);
  const lines = [
    `--- ${summary.target} ${summary.pingTopic} → ${summary.pongTopic} ping statistics ---`,
    `${summary.transmitted} probes transmitted, ${summary.received} received, ` +
      `${summary.duplicates} duplicates, ${summary.outOfOrder} out of order, ` +
      `${formatPercent(loss)} loss, time ${Math.round(summary.elapsedMs)}ms`,
  ];
  const { rtt } = summary;
  if (rtt.count > 0) {
    lines.push(
      `rtt min/avg/max/mdev = ${fixed(rtt.minMs)}/${fixed(rtt.avgMs)}/${fixed(rtt.maxMs)}/${fixed(rtt.mdevMs)} ms`,
      `rtt p50/p90/p99/p99.9 = ${[0.5, 0.9, 0.99, 0.999].map((q) => fixed(rtt.percentileMs(q))).join("/")} ms`,
    );
  }
  lines.push(
    `connect: transport ${formatMs(summary.connect.transportMs)}, CONNACK ${formatMs(summary.connect.connackMs)}`,
  );
  return lines;
}

export function formatPercent(value: number): string {
  return Number.isInteger(value) ? `${value}%` : `${value.toFixed(1)}%`;
}

/** The summary as one JSON object, for --json. */
export function summaryJson(summary: SummaryInput): Record<string, unknown> {
  const { rtt } = summary;
  const round = (ms: number) => (Number.isFinite(ms) ? Math.round(ms * 1000) / 1000 : null);
  return {
    type: "summary",
    target: summary.target,
    transmitted: summary.transmitted,
    received: summary.received,
    duplicates: summary.duplicates,
    outOfOrder: summary.outOfOrder,
    lossPercent: lossPercent(summary.transmitted, summary.received),
    elapsedMs: Math.round(summary.elapsedMs),
    rttMs: {
      min: round(rtt.minMs),
      avg: round(rtt.avgMs),
      max: round(rtt.maxMs),
      mdev: round(rtt.mdevMs),
      p50: round(rtt.percentileMs(0.5)),
      p90: round(rtt.percentileMs(0.9)),
      p99: round(rtt.percentileMs(0.99)),
      p999: round(rtt.percentileMs(0.999)),
    },
    connectMs: { transport: round(summary.connect.transportMs), connack: round(summary.connect.connackMs) },
  };
}

/** The live one-line status ping --quiet keeps redrawing on a terminal. */
export function formatStatusLine(status: { transmitted: number; received: number; duplicates: number; lastRttMs?: number }): string {
  const loss = lossPercent(status.transmitted, status.received);
  const last = status.lastRttMs === undefined ? "-" : formatMs(status.lastRttMs);
  const dups = status.duplicates ? `, ${status.duplicates} dup` : "";
  return `${status.transmitted} sent, ${status.received} received${dups}, ${formatPercent(loss)} unanswered, last rtt ${last}`;
}
