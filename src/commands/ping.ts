import { defineCommand } from "citty";
import type { FailoverEvent } from "../clients/connection";
import { startPing, type PingOptions, type PingSummary } from "../clients/ping";
import { formatMs } from "../core/duration";
import { ExitCode } from "../core/exit-codes";
import { flagValues } from "../core/flags";
import { formatGap, gapTotals, PingGaps } from "../core/ping-gaps";
import { formatStatusLine, formatSummary, summaryJson } from "../core/ping-report";
import { log, setLogLevel } from "../log";
import { connectionArgs, toConnectionOptions, withEveryUrl } from "./client-args";
import { endOnLostOrSignal, exitOnConnectionError, logFailover } from "./client-run";
import { durationFlag, parseIntegerFlag, qosFlag, topicFlag } from "../core/flag-parsers";

/** ping's own flags, without the connection flags (so `all` can reuse them). */
export const probeArgs = {
  interval: { type: "string", alias: "I", description: "Time between probes: 1s, 250ms, 0.5s", default: "1s" },
  count: { type: "string", alias: "c", description: "Stop after this many probes" },
  timeout: { type: "string", alias: "W", description: "A probe with no echo within this long is lost", default: "5s" },
  qos: { type: "string", alias: "q", description: "QoS of probes and echoes: 0, 1 or 2", default: "0" },
  size: { type: "string", alias: "s", description: "Pad each payload to this many bytes (timestamp first)", default: "0" },
  "ping-topic": { type: "string", description: "Topic probes are published to", default: "/ping" },
  "pong-topic": { type: "string", description: "Topic echoes are expected on", default: "/pong" },
  json: { type: "boolean", description: "One JSON object per probe and one for the summary on stdout" },
  quiet: { type: "boolean", description: "Print the summary only" },
} as const;

type ProbeArgValues = { [K in keyof typeof probeArgs]?: string | boolean };

export function toProbeOptions(args: ProbeArgValues): Omit<PingOptions, "connection"> {
  return {
    pingTopic: topicFlag("ping-topic", String(args["ping-topic"])),
    pongTopic: topicFlag("pong-topic", String(args["pong-topic"])),
    qos: qosFlag(String(args.qos)),
    intervalMs: durationFlag("interval", String(args.interval), 0.001),
    count: args.count === undefined ? undefined : parseIntegerFlag("count", String(args.count), 1),
    timeoutMs: durationFlag("timeout", String(args.timeout), 1),
    size: parseIntegerFlag("size", String(args.size), 0, 256 * 1024 * 1024),
  };
}

export interface PingOutput {
  json: boolean;
  quiet: boolean;
}

const writeJson = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");

/**
 * Runs the ping role until --count is done, Ctrl-C, or a lost connection; prints per-probe lines
 * and the summary, then exits with 0 (all answered), 1 (some lost) or 3 (connection lost).
 */
export async function runPing(options: PingOptions, output: PingOutput, beforeExit?: () => Promise<void>) {
  const perProbe = !output.quiet;
  // --reconnect: a lost connection is a gap in the probes, reported as such, not the end of the run.
  const gaps = new PingGaps({
    back(seq) {
      if (!output.json) log.info(`Echoes are back from seq=${seq}.`);
    },
    settled(gap) {
      if (output.json) writeJson({ type: "gap", ...gap });
      else log.info(formatGap(gap));
    },
  });
  let lastRttMs: number | undefined;
  const ping = await exitOnConnectionError(() =>
    startPing(options, {
      sent(probe) {
        gaps.sent(probe.seq);
        if (output.json) return;
        if (perProbe) log.info(`Publishing ${probe.timestamp} on ${options.pingTopic}.`);
      },
      echo(probe, rttMs, outOfOrder) {
        gaps.answered(probe.seq);
        lastRttMs = rttMs;
        if (output.json) {
          if (perProbe) writeJson({ type: "probe", seq: probe.seq, payload: probe.timestamp, rttMs: round3(rttMs), outOfOrder });
          return;
        }
        if (perProbe) {
          log.info(`Got ${probe.timestamp} on ${options.pongTopic}: seq=${probe.seq} rtt=${formatMs(rttMs)}${outOfOrder ? " (out of order)" : ""}`);
        }
      },
      duplicate(probe) {
        if (output.json) {
          if (perProbe) writeJson({ type: "duplicate", seq: probe.seq, payload: probe.timestamp });
        } else if (perProbe) log.info(`Got ${probe.timestamp} on ${options.pongTopic}: seq=${probe.seq} (DUP!)`);
      },
      waitingForSlot(receiveMaximum) {
        log.warn(`The broker's Receive Maximum (${receiveMaximum}) is used up; probes wait for a free slot.`);
      },
      lost(probe) {
        if (output.json) {
          if (perProbe) writeJson({ type: "lost", seq: probe.seq, payload: probe.timestamp });
        } else if (perProbe) log.warn(`No echo for seq=${probe.seq} (${probe.timestamp}) within ${formatMs(options.timeoutMs)}.`);
        gaps.lost(probe.seq);
      },
    }),
  );

  /** Notes a failover event; for "restored", returns how many probes went out while disconnected. */
  const noteGap = (event: FailoverEvent): number => {
    if (event.kind === "restored") return gaps.reconnected(event.downMs);
    gaps.disconnected();
    return 0;
  };
  if (output.json) {
    ping.connection.onFailover((event) => {
      const sentMeanwhile = noteGap(event);
      if (event.kind === "lost") writeJson({ type: "disconnected", reason: event.reason, lastSeq: gaps.lastSentAtLoss });
      else writeJson({ type: "reconnected", target: event.target, downMs: round3(event.downMs), probesSentMeanwhile: sentMeanwhile });
    });
  } else {
    logFailover(ping.connection, (event) => {
      const sentMeanwhile = noteGap(event);
      return event.kind === "lost" ? "" : `; ${sentMeanwhile} probe${sentMeanwhile === 1 ? "" : "s"} went out meanwhile`;
    });
  }

  // ping --quiet on a terminal keeps one status line up to date (never in a pipe or with --json).
  const live = output.quiet && !output.json && Boolean(process.stdout.isTTY);
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  if (live) {
    const draw = () => {
      const { transmitted, received, duplicates } = ping.progress();
      process.stdout.write(`\r\x1b[2K${formatStatusLine({ transmitted, received, duplicates, lastRttMs })}`);
    };
    statusTimer = setInterval(draw, 250);
  }
  // Ctrl-C, a lost connection and the end of --count can all end the run; report only once.
  let reported = false;
  const report = async (summary: PingSummary, status: number) => {
    if (reported) return;
    reported = true;
    if (statusTimer) {
      clearInterval(statusTimer);
      process.stdout.write("\r\x1b[2K");
    }
    const { lost, recovered } = gapTotals(gaps.gaps());
    const failover = { reconnects: gaps.reconnects, disconnectedMs: round3(gaps.downMs), probesSentDisconnected: gaps.probesSentDisconnected, gapProbesLost: lost, gapProbesRecovered: recovered };
    if (output.json) writeJson(gaps.reconnects > 0 ? { ...summaryJson(summary), failover } : summaryJson(summary));
    else {
      if (gaps.reconnects > 0) {
        const sent = gaps.probesSentDisconnected;
        log.log(`failover: ${gaps.reconnects} reconnect${gaps.reconnects === 1 ? "" : "s"}, ${formatMs(gaps.downMs)} without a broker, ${sent} probe${sent === 1 ? "" : "s"} sent meanwhile; probes of the gaps: ${lost} lost, ${recovered} recovered`);
      }
      for (const line of formatSummary(summary)) log.log(line);
    }
    await beforeExit?.();
    process.exit(status);
  };
  const statusOf = (summary: PingSummary) => (summary.received < summary.transmitted ? ExitCode.probesLost : ExitCode.ok);

  endOnLostOrSignal(ping, {
    lost: async (reason) => {
      log.error(reason);
      const summary = await ping.stop();
      await report(summary, ExitCode.connection);
    },
    stop: async () => {
      const summary = await ping.stop();
      await report(summary, statusOf(summary));
    },
  });
  const summary = await ping.finished;
  await ping.stop();
  await report(summary, statusOf(summary));
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

const pingArgs = { ...connectionArgs, ...probeArgs };

export default defineCommand({
  meta: { name: "ping", description: "Publish timestamps to /ping and time each echo on /pong, like ping(8)" },
  args: pingArgs,
  async run({ args, rawArgs }) {
    setLogLevel({ verbose: args.verbose || args.debug, quiet: args.json });
    const options: PingOptions = { connection: toConnectionOptions(withEveryUrl(args, flagValues(rawArgs, pingArgs, "url")), "ping"), ...toProbeOptions(args) };
    await runPing(options, { json: Boolean(args.json), quiet: Boolean(args.quiet) });
  },
});
