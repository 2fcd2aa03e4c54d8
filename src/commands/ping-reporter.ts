// What ping prints, in one place: people's lines through consola, or (--json) one object a line on
// stdout. runPing calls the same reporter methods either way.
import type { Probe, PingSummary } from "../clients/ping";
import { formatMs } from "../core/duration";
import { formatGap, type Gap } from "../core/ping-gaps";
import { formatStatusLine, formatSummary, summaryJson } from "../core/ping-report";
import { breakdownJson, breakdownSummaryJson, formatBreakdown, formatBreakdownSummary, type ProbeBreakdown } from "../core/probe-breakdown";
import { log } from "../log";
import { lostLine, restoredLine } from "./client-run";

/** How the run went across reconnects (--reconnect), for the summary. */
export interface FailoverTotals {
  reconnects: number;
  disconnectedMs: number;
  probesSentDisconnected: number;
  gapProbesLost: number;
  gapProbesRecovered: number;
}

/** The run's counts so far, from the role. */
export type PingProgress = () => { transmitted: number; received: number; duplicates: number };

export interface PingReporter {
  /** The role is running: where a live status line reads its counts. */
  started(progress: PingProgress): void;
  sent(probe: Probe): void;
  echo(probe: Probe, rttMs: number, outOfOrder: boolean, breakdown?: ProbeBreakdown): void;
  duplicate(probe: Probe): void;
  lost(probe: Probe): void;
  waitingForSlot(receiveMaximum: number): void;
  disconnected(reason: string, lastSeq: number): void;
  reconnected(target: string, downMs: number, probesSentMeanwhile: number): void;
  echoesBack(seq: number): void;
  gapSettled(gap: Gap): void;
  /** The closing statistics; `failover` only when the run reconnected. */
  summary(summary: PingSummary, failover: FailoverTotals | undefined): void;
}

export interface ReporterOptions {
  json: boolean;
  /** Only the summary (and, on a terminal, one live status line). */
  quiet: boolean;
  pingTopic: string;
  pongTopic: string;
  timeoutMs: number;
}

export const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/** On stderr in both formats: --json's stdout holds only the JSON lines. */
const warnWaitingForSlot = (receiveMaximum: number) => log.warn(`The broker's Receive Maximum (${receiveMaximum}) is used up; probes wait for a free slot.`);

export function pingReporter(options: ReporterOptions): PingReporter {
  return options.json ? jsonReporter(!options.quiet) : textReporter(options);
}

function jsonReporter(perProbe: boolean): PingReporter {
  const write = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");
  const probeLine = (value: Record<string, unknown>) => perProbe && write(value);
  return {
    started() {},
    sent() {},
    echo: (probe, rttMs, outOfOrder, breakdown) =>
      probeLine({ type: "probe", seq: probe.seq, payload: probe.timestamp, rttMs: round3(rttMs), outOfOrder, ...(breakdown && { breakdown: breakdownJson(breakdown) }) }),
    duplicate: (probe) => probeLine({ type: "duplicate", seq: probe.seq, payload: probe.timestamp }),
    lost: (probe) => probeLine({ type: "lost", seq: probe.seq, payload: probe.timestamp }),
    waitingForSlot: warnWaitingForSlot,
    disconnected: (reason, lastSeq) => write({ type: "disconnected", reason, lastSeq }),
    reconnected: (target, downMs, probesSentMeanwhile) => write({ type: "reconnected", target, downMs: round3(downMs), probesSentMeanwhile }),
    echoesBack() {},
    gapSettled: (gap) => write({ type: "gap", ...gap }),
    summary: (summary, failover) =>
      write({ ...summaryJson(summary), ...(summary.breakdown && { breakdown: breakdownSummaryJson(summary.breakdown) }), ...(failover && { failover }) }),
  };
}

function textReporter(options: ReporterOptions): PingReporter {
  const perProbe = !options.quiet;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  let lastRttMs: number | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  return {
    started(progress) {
      // --quiet on a terminal keeps one status line up to date (never in a pipe).
      if (!options.quiet || !process.stdout.isTTY) return;
      statusTimer = setInterval(() => process.stdout.write(`\r\x1b[2K${formatStatusLine({ ...progress(), lastRttMs })}`), 250);
    },
    sent(probe) {
      if (perProbe) log.info(`Publishing ${probe.timestamp} on ${options.pingTopic}.`);
    },
    echo(probe, rttMs, outOfOrder, breakdown) {
      lastRttMs = rttMs;
      if (!perProbe) return;
      const parts = breakdown ? ` (${formatBreakdown(breakdown)})` : "";
      log.info(`Got ${probe.timestamp} on ${options.pongTopic}: seq=${probe.seq} rtt=${formatMs(rttMs)}${outOfOrder ? " (out of order)" : ""}${parts}`);
    },
    duplicate(probe) {
      if (perProbe) log.info(`Got ${probe.timestamp} on ${options.pongTopic}: seq=${probe.seq} (DUP!)`);
    },
    lost(probe) {
      if (perProbe) log.warn(`No echo for seq=${probe.seq} (${probe.timestamp}) within ${formatMs(options.timeoutMs)}.`);
    },
    waitingForSlot: warnWaitingForSlot,
    disconnected: (reason) => log.warn(lostLine(reason)),
    reconnected: (target, downMs, sentMeanwhile) => log.info(restoredLine(target, downMs, `; ${plural(sentMeanwhile, "probe")} went out meanwhile`)),
    echoesBack: (seq) => log.info(`Echoes are back from seq=${seq}.`),
    gapSettled: (gap) => log.info(formatGap(gap)),
    summary(summary, failover) {
      if (statusTimer) {
        clearInterval(statusTimer);
        process.stdout.write("\r\x1b[2K");
      }
      if (failover) {
        log.log(
          `failover: ${plural(failover.reconnects, "reconnect")}, ${formatMs(failover.disconnectedMs)} without a broker, ${plural(failover.probesSentDisconnected, "probe")} sent meanwhile; probes of the gaps: ${failover.gapProbesLost} lost, ${failover.gapProbesRecovered} recovered`,
        );
      }
      for (const line of formatSummary(summary)) log.log(line);
      if (summary.breakdown) for (const line of formatBreakdownSummary(summary.breakdown)) log.log(line);
    },
  };
}
