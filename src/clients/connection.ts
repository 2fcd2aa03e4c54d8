import { randomBytes } from "node:crypto";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { useBunTcp } from "./bun-tcp-stream";
import WebSocket from "ws";
import { log } from "../log";
import { disconnect } from "./disconnect";
import { urlHost, urlPort } from "../core/address";
import { ConnackReturnCode, ReasonCode } from "../core/reason-codes";

/** Everything a client subcommand needs to reach a broker; built once from flags by the command. */
export interface ConnectionOptions {
  /** mqtt://host:port (mqtts://, ws://, wss:// too). */
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSec: number;
  clean: boolean;
  /** MQTT 5 Session Expiry Interval in seconds (0xFFFFFFFF: never); ignored under 3.1.1. */
  sessionExpirySec?: number;
  /** 5 falls back to 4 (3.1.1) when the broker refuses 5. */
  protocolVersion: 4 | 5;
  /** Give up connecting after this long (ms); retry every connectRetryMs until then. */
  connectTimeoutMs: number;
  connectRetryMs: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  /** More brokers of one cluster (repeated --url): tried in turn after `url`, while connecting and with `reconnect`. */
  failoverUrls?: string[];
  /** --reconnect: after a loss, reconnect every connectRetryMs, to the next broker first, instead of reporting it lost. */
  reconnect?: boolean;
  /**
   * Called with each new client before it sends CONNECT: listeners attached here see messages a
   * resumed session delivers right after CONNACK, before connect() returns.
   */
  prepareClient?: (client: MqttClient) => void;
  /** Extra MQTT.js options a role needs (will, ...); MQTT 5 properties in them are dropped under 3.1.1. */
  extra?: IClientOptions;
}

export const DEFAULT_CONNECT_RETRY_MS = 100;

/** The client id used when none is given: unique, so two clients never knock each other off. */
export function defaultClientId(role: string): string {
  return `mqtt-pingpong-${role}-${randomBytes(4).toString("hex")}`;
}

export interface ConnectTiming {
  /** TCP (and TLS) handshake of the attempt that succeeded, in ms. */
  transportMs: number;
  /** From the attempt's start to CONNACK, in ms. */
  connackMs: number;
  /** Attempts made, the successful one included. */
  attempts: number;
}

export class ConnectionError extends Error {}

export interface Connection {
  readonly client: MqttClient;
  readonly timing: ConnectTiming;
  /** host:port as the user named it, for messages (with `reconnect`: the broker connected now). */
  readonly target: string;
  readonly protocolVersion: 4 | 5;
  /** Called once if the connection drops without us ending it (never with `reconnect`). */
  onLost(listener: (reason: string) => void): void;
  /** With `reconnect`: the connection dropped, and later it is back (on the same broker or another). */
  onFailover(listener: (event: FailoverEvent) => void): void;
  /** Sends DISCONNECT and closes; the loss listener does not fire. */
  end(): Promise<void>;
}

export type FailoverEvent =
  | { kind: "lost"; target: string; reason: string }
  | { kind: "restored"; target: string; downMs: number };

export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.host || url;
  } catch {
    return url;
  }
}

/** 3.1.1 CONNACK code 1 / MQTT 5 reason 0x84: the broker does not speak this protocol version. */
function isProtocolRefusal(error: Error & { code?: unknown }): boolean {
  return error.code === ConnackReturnCode.unacceptableProtocolVersion || error.code === ReasonCode.unsupportedProtocolVersion;
}

/** A TLS verification failure: the same certificate fails again, so retrying cannot help. */
function isTlsRefusal(error: Error & { code?: unknown }): boolean {
  return typeof error.code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|HOSTNAME|ERR_SSL|ERR_TLS/.test(error.code);
}

/**
 * Connects, retrying every `connectRetryMs` until `connectTimeoutMs`, so the roles can start in any
 * order. A refused CONNACK (bad credentials, not authorised) is final: retrying cannot fix it.
 */
export async function connect(options: ConnectionOptions): Promise<Connection> {
  const urls = [options.url, ...(options.failoverUrls ?? [])];
  const target = urls.map(describeTarget).join(", ");
  const deadline = performance.now() + options.connectTimeoutMs;
  let protocolVersion = options.protocolVersion;
  let attempts = 0;
  let lastError = "";
  for (;;) {
    attempts++;
    const remainingMs = deadline - performance.now();
    // Several brokers: each attempt goes to the next, and the one that answers comes first.
    const first = (attempts - 1) % urls.length;
    const rotated = [...urls.slice(first), ...urls.slice(0, first)];
    const attemptOptions = { ...options, url: rotated[0]!, failoverUrls: rotated.slice(1) };
    const attempt = await attemptConnect(attemptOptions, protocolVersion, Math.max(1, remainingMs));
    if (attempt.client) return wrap(attempt.client, { ...attempt.timing!, attempts }, describeTarget(rotated[0]!), protocolVersion, options);
    const error = attempt.error!;
    if (attempt.refused) {
      if (protocolVersion === 5 && isProtocolRefusal(error)) {
        log.warn(`${target} refused MQTT 5; falling back to MQTT 3.1.1.`);
        protocolVersion = 4;
        continue;
      }
      throw new ConnectionError(`connection to ${target} refused: ${error.message}`);
    }
    if (isTlsRefusal(error)) throw new ConnectionError(`TLS with ${target} failed: ${error.message}`);
    if (error.message !== lastError) log.debug(`connect to ${target} failed: ${error.message}; retrying`);
    lastError = error.message;
    if (performance.now() + options.connectRetryMs >= deadline) {
      throw new ConnectionError(
        `could not connect to ${target} within ${options.connectTimeoutMs / 1000} s: ${error.message}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.connectRetryMs));
  }
}

interface Attempt {
  client?: MqttClient;
  timing?: { transportMs: number; connackMs: number };
  error?: Error & { code?: number | string };
  /** The broker answered with a refusing CONNACK (not a network failure). */
  refused?: boolean;
}

function attemptConnect(options: ConnectionOptions, protocolVersion: 4 | 5, timeoutMs: number): Promise<Attempt> {
  const started = performance.now();
  let transportMs = NaN;
  const markTransport = () => (transportMs = performance.now() - started);
  // MQTT.js parses a URL string with the deprecated url.parse(); hand it the parts instead.
  const url = new URL(options.url);
  const v5 = protocolVersion === 5;
  const extra = v5 ? options.extra : withoutProperties(options.extra);
  const client = mqtt.connect({
    protocol: url.protocol.slice(0, -1) as IClientOptions["protocol"],
    hostname: urlHost(url),
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname && url.pathname !== "/" ? url.pathname : undefined,
    clientId: options.clientId,
    username: options.username,
    password: options.password,
    keepalive: options.keepaliveSec,
    clean: options.clean,
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    // The stream is built below, once plain TCP is switched to Bun's native sockets (bun-tcp-stream.ts).
    manualConnect: true,
    ca: options.tls?.ca,
    cert: options.tls?.cert,
    key: options.tls?.key,
    rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
    // Over ws:// and wss:// MQTT.js hands us a stream that never says "connect": the transport is up
    // when the WebSocket opens (TCP, TLS and the HTTP upgrade), so make the WebSocket here and watch it.
    createWebsocket: (wsUrl: string, subprotocols: string[], wsOptions: IClientOptions) => {
      const socket = new WebSocket(wsUrl, subprotocols, wsOptions.wsOptions as WebSocket.ClientOptions);
      socket.once("open", markTransport);
      return socket;
    },
    // --reconnect: MQTT.js reconnects by itself, to these brokers in turn (wrap() turns it on). QoS 0
    // messages published meanwhile are dropped, not queued, so a gap shows as a gap.
    ...(options.reconnect ? { servers: [options.url, ...(options.failoverUrls ?? [])].map(serverOf), queueQoSZero: false } : {}),
    ...extra,
    properties:
      v5 && options.sessionExpirySec !== undefined
        ? { ...extra?.properties, sessionExpiryInterval: options.sessionExpirySec }
        : extra?.properties,
  });
  useBunTcp(client);
  client.connect();
  options.prepareClient?.(client);
  const stream = client.stream as unknown as NodeJS.EventEmitter & { setNoDelay?: (on: boolean) => void };
  stream.setNoDelay?.(true);
  stream.once("secureConnect", markTransport);
  stream.once("connect", () => {
    if (Number.isNaN(transportMs)) markTransport();
  });

  return new Promise((resolve) => {
    const finish = (attempt: Attempt) => {
      client.removeListener("connect", onConnect);
      client.removeListener("error", onError);
      client.removeListener("close", onClose);
      if (!attempt.client) client.end(true);
      resolve(attempt);
    };
    const onConnect = () =>
      finish({ client, timing: { transportMs, connackMs: performance.now() - started } });
    const onError = (error: Error & { code?: number | string }) =>
      finish({ error, refused: typeof error.code === "number" });
    const onClose = () => finish({ error: new Error("connection closed before CONNACK") });
    client.once("connect", onConnect);
    client.once("error", onError);
    client.once("close", onClose);
  });
}

type Server = NonNullable<IClientOptions["servers"]>[number];

function serverOf(text: string): Server {
  const url = new URL(text);
  const protocol = url.protocol.slice(0, -1) as NonNullable<Server["protocol"]>;
  return { host: urlHost(url), port: urlPort(url), protocol };
}

/** MQTT 3.1.1 has no properties: strip them (connect and will) for the fallback. */
function withoutProperties(extra: IClientOptions | undefined): IClientOptions | undefined {
  if (!extra) return extra;
  const { properties: _, ...rest } = extra;
  if (rest.will) {
    const { properties: __, ...will } = rest.will;
    rest.will = will;
  }
  return rest;
}

function wrap(client: MqttClient, timing: ConnectTiming, target: string, protocolVersion: 4 | 5, options: ConnectionOptions): Connection {
  let ending = false;
  let lostListener: ((reason: string) => void) | undefined;
  let lostReason: string | undefined;
  let serverDisconnectReason: string | undefined;

  const reportLost = (reason: string) => {
    if (ending || lostReason !== undefined) return;
    lostReason = reason;
    lostListener?.(reason);
  };
  client.on("disconnect", (packet) => {
    const code = packet.reasonCode ?? 0;
    serverDisconnectReason =
      code === ReasonCode.sessionTakenOver
        ? `another client connected with the same client id "${options.clientId}" and took this session over`
        : `the broker sent DISCONNECT (reason 0x${code.toString(16).padStart(2, "0")}${packet.properties?.reasonString ? `: ${packet.properties.reasonString}` : ""})`;
  });
  // 'close' fires as soon as the socket closes, long before a keepalive would notice.
  const lostText = () => `connection to ${target} lost${serverDisconnectReason ? `: ${serverDisconnectReason}` : ""}`;
  let failoverListener: ((event: FailoverEvent) => void) | undefined;
  if (options.reconnect) {
    // From now on MQTT.js reconnects by itself, rotating through the brokers; subscriptions made with
    // a reconnect period are made again on a new session.
    client.options.reconnectPeriod = options.connectRetryMs;
    let downSince: number | undefined;
    client.on("close", () => {
      if (ending || downSince !== undefined) return; // every failed retry closes again
      downSince = performance.now();
      failoverListener?.({ kind: "lost", target, reason: lostText() });
    });
    client.on("connect", () => {
      if (downSince === undefined) return;
      const downMs = performance.now() - downSince;
      downSince = undefined;
      serverDisconnectReason = undefined;
      target = `${client.options.hostname ?? client.options.host}:${client.options.port}`;
      failoverListener?.({ kind: "restored", target, downMs });
    });
  } else {
    client.on("close", () => reportLost(lostText()));
  }
  client.on("error", (error) => log.debug(`client error: ${error.message}`));

  return {
    client,
    timing,
    get target() {
      return target;
    },
    protocolVersion,
    onLost(listener) {
      lostListener = listener;
      if (lostReason !== undefined) listener(lostReason);
    },
    onFailover(listener) {
      failoverListener = listener;
    },
    end() {
      ending = true;
      return disconnect(client);
    },
  };
}
