import { LatencyHistogram } from "./histogram";
/**
 * ping --breakdown: where a probe's round trip goes. With each probe the pinger also sends a PINGREQ
 * and a QoS 1 PUBLISH on the same connection, and echo reports its own turnaround with the answer,
 * so one probe yields:
 *   transport   PINGREQ → PINGRESP: the connection and the broker's least work
 *   brokerAck   QoS 1 PUBLISH → PUBACK: the broker taking a message
 *   endToEnd    probe → echo: the round trip ping reports anyway
 *   echo        echo's own time from reading the probe to writing the answer (MQTT 5 only)
 * All times on the pinger's monotonic clock, in ms from when the probe was written.
 */

/** Times of one probe as they arrive; undefined until (unless) they do. */
export interface ProbeTimes {
  sentAtMs: number;
  pingrespAtMs?: number;
  pubackAtMs?: number;
  echoAtMs?: number;
  /** As echo reported it (its own clock; a duration, so clocks need not agree). */
  echoTurnaroundMs?: number;
}

export interface ProbeBreakdown {
  transportMs: number | null;
  brokerAckMs: number | null;
  endToEndMs: number | null;
  echoTurnaroundMs: number | null;
  /** endToEnd less echo's turnaround: the broker's two passes, the wire, and the wake-ups. */
  pathMs: number | null;
}

const since = (sentAtMs: number, atMs: number | undefined) => (atMs === undefined ? null : Math.max(0, atMs - sentAtMs));

export function breakdownOf(times: ProbeTimes): ProbeBreakdown {
  const endToEndMs = since(times.sentAtMs, times.echoAtMs);
  const echoTurnaroundMs = times.echoTurnaroundMs ?? null;
  return {
    transportMs: since(times.sentAtMs, times.pingrespAtMs),
    brokerAckMs: since(times.sentAtMs, times.pubackAtMs),
    endToEndMs,
    echoTurnaroundMs,
    pathMs: endToEndMs === null || echoTurnaroundMs === null ? null : Math.max(0, endToEndMs - echoTurnaroundMs),
  };
}

/** The User Property echo answers with: its turnaround in microseconds, as decimal text. */
export const ECHO_TURNAROUND_PROPERTY = "echo-turnaround-us";
/** The User Property a probe carries to ask echo for its turnaround. */
export const BREAKDOWN_REQUEST_PROPERTY = "breakdown";

export function formatTurnaroundUs(turnaroundMs: number): string {
  return (Math.round(turnaroundMs * 10_000) / 10).toString();
}

/** echo's turnaround from a User Property value; undefined when absent or not a sane number. */
export function parseTurnaroundUs(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text) / 1000;
}

const FIELDS = ["transportMs", "brokerAckMs", "echoTurnaroundMs", "pathMs", "endToEndMs"] as const;
type Field = (typeof FIELDS)[number];

/**
 * Per-field percentiles over a run, for the summary: a histogram per field (as ping's round trips
 * have), so a run of days keeps a fixed size; exact to the microsecond below ~1 ms, within 0.2% above.
 */
export class BreakdownStats {
  private readonly histograms = new Map<Field, LatencyHistogram>();

  record(breakdown: ProbeBreakdown): void {
    for (const field of FIELDS) {
      const value = breakdown[field];
      if (value === null) continue;
      let histogram = this.histograms.get(field);
      if (!histogram) this.histograms.set(field, (histogram = new LatencyHistogram()));
      histogram.recordUs(value * 1000);
    }
  }

  /** p50 and p90 of each field (null when no probe had it), and how many probes had it. */
  summary(): Record<Field, { p50: number | null; p90: number | null; count: number }> {
    const out = {} as Record<Field, { p50: number | null; p90: number | null; count: number }>;
    for (const field of FIELDS) {
      const histogram = this.histograms.get(field);
      const count = histogram?.count ?? 0;
      out[field] = count === 0 ? { p50: null, p90: null, count } : { p50: histogram!.percentileUs(0.5) / 1000, p90: histogram!.percentileUs(0.9) / 1000, count };
    }
    return out;
  }
}

const ms = (value: number | null) => (value === null ? "-" : value.toFixed(3));

/** One probe's breakdown for a per-probe line. */
export function formatBreakdown(breakdown: ProbeBreakdown): string {
  return `transport ${ms(breakdown.transportMs)} ms, broker ack ${ms(breakdown.brokerAckMs)} ms, echo ${ms(breakdown.echoTurnaroundMs)} ms, path ${ms(breakdown.pathMs)} ms`;
}

/** The summary's breakdown lines, like ping(8)'s rtt line: p50/p90 per part. */
export function formatBreakdownSummary(stats: BreakdownStats): string[] {
  const summary = stats.summary();
  const part = (label: string, field: Field) => `${label} ${ms(summary[field].p50)}/${ms(summary[field].p90)}`;
  return [
    `breakdown p50/p90 (ms): ${part("transport", "transportMs")}, ${part("broker ack", "brokerAckMs")}, ${part("echo", "echoTurnaroundMs")}, ${part("path", "pathMs")}, ${part("end-to-end", "endToEndMs")}`,
  ];
}

/** The breakdown summary as JSON (ms, rounded to µs). */
export function breakdownSummaryJson(stats: BreakdownStats): Record<string, unknown> {
  const round = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);
  return Object.fromEntries(Object.entries(stats.summary()).map(([field, { p50, p90, count }]) => [field, { p50: round(p50), p90: round(p90), count }]));
}

/** One probe's breakdown as JSON fields (ms, rounded to µs). */
export function breakdownJson(breakdown: ProbeBreakdown): Record<string, number | null> {
  const round = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);
  return Object.fromEntries(FIELDS.map((field) => [field, round(breakdown[field])]));
}
