// The Latency tab: the broker's probe as a smokeping-style chart over the last hour, and the round
// trips of a running `ping` as the broker sees them.
import { drawSmoke } from "./charts.js";
import { formatMs, formatNumber } from "./format.js";

const HOUR_MS = 3600_000;
/** A young broker's few buckets are drawn over 10 minutes at least, not squeezed into the hour's right edge. */
const MIN_WINDOW_MS = 600_000;
const $ = (id) => document.getElementById(id);

export function drawLatency(latency) {
  const { probe, ping, bucketMs } = latency;
  const first = Math.min(...[...probe, ...ping].map((b) => b.at));
  const windowMs = Number.isFinite(first) ? Math.min(HOUR_MS, Math.max(MIN_WINDOW_MS, Date.now() - first + bucketMs)) : HOUR_MS;
  drawSmoke($("latency-chart"), probe, ping, bucketMs, windowMs, formatMs);
  const answered = probe.filter((b) => b.count > 0);
  const last = answered[answered.length - 1];
  $("latency-p50").textContent = last ? formatMs(last.p50Ms) : "–";
  $("latency-count").textContent = formatNumber(probe.reduce((sum, b) => sum + b.count + b.lost, 0));
  $("latency-lost").textContent = formatNumber(probe.reduce((sum, b) => sum + b.lost, 0));
  const pings = ping.filter((b) => b.count > 0);
  $("latency-ping").textContent = pings.length ? `${formatNumber(pings.reduce((sum, b) => sum + b.count, 0))}, last median ${formatMs(pings[pings.length - 1].p50Ms)}` : "none";
}
