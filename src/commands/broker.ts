import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import tls from "node:tls";
import { defineCommand } from "citty";
import { parseAcl } from "../broker/auth/acl";
import { accessControlHooks } from "../broker/auth/hooks";
import { parsePasswordFile } from "../broker/auth/password-file";
import { parseConfigFile } from "../broker/config-file";
import { httpListener } from "../broker/listeners/http";
import { tlsListener } from "../broker/listeners/tls";
import { webSocketListener } from "../broker/listeners/ws";
import { BrokerMetrics } from "../broker/metrics";
import { openPersistence, PersistenceError } from "../broker/persistence";
import { DEFAULT_PROTOCOL_LIMITS, PROTOCOL_LIMIT_MAXIMUM, type ProtocolLimits } from "../broker/protocol-options";
import { startBroker, ListenError, type BrokerHandle, type BrokerOptions, type ListenerStarter } from "../broker/server";
import { sysPublisher } from "../broker/sys";
import type { QueueLimits } from "../broker/slow-consumers";
import { isLoopback, parsePort } from "../core/address";
import { ExitCode } from "../core/exit-codes";
import { checkFlags } from "../core/flags";
import { parsePersistenceTarget } from "../core/persistence-target";
import { parseIntegerFlag, UsageError } from "../core/usage-error";
import { log, setLogLevel } from "../log";
import { portFlag } from "./client-args";
import { clusterArgs, joinClusterFromArgs } from "./cluster-join";
import { durationFlag, onShutdownSignal } from "./common-args";

const limitDefaults = DEFAULT_PROTOCOL_LIMITS;

/** Protocol limits (MQTT 3.1.1 and 5.0); see src/broker/protocol-options.ts. */
export const protocolLimitArgs = {
  "max-connections": { type: "string", description: "Clients connected at once; more are refused (0: no limit)", default: String(limitDefaults.maxConnections) },
  "max-packet-size": { type: "string", description: "Largest packet accepted, bytes (told to MQTT 5 clients)", default: String(limitDefaults.maxPacketSize) },
  "max-inflight": { type: "string", description: "Unacknowledged QoS 1/2 messages per client, each way (MQTT 5 Receive Maximum)", default: String(limitDefaults.maxInflight) },
  "idle-timeout": { type: "string", description: "Close a socket that sends no CONNECT within this long", default: `${limitDefaults.connectTimeoutMs / 1000}s` },
  "max-keepalive": { type: "string", description: "Largest keep-alive, seconds; MQTT 5 clients are told it (0: no cap)", default: String(limitDefaults.maxKeepaliveSec) },
  "max-topic-alias": { type: "string", description: "MQTT 5 topic aliases per connection, each way (0: none)", default: String(limitDefaults.maxTopicAlias) },
} as const;

type ProtocolLimitArgValues = { [K in keyof typeof protocolLimitArgs]?: string | boolean };

export function toProtocolLimits(args: ProtocolLimitArgValues): ProtocolLimits {
  return {
    maxConnections: parseIntegerFlag("max-connections", String(args["max-connections"]), 0),
    maxPacketSize: parseIntegerFlag("max-packet-size", String(args["max-packet-size"]), 64, PROTOCOL_LIMIT_MAXIMUM.maxPacketSize),
    maxInflight: parseIntegerFlag("max-inflight", String(args["max-inflight"]), 1, PROTOCOL_LIMIT_MAXIMUM.maxInflight),
    connectTimeoutMs: durationFlag("idle-timeout", String(args["idle-timeout"]), 1),
    maxKeepaliveSec: parseIntegerFlag("max-keepalive", String(args["max-keepalive"]), 0, PROTOCOL_LIMIT_MAXIMUM.maxKeepaliveSec),
    maxTopicAlias: parseIntegerFlag("max-topic-alias", String(args["max-topic-alias"]), 0, PROTOCOL_LIMIT_MAXIMUM.maxTopicAlias),
  };
}

/** Durability, slow consumers and shutdown; see the README's "Reliability" section. */
export const reliabilityArgs = {
  persistence: { type: "string", description: "Keep retained messages, subscriptions and sessions in this SQLite file (or sqlite:PATH, file:PATH); default: memory only", valueHint: "path" },
  "max-queued": { type: "string", description: "Messages waiting for one client; beyond it QoS 0 is dropped for it and QoS 1/2 publishers wait (0: no limit)", default: "1000" },
  "max-queued-bytes": { type: "string", description: "Bytes waiting for one client; beyond it the same as --max-queued (0: no limit)", default: String(16 * 1024 * 1024) },
  "slow-consumer-timeout": { type: "string", description: "Disconnect a client whose queue or socket stays full this long", default: "30s" },
  "drain-timeout": { type: "string", description: "On SIGTERM or Ctrl-C, time to deliver the messages in flight before closing", default: "5s" },
} as const;

type ReliabilityArgValues = { [K in keyof typeof reliabilityArgs]?: string | boolean } & { cluster?: string | boolean };

export interface ReliabilityOptions {
  /** persistence (when a file was named) and aedes's drainTimeout. */
  aedes: BrokerOptions["aedes"];
  queue: QueueLimits;
  drainTimeoutMs: number;
  /** Where the state is kept, for the log; undefined: in memory. */
  storage?: string;
  closePersistence(): Promise<void>;
}

/** Checks the flags above and opens the --persistence file: a bad value or an unusable file is a usage error. */
export function toReliabilityOptions(args: ReliabilityArgValues): ReliabilityOptions {
  const maxQueued = parseIntegerFlag("max-queued", String(args["max-queued"]), 0);
  const maxQueuedBytes = parseIntegerFlag("max-queued-bytes", String(args["max-queued-bytes"]), 0);
  const stallTimeoutMs = durationFlag("slow-consumer-timeout", String(args["slow-consumer-timeout"]), 1);
  const drainTimeoutMs = durationFlag("drain-timeout", String(args["drain-timeout"]));
  let target;
  try {
    target = parsePersistenceTarget(args.persistence === undefined ? "memory" : String(args.persistence));
  } catch (error) {
    throw new UsageError(`--persistence: ${(error as Error).message}`);
  }
  if (target.kind !== "memory" && args.cluster) {
    throw new UsageError("--persistence and --cluster do not go together: a cluster keeps its sessions in Redis");
  }
  let persistence;
  try {
    persistence = openPersistence(target);
  } catch (error) {
    if (error instanceof PersistenceError) throw new UsageError(`--persistence: ${error.message}`);
    throw error;
  }
  return {
    aedes: { drainTimeout: stallTimeoutMs, ...(persistence ? { persistence } : {}) },
    queue: { maxQueued, maxQueuedBytes, stallTimeoutMs },
    drainTimeoutMs,
    storage: target.kind === "sqlite" ? target.path : undefined,
    closePersistence: async () => {
      await persistence?.destroy();
    },
  };
}

export const brokerArgs = {
  host: { type: "string", description: 'Address every MQTT listener binds ("localhost": 127.0.0.1 and ::1 only)', default: "localhost" },
  port: { type: "string", alias: "p", description: "TCP port", default: "10008" },
  verbose: { type: "boolean", alias: "v", description: "Log every publish (debug)" },
  ...protocolLimitArgs,
  ...reliabilityArgs,
  ...clusterArgs,
  // Security, listeners, $SYS and metrics (README: "Security" and "Listeners").
  config: { type: "string", description: "Read flags from FILE (one `name value` a line); flags given here win", valueHint: "file" },
  "password-file": { type: "string", description: "user:hash lines (make them with `mqtt-pingpong passwd`); clients must log in", valueHint: "file" },
  "acl-file": { type: "string", description: "mosquitto-style access rules (user, topic, pattern)", valueHint: "file" },
  "allow-anonymous": { type: "boolean", description: "Let clients without a user name in (needed off loopback without --password-file)" },
  "tls-port": { type: "string", description: "Also listen for MQTT over TLS on this port (needs --cert and --key)" },
  cert: { type: "string", description: "TLS certificate chain (PEM)", valueHint: "file" },
  key: { type: "string", description: "TLS private key (PEM)", valueHint: "file" },
  cafile: { type: "string", description: "CA certificates (PEM) that client certificates must chain to", valueHint: "file" },
  "require-certificate": { type: "boolean", description: "TLS clients must present a certificate signed by --cafile" },
  "ws-port": { type: "string", description: "Also listen for MQTT over WebSocket on this port (path /mqtt)" },
  "sys-interval": { type: "string", description: "Publish $SYS/broker/... topics this often (0: never)", default: "10s" },
  "http-port": { type: "string", description: "Serve GET /healthz and GET /metrics (Prometheus) on this port" },
  "http-host": { type: "string", description: "Address the HTTP endpoint binds", default: "localhost" },
} as const;

type BrokerArgValues = { -readonly [K in keyof typeof brokerArgs]?: string | boolean };

/** Settings whose value is a file: relative names in a config file are relative to that file. */
const FILE_SETTINGS = new Set(["password-file", "acl-file", "cert", "key", "cafile"]);

/** The flags given on the command line, with --config's values filling in the ones not given. */
export function withConfigFile(args: BrokerArgValues, rawArgs: string[]): BrokerArgValues {
  if (!args.config) return args;
  const file = String(args.config);
  let values: Record<string, string | boolean>;
  try {
    values = parseConfigFile(readFileSync(file, "utf8"), brokerArgs);
  } catch (error) {
    throw new UsageError(`--config ${file}: ${describeFileError(error)}`);
  }
  const given = checkFlags(rawArgs, brokerArgs);
  const merged: BrokerArgValues = { ...args };
  for (const [name, value] of Object.entries(values)) {
    if (given.has(name)) continue;
    merged[name as keyof BrokerArgValues] = FILE_SETTINGS.has(name) ? resolve(dirname(file), String(value)) : value;
  }
  return merged;
}

/** Turns the broker's flags into options: reads the files, checks every combination. */
export function toBrokerOptions(args: BrokerArgValues, limits: ProtocolLimits = toProtocolLimits(args)): BrokerOptions {
  const host = String(args.host);
  const users = args["password-file"] ? readPasswordFile(String(args["password-file"])) : undefined;
  const acl = args["acl-file"] ? readAclFile(String(args["acl-file"])) : undefined;
  const allowAnonymous = Boolean(args["allow-anonymous"]);
  // mosquitto 2's rule: without authentication, only this machine may connect.
  if (!isLoopback(host) && !users && !allowAnonymous) {
    throw new UsageError(`refusing to listen on ${host} without authentication: give --password-file, or --allow-anonymous to let anyone in`);
  }
  const listeners: ListenerStarter[] = [];
  if (args["tls-port"] !== undefined) listeners.push(tlsListener({ host, port: namedPort("tls-port", args["tls-port"]), ...readTlsFiles(args) }));
  else if (args.cert || args.key || args.cafile || args["require-certificate"]) throw new UsageError("--cert, --key, --cafile and --require-certificate need --tls-port");
  if (args["ws-port"] !== undefined) listeners.push(webSocketListener({ host, port: namedPort("ws-port", args["ws-port"]), maxMessageBytes: limits.maxPacketSize }));

  const sysIntervalMs = durationFlag("sys-interval", String(args["sys-interval"]));
  const httpPort = args["http-port"] === undefined ? undefined : namedPort("http-port", args["http-port"]);
  const metrics = sysIntervalMs > 0 || httpPort !== undefined ? new BrokerMetrics() : undefined;
  const services: NonNullable<BrokerOptions["services"]> = [];
  if (metrics) services.push(metrics.attach);
  if (metrics && sysIntervalMs > 0) services.push(sysPublisher(metrics, Math.max(sysIntervalMs, 10)));
  if (metrics && httpPort !== undefined) listeners.push(httpListener({ host: String(args["http-host"]), port: httpPort, metrics }));

  return {
    host,
    port: portFlag(args.port),
    aedes: accessControlHooks({ users, allowAnonymous, acl }),
    listeners,
    services,
    onConnection: metrics?.countConnection,
  };
}

function namedPort(name: string, value: unknown): number {
  try {
    return parsePort(String(value));
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

function readFlagFile(flag: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: ${describeFileError(error)}`);
  }
}

function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return (error as Error).message;
}

function readPasswordFile(file: string): Map<string, string> {
  try {
    const users = parsePasswordFile(readFlagFile("password-file", file));
    if (users.size === 0) log.warn(`--password-file ${file} has no users: only anonymous clients (if allowed) can connect.`);
    return users;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--password-file ${file}: ${(error as Error).message}`);
  }
}

function readAclFile(file: string) {
  try {
    return parseAcl(readFlagFile("acl-file", file));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--acl-file ${file}: ${(error as Error).message}`);
  }
}

function readTlsFiles(args: BrokerArgValues) {
  if (!args.cert || !args.key) throw new UsageError("--tls-port needs --cert and --key");
  if (args["require-certificate"] && !args.cafile) throw new UsageError("--require-certificate needs --cafile (the CA client certificates must chain to)");
  const cert = readFlagFile("cert", String(args.cert));
  const key = readFlagFile("key", String(args.key));
  const ca = args.cafile ? readFlagFile("cafile", String(args.cafile)) : undefined;
  try {
    tls.createSecureContext({ cert, key, ca });
  } catch (error) {
    throw new UsageError(`--cert/--key/--cafile: ${(error as Error).message}`);
  }
  return { cert, key, ca, requireCertificate: Boolean(args["require-certificate"]) };
}

/**
 * Everything the broker's flags decide, as `broker` starts with it (scripts/hotpath.ts measures a
 * broker built the same way): listeners, access control, protocol limits, --max-queued, storage.
 * A cluster's aedes options go under these (`{ ...cluster, ...options.aedes }`).
 */
export function brokerSetupOf(settings: BrokerArgValues): { options: BrokerOptions; reliability: ReliabilityOptions } {
  const limits = toProtocolLimits(settings);
  const options: BrokerOptions = { ...toBrokerOptions(settings, limits), limits };
  const reliability = toReliabilityOptions(settings);
  options.queue = reliability.queue;
  options.aedes = { ...reliability.aedes, ...options.aedes };
  return { options, reliability };
}

/** Starts the broker or ends the process with exit status 4 and one line. */
export async function startBrokerOrExit(options: BrokerOptions): Promise<BrokerHandle> {
  try {
    const broker = await startBroker(options);
    log.info(`Broker listening on ${broker.addresses.join(", ")}.`);
    return broker;
  } catch (error) {
    if (error instanceof ListenError) {
      log.error(error.message);
      process.exit(ExitCode.listen);
    }
    throw error;
  }
}

export default defineCommand({
  meta: { name: "broker", description: "Run an MQTT broker (in memory) on localhost:10008" },
  args: brokerArgs,
  async run({ args, rawArgs }) {
    const settings = withConfigFile(args, rawArgs);
    setLogLevel({ verbose: Boolean(settings.verbose) });
    const { options, reliability } = brokerSetupOf(settings);
    // --cluster: Redis carries the messages and holds the sessions (src/broker/cluster.ts).
    const cluster = await joinClusterFromArgs(settings);
    options.aedes = { ...cluster?.aedesOptions, ...options.aedes };
    const broker = await startBrokerOrExit(options);
    cluster?.attach(broker.aedes);
    if (reliability.storage) log.info(`Keeping retained messages, subscriptions and sessions in ${reliability.storage} (SQLite).`);
    onShutdownSignal(async (signal) => {
      log.info(`${signal}: stopping the broker (no new connections; delivering what is in flight for up to ${reliability.drainTimeoutMs / 1000} s).`);
      const close = () => broker.close({ drainMs: reliability.drainTimeoutMs });
      await (cluster ? cluster.shutdown(close) : close());
      await reliability.closePersistence();
      log.info("Broker stopped.");
      process.exit(ExitCode.ok);
    });
  },
});
