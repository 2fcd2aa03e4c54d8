// --max-queued: what the broker does for a subscriber that cannot keep up, so its memory stays bounded.
import type { Aedes, Client } from "aedes";
import { clientInternals, type DeliveredPacket, heldForReplay, pendingDrains, waitingForWindow } from "./aedes-internals";
import { log, SparseLog } from "../log";
import { ReasonCode } from "../core/reason-codes";

export interface QueueLimits {
  /** Messages waiting for one client (to be written, or for room in its receive window); 0: no limit. */
  maxQueued: number;
  /** Bytes written to one client's connection and not yet taken by the kernel, plus QoS 0 messages on
   * their way there; 0: no limit. A count of messages alone bounds nothing when messages are large. */
  maxQueuedBytes: number;
  /** A client whose queue stays full this long is disconnected (MQTT 5: reason 0x97). */
  stallTimeoutMs: number;
}

export interface QueueEvents {
  /** A QoS 0 message was not queued for this client (counted; log sparingly). */
  droppedQoS0(clientId: string): void;
  /** QoS 1/2 for this client is being held back (its publishers wait); log sparingly. */
  heldBack(clientId: string, queued: number): void;
  /** The client stayed full past stallTimeoutMs and is being disconnected. */
  stalled(clientId: string, queued: number): void;
}

const RECHECK_MS = 5;

/** What the console shows of one client's queue: messages waiting now, and QoS 0 messages dropped for it. */
export interface QueueState {
  queued(): number;
  dropped: number;
}
const queueStates = new WeakMap<object, QueueState>();

/** The queue of a client started with limitQueue; undefined without --max-queued limits. */
export function queueStateOf(client: object): QueueState | undefined {
  return queueStates.get(client);
}

/**
 * Policy, per client, once `maxQueued` messages or `maxQueuedBytes` bytes wait for it:
 * - QoS 0 is dropped for that client (at most once; others still get it), as mosquitto does.
 * - QoS 1/2 is held back: the broker finishes handling the PUBLISH (and acknowledges it) only when the
 *   client has room again, so publishers slow down to the pace of the slowest subscriber instead of
 *   the broker buffering without bound. A client that stays full for `stallTimeoutMs` is disconnected,
 *   so one stuck subscriber cannot hold everyone up for ever; a persistent session keeps its messages.
 * QoS 0 deliveries never hold up the broker: aedes would otherwise wait for a full socket to drain.
 */
export function limitQueue(aedesClient: Client, limits: QueueLimits, events: QueueEvents): void {
  if (limits.maxQueued <= 0 && limits.maxQueuedBytes <= 0) return;
  const maxQueued = limits.maxQueued > 0 ? limits.maxQueued : Infinity;
  const maxQueuedBytes = limits.maxQueuedBytes > 0 ? limits.maxQueuedBytes : Infinity;
  const client = clientInternals(aedesClient);
  const deliver0 = client.deliver0;
  const deliverQoS = client.deliverQoS;
  let pendingQoS0 = 0;
  const held: Array<[DeliveredPacket, () => void, number]> = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const queued = () =>
    pendingQoS0 + waitingForWindow(client) + heldForReplay(client) + pendingDrains(client) + held.length;
  const queuedBytes = () => client.conn.writableLength ?? 0;
  const full = () => queued() >= maxQueued || queuedBytes() >= maxQueuedBytes;
  const writtenQoS0 = () => void pendingQoS0--;
  const state: QueueState = { queued, dropped: 0 };
  queueStates.set(aedesClient, state);

  client.deliver0 = (packet, done) => {
    if (client.closed) return deliver0(packet, done);
    if (full()) {
      state.dropped++;
      if (client.id) events.droppedQoS0(client.id);
    } else {
      pendingQoS0++;
      // aedes writes it to the connection before this returns, so its bytes are in
      // conn.writableLength from now on (or already in the kernel). The publish goes on at once
      // (QoS 0 never waits for a slow subscriber), and without a closure per message.
      deliver0(packet, writtenQoS0);
      queueMicrotask(done);
      return;
    }
    // Dropped: the publish goes on as well.
    queueMicrotask(done);
  };

  client.deliverQoS = (packet, done) => {
    if (packet.qos === 0 || client.closed || (held.length === 0 && !full())) return deliverQoS(packet, done);
    if (held.length === 0 && client.id) events.heldBack(client.id, queued());
    held.push([packet, done, performance.now()]);
    timer ??= setTimeout(release, RECHECK_MS);
  };

  // Room is made by acknowledgements and drained sockets, which aedes does not announce; look again soon.
  function release() {
    timer = undefined;
    while (held.length > 0 && (client.closed || (queued() - held.length < maxQueued && queuedBytes() < maxQueuedBytes))) {
      const [packet, done] = held.shift()!;
      deliverQoS(packet, done);
    }
    if (held.length === 0) return;
    if (performance.now() - held[0]![2] > limits.stallTimeoutMs && !client.closed) {
      events.stalled(client.id ?? "?", queued());
      client.disconnect({ reasonCode: ReasonCode.quotaExceeded });
    }
    timer = setTimeout(release, RECHECK_MS);
  }

  client.conn.once("close", () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    // aedes answers each with a write error ("connection closed"); a persistent session keeps them stored.
    for (const [packet, done] of held.splice(0)) deliverQoS(packet, done);
  });
}

/** Log lines for the events above: a slow consumer can drop thousands a second, so one line per client per 10 s. */
export function queueEventLog(aedes: Aedes): QueueEvents {
  const drops = new Map<string, { loggedAt: number; dropped: number }>();
  const holds = new SparseLog();
  aedes.on("clientDisconnect", (client) => {
    drops.delete(client.id);
    holds.forget(client.id);
  });
  return {
    droppedQoS0(clientId) {
      let entry = drops.get(clientId);
      if (!entry) drops.set(clientId, (entry = { loggedAt: -Infinity, dropped: 0 }));
      entry.dropped++;
      const now = performance.now();
      if (now - entry.loggedAt < 10_000) return;
      log.warn(`Client ${clientId} is not keeping up: ${entry.dropped} QoS 0 message(s) dropped for it (--max-queued).`);
      entry.loggedAt = now;
      entry.dropped = 0;
    },
    heldBack(clientId, queued) {
      if (!holds.due(clientId)) return;
      log.warn(`Client ${clientId} is not keeping up: ${queued} message(s) queued for it; QoS 1/2 publishers wait (--max-queued).`);
    },
    stalled(clientId, queued) {
      log.warn(`Client ${clientId} has had ${queued} messages queued for too long (--slow-consumer-timeout); disconnecting it.`);
    },
  };
}
