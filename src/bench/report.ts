import type { ConnResult } from "./conn";
import type { CpuSummary, LatencySummary, Progress } from "./meter";
import type { FlowResult } from "./pubsub";

/** Human-readable bench output: plain lines, the numbers people compare first. */

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatCount(value: number): string {
  return Number.isFinite(value) ? integer.format(value) : "-";
}

/** µs as ms with three decimals (µs resolution), as ping prints RTTs. */
export function formatUs(us: number): string {
  return Number.isFinite(us) ? (us / 1000).toFixed(3) : "-";
}

export function formatLatency(label: string, latency: LatencySummary): string {
  const values = [latency.p50Us, latency.p90Us, latency.p99Us, latency.p999Us, latency.maxUs].map(formatUs).join("/");
  return `${label} p50/p90/p99/p99.9/max = ${values} ms (${formatCount(latency.count)} samples)`;
}

export function formatCpu(cpu: CpuSummary): string {
  const busy = cpu.percentOfCore >= 90 ? " - the generator is near its limit; these figures may measure it, not the broker" : "";
  return `generator CPU ${formatCount(cpu.userMs)} ms user + ${formatCount(cpu.systemMs)} ms system = ${cpu.percentOfCore.toFixed(0)}% of one core${busy}`;
}

export function formatFlow(result: FlowResult, qos: number): string[] {
  const lossPercent = result.expected ? (result.lost / result.expected) * 100 : 0;
  const lines = [
    `delivered ${formatCount(result.messagesPerSec)} msg/s`,
    `per second: ${result.perSecond.map(formatCount).join(" ")}`,
    `sent ${formatCount(result.sent)}, received ${formatCount(result.received)} of ${formatCount(result.expected)}, ` +
      `lost ${formatCount(result.lost)} (${lossPercent.toFixed(lossPercent > 0 && lossPercent < 0.01 ? 4 : 2)}%), duplicates ${formatCount(result.duplicates)}` +
      (qos > 0 && result.lost > 0 ? " - loss at QoS 1/2 is a broker fault" : ""),
    formatLatency("latency", result.latency),
    formatCpu(result.generatorCpu),
  ];
  return lines;
}

export function formatConn(result: ConnResult): string[] {
  const lines = [
    `connected ${formatCount(result.connected)}, failed ${formatCount(result.failed)}${result.firstError ? ` (first: ${result.firstError})` : ""} ` +
      `in ${formatCount(result.elapsedMs)} ms: ${formatCount(result.connectsPerSec)} connections/s`,
    formatLatency("connect (to CONNACK)", result.connectLatency),
  ];
  if (result.broker) {
    lines.push(
      `broker RSS ${formatCount(result.broker.rssBeforeKiB)} KiB before, ${formatCount(result.broker.rssAfterKiB)} KiB holding them: ` +
        `${result.broker.perConnectionKiB.toFixed(2)} KiB per connection`,
    );
  }
  if (result.droppedWhileHeld > 0) lines.push(`the broker dropped ${formatCount(result.droppedWhileHeld)} connections while they were held`);
  lines.push(formatCpu(result.generatorCpu));
  return lines;
}

/** The one-line live progress on a terminal. */
export function formatProgress(progress: Progress, unit: string): string {
  const phase = progress.second < 0 ? "warm-up" : `${progress.second + 1} s`;
  return `${phase}: ${formatCount(progress.messagesPerSec)} ${unit}/s, p50 ${formatUs(progress.p50Us)} ms, p99 ${formatUs(progress.p99Us)} ms, lost ${formatCount(progress.lost)}`;
}
