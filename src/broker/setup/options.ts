// The broker's flag values turned into the options `startBroker` takes: limits, storage, access
// control, listeners and metrics. `broker` starts with this, and scripts/hotpath.ts measures a
// broker built the same way.
import { isLoopback } from "../../core/address";
import { metricsAccess } from "../../core/http-access";
import { durationFlag, parseIntegerFlag, portFlag } from "../../core/flag-parsers";
import { parsePersistenceTarget } from "../../core/persistence-target";
import { UsageError } from "../../core/usage-error";
import { accessControlHooks, type AccessControlOptions } from "../auth/hooks";
import { PasswordChecker } from "../auth/password-check";
import { httpWithConsole } from "../console";
import { TlsCredentials, tlsListener } from "../listeners/tls";
import { webSocketListener } from "../listeners/ws";
import { OriginError, parseAllowedOrigins } from "../listeners/ws-origin";
import { BrokerMetrics } from "../metrics";
import { openPersistence, PersistenceError } from "../persistence";
import { PROTOCOL_LIMIT_MAXIMUM, type ProtocolLimits } from "../protocol-options";
import type { BrokerOptions, ListenerStarter } from "../server";
import { enforceResourceLimits, LimitCounters, type ResourceLimits } from "../resource-limits";
import type { QueueLimits } from "../slow-consumers";
import { sysPublisher } from "../sys";
import { readAclFile, readPasswordFile, readTlsPem, tlsFilesOf } from "./files";
import { toIdentityOptions } from "./identity-args";
import type { BrokerArgValues } from "./flags";
import type { ReloadTargets } from "./reload";

export function toProtocolLimits(args: BrokerArgValues): ProtocolLimits {
  return {
    maxConnections: parseIntegerFlag("max-connections", String(args["max-connections"]), 0),
    maxPacketSize: parseIntegerFlag("max-packet-size", String(args["max-packet-size"]), 64, PROTOCOL_LIMIT_MAXIMUM.maxPacketSize),
    maxInflight: parseIntegerFlag("max-inflight", String(args["max-inflight"]), 1, PROTOCOL_LIMIT_MAXIMUM.maxInflight),
    connectTimeoutMs: durationFlag("idle-timeout", String(args["idle-timeout"]), 1),
    maxKeepaliveSec: parseIntegerFlag("max-keepalive", String(args["max-keepalive"]), 0, PROTOCOL_LIMIT_MAXIMUM.maxKeepaliveSec),
    maxTopicAlias: parseIntegerFlag("max-topic-alias", String(args["max-topic-alias"]), 0, PROTOCOL_LIMIT_MAXIMUM.maxTopicAlias),
  };
}

export interface ReliabilityOptions {
  /** persistence (when a file was named) and aedes's drainTimeout. */
  aedes: BrokerOptions["aedes"];
  queue: QueueLimits;
  drainTimeoutMs: number;
  /** Where the state is kept, for the log; undefined: in memory. */
  storage?: string;
  closePersistence(): Promise<void>;
}

/** Checks the reliability flags and opens the --persistence file: a bad value or an unusable file is a usage error. */
export function toReliabilityOptions(args: BrokerArgValues): ReliabilityOptions {
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
    // A 5 s heartbeat: aedes sends the wills of a run that crashed within 4 heartbeats (default: 4 min).
    aedes: { drainTimeout: stallTimeoutMs, ...(persistence ? { persistence, heartbeatInterval: 5_000 } : {}) },
    queue: { maxQueued, maxQueuedBytes, stallTimeoutMs },
    drainTimeoutMs,
    storage: target.kind === "sqlite" ? target.path : undefined,
    closePersistence: async () => {
      await persistence?.destroy();
    },
  };
}

export function toResourceLimits(args: BrokerArgValues): ResourceLimits {
  const count = (name: keyof BrokerArgValues) => parseIntegerFlag(name, String(args[name]), 0);
  return {
    maxSubscriptions: count("max-subscriptions"),
    maxRetained: count("max-retained"),
    maxRetainedBytes: count("max-retained-bytes"),
    retainedMaxSize: count("retained-max-size"),
    maxQueued: count("max-queued"),
    maxQueuedBytes: count("max-queued-bytes"),
  };
}

/**
 * The MQTT listeners' rule for /metrics: off loopback it needs --password-file, and with one it asks
 * for a user of it, unless --http-allow-anonymous says on purpose that anyone may read it.
 */
function metricsLogin(args: BrokerArgValues, access: AccessControlOptions) {
  const host = String(args["http-host"]);
  const rule = metricsAccess(host, access.users !== undefined, Boolean(args["http-allow-anonymous"]));
  if (rule === "refused") throw new UsageError(`refusing to serve /metrics on ${host} without authentication: give --password-file (then /metrics asks for a user of it), or --http-allow-anonymous`);
  if (rule === "open") return undefined;
  return (username: string, password: string, address: string | undefined) =>
    access.passwords.accepts(access.users!, address, username, password);
}

/** --console-admins: a list of users of the password file (it means nothing without one). */
function consoleOperators(args: BrokerArgValues, access: AccessControlOptions): ReadonlySet<string> | undefined {
  if (args["console-admins"] === undefined) return undefined;
  if (!access.users) throw new UsageError("--console-admins needs --password-file: without it anyone on loopback may use the console");
  return new Set(String(args["console-admins"]).split(",").map((name) => name.trim()).filter(Boolean));
}

function wsOriginsOf(args: BrokerArgValues) {
  try {
    return parseAllowedOrigins(args["ws-origin"] === undefined ? undefined : String(args["ws-origin"]));
  } catch (error) {
    if (error instanceof OriginError) throw new UsageError(`--ws-origin: ${error.message}`);
    throw error;
  }
}

/**
 * Listeners, access control and metrics from the flags: reads the files, checks every combination.
 * `reload` is what SIGHUP re-reads (src/broker/setup/reload.ts).
 */
export function toBrokerOptions(args: BrokerArgValues, limits: ProtocolLimits = toProtocolLimits(args)): { options: BrokerOptions; reload: ReloadTargets } {
  const host = String(args.host);
  const passwordFile = args["password-file"] ? String(args["password-file"]) : undefined;
  const aclFile = args["acl-file"] ? String(args["acl-file"]) : undefined;
  const users = passwordFile ? readPasswordFile(passwordFile) : undefined;
  const acl = aclFile ? readAclFile(aclFile) : undefined;
  const allowAnonymous = Boolean(args["allow-anonymous"]);
  const access: AccessControlOptions = { users, allowAnonymous, acl, ...toIdentityOptions(args), passwords: new PasswordChecker() };
  // mosquitto 2's rule: without authentication, only this machine may connect.
  if (!isLoopback(host) && !users && !allowAnonymous && !access.useIdentityAsUsername) {
    throw new UsageError(`refusing to listen on ${host} without authentication: give --password-file, --use-identity-as-username, or --allow-anonymous to let anyone in`);
  }
  const listeners: ListenerStarter[] = [];
  let tls: ReloadTargets["tls"];
  if (args["tls-port"] !== undefined) {
    const files = tlsFilesOf(args);
    tls = { files, credentials: new TlsCredentials(readTlsPem(files)) };
    const requireCertificate = Boolean(args["require-certificate"]);
    listeners.push(tlsListener({ host, port: portFlag(args["tls-port"], "tls-port"), credentials: tls.credentials, requireCertificate, handshakeTimeoutMs: limits.connectTimeoutMs }));
  } else if (args.cert || args.key || args.cafile || args["require-certificate"]) throw new UsageError("--cert, --key, --cafile and --require-certificate need --tls-port");
  if (args["ws-port"] !== undefined) {
    listeners.push(webSocketListener({ host, port: portFlag(args["ws-port"], "ws-port"), maxMessageBytes: limits.maxPacketSize, allowedOrigins: wsOriginsOf(args) }));
  } else if (args["ws-origin"] !== undefined) throw new UsageError("--ws-origin needs --ws-port");

  const sysIntervalMs = durationFlag("sys-interval", String(args["sys-interval"]));
  const httpPort = args["http-port"] === undefined ? undefined : portFlag(args["http-port"], "http-port");
  const resources = toResourceLimits(args);
  const limitCounters = new LimitCounters();
  const metrics = sysIntervalMs > 0 || httpPort !== undefined ? new BrokerMetrics({ limits: resources, counters: limitCounters }) : undefined;
  const services: NonNullable<BrokerOptions["services"]> = [enforceResourceLimits(resources, limitCounters)];
  if (metrics) services.push(metrics.attach);
  if (metrics && sysIntervalMs > 0) services.push(sysPublisher(metrics, Math.max(sysIntervalMs, 10)));
  let onListening: BrokerOptions["onListening"];
  if (metrics && httpPort !== undefined) {
    const http = httpWithConsole({ host: String(args["http-host"]), port: httpPort, metrics, access, operators: consoleOperators(args, access), checkLogin: metricsLogin(args, access) });
    if (http.service) services.push(http.service);
    listeners.push(http.listener);
    onListening = http.onListening;
  } else if (args["console-admins"] !== undefined) throw new UsageError("--console-admins needs --http-port");

  const options: BrokerOptions = {
    host,
    port: portFlag(args.port),
    aedes: accessControlHooks(access),
    listeners,
    services,
    onConnection: metrics?.countConnection,
    onListening,
  };
  return { options, reload: { access, passwordFile, aclFile, tls } };
}

/**
 * Everything the broker's flags decide: listeners, access control, protocol limits, --max-queued,
 * storage. A cluster's aedes options go under these (`{ ...cluster, ...options.aedes }`).
 */
export function brokerSetupOf(settings: BrokerArgValues): { options: BrokerOptions; reliability: ReliabilityOptions; reload: ReloadTargets } {
  const limits = toProtocolLimits(settings);
  const { options: listening, reload } = toBrokerOptions(settings, limits);
  const options: BrokerOptions = { ...listening, limits };
  const reliability = toReliabilityOptions(settings);
  options.queue = reliability.queue;
  options.aedes = { ...reliability.aedes, ...options.aedes };
  return { options, reliability, reload };
}
