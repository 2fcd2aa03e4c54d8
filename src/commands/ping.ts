import { defineCommand } from "citty";
import { startPing, type PingOptions, type PingSummary } from "../clients/ping";
import { ExitCode } from "../core/exit-codes";
import { flagValues } from "../core/flags";
import { gapTotals, PingGaps } from "../core/ping-gaps";
import { log, setLogLevel } from "../log";
import { connectionArgs, toConnectionOptions, withEveryUrl } from "./client-args";
import { endOnLostOrSignal, exitOnConnectionError } from "./client-run";
import { pingReporter, round3 } from "./ping-reporter";
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
  breakdown: {
    type: "boolean",
    description: "Also time the transport (PINGREQ), the broker's acknowledgement (PUBACK) and, under MQTT 5, echo's own turnaround: per probe and in the summary",
  },
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
    breakdown: Boolean(args.breakdown),
  };
}

export interface PingOutput {
  json: boolean;
  quiet: boolean;
}

/**
 * Runs the ping role until --count is done, Ctrl-C, or a lost connection; reports each probe and the
 * summary, then exits with 0 (all answered), 1 (some lost) or 3 (connection lost).
 */
export async function runPing(options: PingOptions, output: PingOutput, beforeExit?: () => Promise<void>) {
  const reporter = pingReporter({ ...output, pingTopic: options.pingTopic, pongTopic: options.pongTopic, timeoutMs: options.timeoutMs });
  // --reconnect: a lost connection is a gap in the probes, reported as such, not the end of the run.
  const gaps = new PingGaps({ back: (seq) => reporter.echoesBack(seq), settled: (gap) => reporter.gapSettled(gap) });
  const ping = await exitOnConnectionError(() =>
    startPing(options, {
      sent(probe) {
        gaps.sent(probe.seq);
        reporter.sent(probe);
      },
      echo(probe, rttMs, outOfOrder, breakdown) {
        gaps.answered(probe.seq);
        reporter.echo(probe, rttMs, outOfOrder, breakdown);
      },
      duplicate: (probe) => reporter.duplicate(probe),
      waitingForSlot: (receiveMaximum) => reporter.waitingForSlot(receiveMaximum),
      lost(probe) {
        reporter.lost(probe);
        gaps.lost(probe.seq);
      },
    }),
  );
  reporter.started(() => ping.progress());
  ping.connection.onFailover((event) => {
    if (event.kind === "restored") return reporter.reconnected(event.target, event.downMs, gaps.reconnected(event.downMs));
    gaps.disconnected();
    reporter.disconnected(event.reason, gaps.lastSentAtLoss);
  });

  // Ctrl-C, a lost connection and the end of --count can all end the run; report only once.
  let reported = false;
  const report = async (summary: PingSummary, status: number) => {
    if (reported) return;
    reported = true;
    const { lost, recovered } = gapTotals(gaps.gaps());
    const failover = { reconnects: gaps.reconnects, disconnectedMs: round3(gaps.downMs), probesSentDisconnected: gaps.probesSentDisconnected, gapProbesLost: lost, gapProbesRecovered: recovered };
    reporter.summary(summary, gaps.reconnects > 0 ? failover : undefined);
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
