import type { Duplex } from "node:stream";
import { Aedes, type AedesOptions, type Client } from "aedes";
import mqttPacket from "mqtt-packet";
import { bindAll, ListenError, type Listener } from "./listeners/bind";
import { listenTcp } from "./listeners/tcp";
import { describePayload } from "../core/payload";
import { logLimitEvents, protocolOptions, type ProtocolLimits } from "./protocol-options";
import { infoLine, isDebugEnabled, log } from "../log";
import { drain, type DrainState } from "./drain";
import { guardProtocol } from "./protocol-guard";
import { limitQueue, queueEventLog, type QueueEvents, type QueueLimits } from "./slow-consumers";
import { brokerInternals } from "./aedes-internals";
import { serveSharedSubscriptions } from "./shared-subscriptions";
import { warmUpMessagePath } from "./warm-up";

export interface BrokerOptions {
  host: string;
  port: number;
  /** Protocol limits (defaults: DEFAULT_PROTOCOL_LIMITS). */
  limits?: ProtocolLimits;
  /** Extra aedes options (limits, hooks); the broker role owns the listeners. */
  aedes?: AedesOptions;
  /** Listeners beside plain TCP (TLS, WebSocket, HTTP); each hands its MQTT connections to `accept`. */
  listeners?: ListenerStarter[];
  /** Sees every MQTT connection before aedes does (metrics count its bytes). */
  onConnection?: (stream: Duplex) => void;
  /** Started once aedes exists, before any listener ($SYS, metrics); stopped first on close. */
  services?: Array<(aedes: Aedes) => { close(): void | Promise<void> }>;
  /** Told every address bound once all listeners are up (the console shows them). */
  onListening?: (addresses: string[]) => void;
  /** --max-queued and what happens to a subscriber that stays full (src/broker/slow-consumers.ts). */
  queue?: QueueLimits;
  /** Run the message path in a private broker right after start, so the first messages find it compiled (./warm-up.ts). Default true. */
  warmUp?: boolean;
}

/** Hands a new MQTT connection (a socket, or a WebSocket wrapped as a Duplex) to the broker. */
export type Accept = (stream: Duplex) => void;
export type ListenerStarter = (accept: Accept) => Promise<Listener>;

export interface BrokerHandle {
  readonly aedes: Aedes;
  /** Every address actually bound, e.g. 127.0.0.1:10008 and [::1]:10008. */
  readonly addresses: string[];
  readonly port: number;
  /** Resolves once the start-up warm-up of the message path is over (./warm-up.ts). */
  readonly warmedUp: Promise<void>;
  /**
   * Stops accepting, closes every client, and resolves when all is shut. With `drainMs`, first
   * delivers what is in flight for up to that long (see src/broker/drain.ts).
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

export { ListenError };

export async function startBroker(options: BrokerOptions): Promise<BrokerHandle> {
  // mqtt-packet's writer otherwise builds, on its first packet, a table of 65,536 two-byte buffers
  // for the packet ids and lengths it writes: megabytes held for the life of the process to save
  // allocating two bytes (measured in docs/performance-log.md, 69e421a).
  mqttPacket.writeToStream.cacheNumbers = false;
  // No $SYS/<id>/new/clients per connect unless a cluster needs it (its options say so). Shared
  // subscriptions are served by this process (shared-subscriptions.ts), so not with a cluster's mq.
  const aedes = await Aedes.createBroker({
    announceClients: false,
    sharedSubscriptionsAvailable: !options.aedes?.mq,
    ...protocolOptions(options.limits),
    ...options.aedes,
  } as AedesOptions);
  if (brokerInternals(aedes).sharedSubscriptionsAvailable) serveSharedSubscriptions(aedes);
  attachLogging(aedes);
  logLimitEvents(aedes);
  const services = (options.services ?? []).map((start) => start(aedes));

  const streams = new Set<Duplex>();
  const drainState: DrainState = { draining: false };
  const queueEvents = queueEventLog(aedes);
  // One listener function for every stream (it is `this`), not a closure per connection.
  const forget = function (this: Duplex) {
    streams.delete(this);
  };
  // What every connection gets, here and in the start-up warm-up's private broker (./warm-up.ts).
  const handle = (target: Aedes, stream: Duplex, state: DrainState, events: QueueEvents) => {
    const client = target.handle(stream);
    guardProtocol(client, state);
    if (options.queue) limitQueue(client, options.queue, events);
  };
  const accept: Accept = (stream) => {
    streams.add(stream);
    stream.on("close", forget);
    options.onConnection?.(stream);
    handle(aedes, stream, drainState, queueEvents);
  };
  const listeners: Listener[] = [];
  try {
    listeners.push(
      // Plain TCP on Bun's native sockets (listeners/tcp.ts): less memory and CPU per connection than node:net.
      await bindAll(options.host, options.port, async (host, port) => listenTcp(host, port, accept)),
    );
    for (const start of options.listeners ?? []) listeners.push(await start(accept));
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    await Promise.all(services.map((service) => service.close()));
    await new Promise((resolve) => aedes.close(() => resolve(undefined)));
    throw error;
  }

  options.onListening?.(listeners.flatMap((listener) => listener.addresses));
  const warmUp =
    options.warmUp === false
      ? undefined
      : warmUpMessagePath(protocolOptions(options.limits) as AedesOptions, (target, stream) => handle(target, stream, { draining: false }, queueEventLog(target)));
  if (warmUp && isDebugEnabled()) {
    const startedAt = performance.now();
    void warmUp.done.then((ranThrough) => ranThrough && log.debug(`Message path warmed up in ${Math.round(performance.now() - startedAt)} ms.`));
  }
  let closing: Promise<void> | undefined;
  const close = (closeOptions: { drainMs?: number } = {}) =>
    (closing ??= (async () => {
      // Stop accepting first, in this very tick: nothing new may connect once shutdown has begun.
      const stopped = Promise.all(listeners.map((listener) => listener.close()));
      await warmUp?.stop();
      await Promise.all(services.map((service) => service.close()));
      if (closeOptions.drainMs) {
        const left = await drain(aedes, drainState, closeOptions.drainMs);
        if (left > 0) log.warn(`${left} message(s) still in flight after the ${closeOptions.drainMs / 1000} s drain timeout.`);
      }
      await new Promise((resolve) => aedes.close(() => resolve(undefined)));
      // Connections that never sent CONNECT are not aedes clients yet; close them too. Those aedes
      // is ending after a DISCONNECT (0x8B) close by themselves within 2 s: destroying them could
      // drop the DISCONNECT before it is out.
      const ending = [...streams].filter((stream) => stream.writableEnded && !stream.destroyed);
      for (const stream of streams) if (!stream.writableEnded) stream.destroy();
      await Promise.all([stopped, ...ending.map((stream) => new Promise((resolve) => stream.once("close", resolve)))]);
    })());

  const warmedUp = warmUp ? warmUp.done.then(() => {}) : Promise.resolve();
  return { aedes, addresses: listeners.flatMap((listener) => listener.addresses), port: listeners[0]!.port, warmedUp, close };
}

function clientName(client: Client | null): string {
  return client ? client.id : "(broker)";
}

function attachLogging(aedes: Aedes): void {
  aedes.on("client", (client) => infoLine(`Client ${client.id} connected.`));
  aedes.on("clientDisconnect", (client) => infoLine(`Client ${client.id} disconnected.`));
  aedes.on("subscribe", (subscriptions, client) => {
    // One write for the whole SUBSCRIBE, without consola's work per line: a packet may hold thousands.
    const lines: string[] = [];
    for (const subscription of subscriptions) {
      if (subscription.qos >= 0x80) continue; // refused (ACL, a limit): the granted "QoS" is a failure code
      lines.push(`Client ${clientName(client)} subscribed to ${subscription.topic} (QoS ${subscription.qos}).`);
    }
    if (lines.length > 0) infoLine(lines.join("\n"));
  });
  aedes.on("unsubscribe", (topics, client) => {
    // aedes also "unsubscribes" a clean session as it closes; only log what the client asked for.
    if (client && !client.closed) log.info(`Client ${client.id} unsubscribed from ${topics.join(", ")}.`);
  });
  aedes.on("clientError", (client, error) => log.debug(`Client ${client.id}: ${error.message}`));
  aedes.on("connectionError", (_client, error) => log.debug(`Connection error: ${error.message}`));
  // The per-message listener exists only with --verbose, so the message path pays nothing otherwise.
  if (isDebugEnabled()) {
    aedes.on("publish", (packet, client) => {
      if (!client) return; // the broker's own $SYS heartbeats
      log.debug(`Client ${client.id} published ${describePayload(packet.payload as Buffer)} on ${packet.topic} (QoS ${packet.qos}).`);
    });
  }
}
