// Caps on what one client can make the broker keep: subscriptions, retained messages, and the
// messages stored for a persistent session while it is offline (docs/security.md, "Limits").
import type { Aedes, Client } from "aedes";
import { log, SparseLog } from "../log";
import { brokerInternals, clientInternals, type StoreInternals } from "./aedes-internals";

export interface ResourceLimits {
  /** Subscriptions per client; a SUBSCRIBE past it is refused for the filters over (0: no limit). */
  maxSubscriptions: number;
  /** Retained messages in the store; a new retained topic past it is not kept (0: no limit). */
  maxRetained: number;
  /** Payload bytes of all retained messages (0: no limit). */
  maxRetainedBytes: number;
  /** Payload bytes of one retained message; a larger one is delivered but not kept (0: no limit). */
  retainedMaxSize: number;
  /** Messages and bytes stored for one offline persistent session (--max-queued, --max-queued-bytes). */
  maxQueued: number;
  maxQueuedBytes: number;
}

export const DEFAULT_RESOURCE_LIMITS = {
  maxSubscriptions: 10_000,
  maxRetained: 100_000,
  maxRetainedBytes: 64 * 1024 * 1024,
  retainedMaxSize: 1024 * 1024,
} as const;

/** What each limit turned away since the start, for /metrics and $SYS. */
export class LimitCounters {
  /** Subscriptions refused by --max-subscriptions. */
  subscriptions = 0;
  /** Retained messages not kept (--max-retained, --max-retained-bytes, --retained-max-size). */
  retained = 0;
  /** Messages not kept for an offline session (--max-queued, --max-queued-bytes). */
  offlineMessages = 0;
}

/** SUBACK reason for a subscription over the cap (MQTT 5; 3.1.1 gets 0x80). */
const QUOTA_EXCEEDED = 0x97;

type AuthorizeSubscribe = Aedes["authorizeSubscribe"];

/** A service (BrokerOptions.services) that puts the limits on a broker's hooks and store. */
export function enforceResourceLimits(limits: ResourceLimits, counters: LimitCounters): (aedes: Aedes) => { close(): void } {
  return (aedes) => {
    // A flood of refusals logs one line per kind (per client) every 10 s.
    const warn = new SparseLog();
    if (limits.maxSubscriptions > 0) limitSubscriptions(aedes, limits.maxSubscriptions, counters, warn);
    const store = brokerInternals(aedes).persistence;
    limitRetained(store, limits, counters, warn);
    // Redis's store is checked first: it inherits an outgoingSize that answers nothing.
    if (store.outgoingEnqueueWithin !== undefined) limitOfflineQueuesInRedis(aedes, store, limits, counters, warn);
    else if (store.outgoingSize !== undefined) limitOfflineQueues(aedes, store, limits, counters, warn);
    return { close() {} };
  };
}

function limitSubscriptions(aedes: Aedes, max: number, counters: LimitCounters, warn: SparseLog): void {
  const authorize: AuthorizeSubscribe = aedes.authorizeSubscribe;
  // Per client, while one SUBSCRIBE is handled: its subscriptions counted once at its first filter,
  // plus the new filters granted since (aedes authorizes the filters of a packet in parallel).
  // Counting the subscriptions at every filter would make a SUBSCRIBE of n filters cost n².
  const tallies = new WeakMap<Client, { count: number; granted: Set<string> }>();
  const forget = (_topics: unknown, client: Client | null) => client && tallies.delete(client);
  aedes.on("subscribe", forget);
  aedes.on("unsubscribe", forget);
  aedes.authorizeSubscribe = (client, subscription, callback) => {
    authorize.call(aedes, client, subscription, (error, granted) => {
      if (error || !granted || !client) return callback(error, granted);
      const existing = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;
      let tally = tallies.get(client);
      if (!tally) tallies.set(client, (tally = { count: Object.keys(existing).length, granted: new Set() }));
      if (Object.hasOwn(existing, granted.topic) || tally.granted.has(granted.topic)) return callback(null, granted);
      if (tally.count < max) {
        tally.count++;
        tally.granted.add(granted.topic);
        return callback(null, granted);
      }
      counters.subscriptions++;
      if (warn.due(`subscriptions ${client.id}`)) log.warn(`Client ${client.id} has ${max} subscriptions (--max-subscriptions); refused ${granted.topic}.`);
      // A reason code instead of a subscription: patches/aedes/66-subscribe-refusal-code.patch.
      (callback as unknown as (error: null, refusal: number) => void)(null, QUOTA_EXCEEDED);
    });
  };
}

function limitRetained(store: StoreInternals, limits: ResourceLimits, counters: LimitCounters, warn: SparseLog): void {
  const storeRetained = store.storeRetained.bind(store);
  const refuse = (topic: string, reason: string) => {
    counters.retained++;
    if (warn.due(`retained ${reason}`)) log.warn(`Retained message on ${topic} not kept (${reason}); it was delivered to current subscribers.`);
  };
  const storeWithin = store.storeRetainedWithin?.bind(store);
  store.storeRetained = async (packet) => {
    const size = packet.payload.length;
    if (size > 0) {
      const reason = retainedRefusal(store, limits, packet.topic, size);
      if (reason) return refuse(packet.topic, reason);
    }
    // Redis's store counts in Redis, shared by every node: it checks the limits with the write.
    if (storeWithin === undefined) return storeRetained(packet);
    const refused = await storeWithin(packet, Math.max(limits.maxRetained, 0), Math.max(limits.maxRetainedBytes, 0));
    if (refused) refuse(packet.topic, refused === "count" ? "--max-retained" : "--max-retained-bytes");
  };
}

/** Which limit a retained message of `size` bytes on `topic` would pass, or undefined when none. */
export function retainedRefusal(store: Pick<StoreInternals, "retainedCount" | "retainedBytes" | "retainedPayloadBytes">, limits: ResourceLimits, topic: string, size: number): string | undefined {
  if (limits.retainedMaxSize > 0 && size > limits.retainedMaxSize) return "--retained-max-size";
  if (store.retainedCount === undefined) return undefined;
  const replaced = store.retainedPayloadBytes?.(topic);
  if (limits.maxRetained > 0 && replaced === undefined && store.retainedCount >= limits.maxRetained) return "--max-retained";
  if (limits.maxRetainedBytes > 0 && (store.retainedBytes ?? 0) - (replaced ?? 0) + size > limits.maxRetainedBytes) return "--max-retained-bytes";
  return undefined;
}

function limitOfflineQueues(aedes: Aedes, store: StoreInternals, limits: ResourceLimits, counters: LimitCounters, warn: SparseLog): void {
  if (limits.maxQueued <= 0 && limits.maxQueuedBytes <= 0) return;
  const enqueue = store.outgoingEnqueueCombi.bind(store);
  const clients: Record<string, Client | undefined> = brokerInternals(aedes).clients;
  const full = (clientId: string) => {
    // A connected client's queue is bounded as it is delivered (slow-consumers.ts); this is for the others.
    if (clients[clientId]) return false;
    const queued = store.outgoingSize!(clientId);
    if (!queued) return false;
    // As mosquitto's max_queued_messages and max_queued_bytes: a message is kept while fewer than the
    // limit are stored and the stored bytes do not exceed it (so the last one kept may go over).
    return (limits.maxQueued > 0 && queued.count >= limits.maxQueued) || (limits.maxQueuedBytes > 0 && queued.bytes > limits.maxQueuedBytes);
  };
  store.outgoingEnqueueCombi = (subs, packet) => {
    // Copied only once some session is full: the common case passes `subs` on untouched.
    let kept: typeof subs | undefined;
    for (let i = 0; i < subs.length; i++) {
      const clientId = subs[i]!.clientId;
      if (!full(clientId)) {
        kept?.push(subs[i]!);
        continue;
      }
      kept ??= subs.slice(0, i);
      counters.offlineMessages++;
      warnFull(warn, clientId, limits);
    }
    if (kept === undefined) return enqueue(subs, packet);
    return kept.length === 0 ? Promise.resolve() : enqueue(kept, packet);
  };
}

/** The same for Redis's store (--cluster): the queue lengths and bytes are read in Redis, with the write. */
function limitOfflineQueuesInRedis(aedes: Aedes, store: StoreInternals, limits: ResourceLimits, counters: LimitCounters, warn: SparseLog): void {
  if (limits.maxQueued <= 0 && limits.maxQueuedBytes <= 0) return;
  const enqueueWithin = store.outgoingEnqueueWithin!.bind(store);
  const clients: Record<string, Client | undefined> = brokerInternals(aedes).clients;
  store.outgoingEnqueueCombi = async (subs, packet) => {
    // Connected here: bounded as it is delivered (slow-consumers.ts). A client connected to another
    // node is limited as an offline one here: its Redis queue holds what it has not acknowledged.
    const limited = subs.map((sub) => clients[sub.clientId] === undefined);
    const full = await enqueueWithin(subs, packet, Math.max(limits.maxQueued, 0), Math.max(limits.maxQueuedBytes, 0), limited);
    for (const clientId of full) {
      counters.offlineMessages++;
      warnFull(warn, clientId, limits);
    }
  };
}

function warnFull(warn: SparseLog, clientId: string, limits: ResourceLimits): void {
  if (warn.due(`offline ${clientId}`)) log.warn(`Offline session ${clientId} is full (--max-queued ${limits.maxQueued}, --max-queued-bytes ${limits.maxQueuedBytes}); new messages for it are not kept.`);
}
