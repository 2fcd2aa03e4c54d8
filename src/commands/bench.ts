import { defineCommand } from "citty";
import { BenchConnectError } from "../bench/client";
import { runConn } from "../bench/conn";
import type { BenchTarget, Progress } from "../bench/meter";
import { runFlow, type FlowOptions } from "../bench/pubsub";
import { formatConn, formatFlow, formatProgress } from "../bench/report";
import { formatRetained, runRetained } from "../bench/retained";
import { STAMP_BYTES } from "../bench/stamp";
import { formatHostPort, urlHost, urlPort } from "../core/address";
import { ExitCode } from "../core/exit-codes";
import { UsageError } from "../core/usage-error";
import { log, setLogLevel } from "../log";
import { connectionArgs, toConnectionOptions } from "./client-args";
import { durationFlag, parseChoiceFlag, parseIntegerFlag, qosFlag } from "../core/flag-parsers";

const SCENARIOS = ["latency", "pubsub", "conn", "retained"] as const;
type Scenario = (typeof SCENARIOS)[number];

export const benchArgs = {
  scenario: { type: "positional", required: true, description: "latency (round trips), pubsub (throughput), conn (idle connections) or retained (one big SUBSCRIBE)", valueHint: SCENARIOS.join("|") },
  ...connectionArgs,
  qos: { type: "string", alias: "q", description: "QoS of publishes and subscriptions: 0, 1 or 2", default: "0" },
  size: { type: "string", alias: "s", description: `Payload bytes (at least ${STAMP_BYTES}: publisher, sequence, send time)`, default: "16" },
  publishers: { type: "string", description: "Publishing connections (latency: pinging connections)", default: "1" },
  subscribers: { type: "string", description: "Subscribing connections (pubsub)", default: "1" },
  connections: { type: "string", description: "Connections to open and hold (conn)", default: "1000" },
  duration: { type: "string", description: "How long to measure (conn: how long to hold)", default: "10s" },
  warmup: { type: "string", description: "Run this long before measuring", default: "2s" },
  rate: { type: "string", description: "Open loop: publish this many msg/s in total on schedule (latency, pubsub)" },
  inflight: {
    type: "string",
    description:
      "Messages a publisher may have on their way (closed-loop latency: 1; otherwise 100 at QoS 0, 20 at QoS 1/2; at QoS 1/2 at most the broker's Receive Maximum, open loop too); conn: connects under way (100)",
  },
  retained: { type: "string", description: "retained: messages retained before the SUBSCRIBE", default: "20000" },
  filters: { type: "string", description: "retained: topic filters in the one SUBSCRIBE", default: "2000" },
  "broker-pid": { type: "string", description: "conn, retained: the broker's process id, to report its memory per connection or CPU for the SUBSCRIBE" },
  json: { type: "boolean", description: "One JSON object with the result on stdout, nothing else there" },
} as const;

type BenchArgValues = { [K in keyof typeof benchArgs]?: string | boolean };

function toTarget(args: BenchArgValues): BenchTarget {
  const connection = toConnectionOptions(args as Parameters<typeof toConnectionOptions>[0], "bench");
  const url = new URL(connection.url);
  const tls = url.protocol === "mqtts:" || url.protocol === "ssl:";
  if (!tls && url.protocol !== "mqtt:" && url.protocol !== "tcp:") {
    throw new UsageError(`--url: bench speaks MQTT over TCP or TLS only (mqtt://, mqtts://), not "${url.protocol}"`);
  }
  if (!tls && connection.tls) throw new UsageError(`--cafile, --cert, --key and --insecure need an mqtts:// --url, not "${url.protocol}//"`);
  return {
    hostname: urlHost(url),
    port: urlPort(url),
    // Verified like every client's connection: --cafile to trust a private CA, --insecure to skip it.
    tls: tls ? (connection.tls ?? { rejectUnauthorized: true }) : undefined,
    username: connection.username,
    password: connection.password,
    keepaliveSec: connection.keepaliveSec,
    protocolVersion: connection.protocolVersion,
    connectTimeoutMs: connection.connectTimeoutMs,
    clientIdPrefix: connection.clientId,
  };
}

const count = (name: keyof BenchArgValues, args: BenchArgValues, min = 1, max = 100_000) =>
  parseIntegerFlag(name, String(args[name]), min, max);

export default defineCommand({
  meta: { name: "bench", description: "Measure a broker: round-trip latency, pub/sub throughput, idle connections" },
  args: benchArgs,
  async run({ args }) {
    const json = Boolean(args.json);
    setLogLevel({ verbose: args.verbose, quiet: json });
    const scenario: Scenario = parseChoiceFlag("scenario", String(args.scenario), SCENARIOS);
    const target = toTarget(args);
    const durationMs = durationFlag("duration", String(args.duration), scenario === "conn" ? 0 : 1000);
    const warmupMs = durationFlag("warmup", String(args.warmup));
    const brokerPid = args["broker-pid"] === undefined ? undefined : count("broker-pid", args, 1, 2 ** 31);
    const where = formatHostPort(target.hostname, target.port);

    const live = !json && process.stderr.isTTY;
    const onProgress = live
      ? (unit: string) => (progress: Progress) => process.stderr.write(`\r\x1b[K${formatProgress(progress, unit)}`)
      : () => undefined;
    const endLive = () => live && process.stderr.write("\r\x1b[K");
    const print = (header: string, lines: string[], result: object) => {
      if (json) process.stdout.write(JSON.stringify({ type: "result", scenario, target: where, ...result }) + "\n");
      else for (const line of [header, ...lines]) log.log(line);
    };

    try {
      if (scenario === "retained") {
        const result = await runRetained({ target, retained: count("retained", args), filters: count("filters", args), brokerPid });
        print(`bench retained -> ${where}: one SUBSCRIBE of ${result.filters} filters over ${result.retained} retained messages`, formatRetained(result), result);
        process.exit(result.received === result.expected ? ExitCode.ok : ExitCode.messagesLost);
      }
      if (scenario === "conn") {
        const connections = count("connections", args, 1, 1_000_000);
        const concurrency = args.inflight === undefined ? 100 : count("inflight", args);
        const result = await runConn({ target, connections, concurrency, holdMs: durationMs, brokerPid, onProgress: onProgress("conn") });
        endLive();
        print(`bench conn -> ${where}: ${connections} connections, ${concurrency} at a time, held ${durationMs / 1000} s`, formatConn(result), {
          options: { connections, concurrency, holdMs: durationMs },
          ...result,
        });
        if (result.failed > 0 || result.droppedWhileHeld > 0) process.exit(ExitCode.connection);
        return;
      }

      const qos = qosFlag(String(args.qos));
      const latency = scenario === "latency";
      const options: FlowOptions = {
        target,
        qos,
        size: count("size", args, STAMP_BYTES, 256 * 1024 * 1024),
        publishers: count("publishers", args, 1, 10_000),
        subscribers: latency ? 0 : count("subscribers", args, 1, 10_000),
        loopback: latency,
        inflight: args.inflight === undefined ? (latency && args.rate === undefined ? 1 : qos === 0 ? 100 : 20) : count("inflight", args, 1, 65_535),
        rate: args.rate === undefined ? undefined : count("rate", args, 1, 100_000_000),
        warmupMs,
        durationMs,
        onProgress: onProgress("msg"),
      };
      const result = await runFlow(options);
      endLive();
      const shape = latency
        ? `${options.publishers} connection(s) each subscribed to its own topic (client -> broker -> client)`
        : `${options.publishers} publisher(s) -> ${options.subscribers} subscriber(s)`;
      const loop = options.rate === undefined ? `closed loop, inflight ${options.inflight}` : `open loop at ${options.rate} msg/s`;
      print(
        `bench ${scenario} -> ${where}: ${shape}, QoS ${qos}, ${options.size} B, ${loop}, ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up`,
        formatFlow(result, qos),
        {
          options: { qos, size: options.size, publishers: options.publishers, subscribers: options.subscribers, inflight: options.inflight, rate: options.rate ?? null, warmupMs, durationMs },
          ...result,
        },
      );
      if (qos > 0 && result.lost > 0) process.exit(ExitCode.messagesLost);
    } catch (error) {
      endLive();
      if (error instanceof BenchConnectError) {
        log.error(`cannot reach ${where}: ${error.message}`);
        process.exit(ExitCode.connection);
      }
      throw error;
    }
    process.exit(ExitCode.ok);
  },
});
