// aedes-persistence ships types for its package root only; these are the files we import directly.
declare module "aedes-persistence/asyncPersistence.js" {
  import type { Readable } from "node:stream";
  type Any = any;
  /** The in-memory persistence aedes uses by default (async API). */
  export default class MemoryPersistence {
    constructor(options?: Any);
    /** The broker given to setup(). */
    readonly broker: Any;
    setup(broker: Any): Promise<void>;
    storeRetained(packet: Any): Promise<void>;
    createRetainedStream(pattern: string): Readable;
    createRetainedStreamCombi(patterns: string[]): Readable;
    /** Patched in: retained messages stored, and their payload bytes (counters, not a walk). */
    readonly retainedCount: number;
    readonly retainedBytes: number;
    /** Patched in: the payload size of the message retained on `topic`, undefined when none. */
    retainedPayloadBytes(topic: string): number | undefined;
    addSubscriptions(client: Any, subs: Any[]): Promise<void>;
    removeSubscriptions(client: Any, topics: string[]): Promise<void>;
    subscriptionsByClient(client: Any): Promise<Any[]>;
    countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
    subscriptionsByTopic(pattern: string): Promise<Any[]>;
    /** Patched in: whether subscriptionsByTopic can find anything (aedes skips it when not). */
    hasOfflineSubscriptions(): boolean;
    cleanSubscriptions(client: Any): Promise<void>;
    storeSession(clientId: string): Promise<void>;
    hasSession(clientId: string): Promise<boolean>;
    outgoingEnqueue(sub: Any, packet: Any): Promise<void>;
    outgoingEnqueueCombi(subs: Any[], packet: Any): Promise<void>;
    outgoingUpdate(client: Any, packet: Any): Promise<void>;
    outgoingClearMessageId(client: Any, packet: Any): Promise<Any>;
    outgoingStream(client: Any): Readable;
    /** Patched in: messages stored for a client and their payload bytes. */
    outgoingSize(clientId: string): { count: number; bytes: number };
    incomingStorePacket(client: Any, packet: Any): Promise<void>;
    incomingGetPacket(client: Any, packet: Any): Promise<Any>;
    incomingDelPacket(client: Any, packet: Any): Promise<void>;
    putWill(client: Any, packet: Any): Promise<void>;
    getWill(client: Any): Promise<Any>;
    delWill(client: Any): Promise<Any>;
    streamWill(brokers?: Any): Readable;
    getClientList(topic: string): Readable;
    destroy(): Promise<void>;
  }
}

declare module "aedes-persistence/abstract.js" {
  /** aedes-persistence's conformance suite for a persistence implementation, on node:test. */
  export default function abstractPersistence(options: { test: unknown; persistence: () => unknown; testAsync?: boolean }): void;
}

declare module "aedes-persistence/callBackPersistence.js" {
  /** The callback wrapper aedes-persistence (and aedes-persistence-redis) put around their async store. */
  export class CallBackPersistence {
    constructor(asyncInstanceFactory: (opts: unknown) => unknown, opts?: unknown);
    /** Patched in: the wrapped store's answer, or undefined when it has no such method. */
    hasOfflineSubscriptions(): boolean | undefined;
  }
}
