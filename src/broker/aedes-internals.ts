// The one module that knows aedes's private fields: those of aedes 2.0.0-beta.1 and those our fork
// adds (patches/aedes/, docs/aedes-fork.md). Every other file reaches them through the types and
// functions here, so a field renamed in the fork is renamed here and `tsc` shows every use to fix;
// tests/unit/aedes-internals.test.ts reads each one from a running aedes, so this module cannot
// drift from the fork unnoticed either.
import type { Aedes, AedesOptions, AedesPublishPacket, Client } from "aedes";

/**
 * Per-connection collections the fork makes on first use (02-lean-connections). Reading
 * `client._inflightOut` would make one; these are read through `_lazy`, where an unmade one is null.
 */
interface LazyCollections {
  /** Packet ids of QoS 1/2 messages sent to the client and not yet acknowledged (06-outbound-window). */
  _inflightOut: Set<number> | null;
  /** QoS 1/2 messages waiting for room in that window, as packet, done pairs. */
  _waitingForWindow: unknown[] | null;
  /** Packet ids of MQTT 5 QoS 1/2 PUBLISH received and not yet acknowledged or released (07-inbound-receive-maximum). */
  _incomingInflight: Set<number> | null;
  /** Writes waiting for the socket to drain (aedes's drainTimeout). */
  _pendingDrains: unknown[] | null;
}

/** What aedes hands a subscription's delivery function: the fields our wrappers read. */
export interface DeliveredPacket {
  qos: number;
}

export type Deliver = (packet: DeliveredPacket, done: () => void) => void;

/** aedes's mqtt-packet parser of one connection, as its client holds it. */
export interface ClientParser extends NodeJS.EventEmitter {
  /** Set by aedes: the client the parser feeds. */
  client: unknown;
}

/** The connection streams the broker hands aedes (SocketStream, TLS socket, WebSocket duplex). */
export type ClientConnection = Client["conn"] & {
  writableLength?: number;
  bytesRead?: number;
  bytesWritten?: number;
  destroyed?: boolean;
  remoteAddress?: string;
  remotePort?: number;
  encrypted?: boolean;
  socket?: { remoteAddress?: string };
  ws?: { remoteAddress?: string };
};

/** The peer's address, where each kind of connection keeps it; undefined when none says. */
export function remoteAddressOf(conn: ClientConnection): string | undefined {
  return conn.remoteAddress ?? conn.socket?.remoteAddress ?? conn.ws?.remoteAddress;
}

/** A will as the client sent it in CONNECT (aedes keeps it until the session ends). */
export interface ClientWill {
  topic: string;
  payload?: Buffer;
  qos?: number;
  retain?: boolean;
  properties?: Record<string, unknown>;
  [field: string]: unknown;
}

/** aedes's Client with the private fields we read or replace. */
export interface AedesClient extends Client {
  conn: ClientConnection;
  /** Topic filter → subscription (aedes keeps `{ qos, ... }`; older entries may be a bare QoS). */
  subscriptions: Record<string, number | { qos: number }>;
  errored: boolean;
  /** Replaced by --max-queued's wrappers (slow-consumers.ts); aedes calls them for every delivery. */
  deliver0: Deliver;
  deliverQoS: Deliver;
  _parser: ClientParser;
  _lazy: LazyCollections | null;
  /** While a resumed session's stored queue is replayed: the live messages held till its end (17-replay-order). */
  _replay?: { held: unknown[] } | null;
  /** Keep-alive deadline in ms (1.5 × the keep alive, + 1), -1 or 0 when there is none (03-deadline-wheel). */
  _keepaliveInterval: number;
  /** MQTT 5: the client id the broker assigned, when the client sent none. */
  _assignedClientId?: string;
  _will?: ClientWill | null;
  id: string;
}

/** The parts of a persistence store we call beyond aedes's typings (aedes-persistence and our patches to it). */
export interface StoreInternals {
  createRetainedStream(pattern: string): AsyncIterable<AedesPublishPacket>;
  storeRetained(packet: AedesPublishPacket): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<void>;
  outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: AedesPublishPacket): Promise<void>;
  /** Retained messages and their payload bytes (65-retained-index); undefined on Redis's store (see retainedTotals). */
  retainedCount?: number;
  retainedBytes?: number;
  /** Messages and payload bytes stored for a client (patches/aedes-persistence/66-outgoing-size). */
  outgoingSize?(clientId: string): { count: number; bytes: number } | undefined;
  /** Payload bytes of the retained message on a topic (patches/aedes-persistence/65-retained-index). */
  retainedPayloadBytes?(topic: string): number | undefined;
  /**
   * Redis's store (patches/aedes-persistence-redis/65-retained-counters): storeRetained with the
   * retained limits checked in Redis with the write (0: none); the limit that refused it, if one did.
   */
  storeRetainedWithin?(packet: AedesPublishPacket, maxCount: number, maxBytes: number): Promise<"count" | "bytes" | undefined>;
  /** Redis's store: retained messages and payload bytes, from counters kept in Redis. */
  retainedTotals?(): Promise<{ count: number; bytes: number }>;
  /**
   * Redis's store (patches/aedes-persistence-redis/66-offline-queue-limits): outgoingEnqueueCombi with
   * --max-queued / --max-queued-bytes checked in Redis for the sessions `limited` marks; the client
   * ids that were full.
   */
  outgoingEnqueueWithin?(subs: Array<{ clientId: string }>, packet: AedesPublishPacket, maxCount: number, maxBytes: number, limited: boolean[]): Promise<string[]>;
}

/** aedes's broker with the private fields we read or replace. */
export interface AedesBroker extends Aedes {
  clients: Record<string, AedesClient>;
  persistence: StoreInternals;
  /** mqemitter: messages being routed now, and those waiting for its concurrency. */
  mq: { current: number; _messageQueue: unknown[] };
  /** The running hook (aedes copies the option onto itself); replaced by --cluster while Redis is away. */
  preConnect: NonNullable<AedesOptions["preConnect"]>;
  /** Whether SUBSCRIBE grants '$share/...' filters (09-shared-subscriptions); src/broker/shared-subscriptions.ts serves them. */
  sharedSubscriptionsAvailable: boolean;
}

export function brokerInternals(aedes: Aedes): AedesBroker {
  return aedes as unknown as AedesBroker;
}

export function clientInternals(client: Client): AedesClient {
  return client as unknown as AedesClient;
}

/** The clients connected now (aedes keeps them by id). */
export function connectedClients(aedes: Aedes): AedesClient[] {
  return Object.values(brokerInternals(aedes).clients);
}

/** Messages being routed by the broker's mqemitter, or waiting for its concurrency. */
export function messagesRouting(aedes: Aedes): number {
  const mq = brokerInternals(aedes).mq;
  return mq.current + mq._messageQueue.length;
}

/** QoS 1/2 messages sent to the client and not yet acknowledged. */
export function outboundUnacknowledged(client: Client): number {
  return clientInternals(client)._lazy?._inflightOut?.size ?? 0;
}

/** QoS 1/2 messages waiting for room in the client's Receive Maximum window. */
export function waitingForWindow(client: Client): number {
  return (clientInternals(client)._lazy?._waitingForWindow?.length ?? 0) / 2;
}

/** MQTT 5 QoS 1/2 messages received from the client and not yet acknowledged (QoS 1) or released by PUBREL (QoS 2). */
export function inboundUnacknowledged(client: Client): number {
  return clientInternals(client)._lazy?._incomingInflight?.size ?? 0;
}

/** Writes to the client waiting for its socket to drain. */
export function pendingDrains(client: Client): number {
  return clientInternals(client)._lazy?._pendingDrains?.length ?? 0;
}

/** Live messages held while the client's stored queue is replayed. */
export function heldForReplay(client: Client): number {
  return (clientInternals(client)._replay?.held.length ?? 0) / 2;
}

/** The keep alive the broker enforces on the client, in seconds (0: none). */
export function keepaliveSeconds(client: Client): number {
  const interval = clientInternals(client)._keepaliveInterval;
  return interval > 0 ? Math.round((interval - 1) / 1500) : 0;
}
