// The live web console's state: what a page sees (overview, rates, topics, latency) and the
// streams of the pages open now. The rates are read from the broker's counters once a second, page
// open or not, so a page opens on the last minutes. Per-topic figures are gathered only while a page
// is open: the 'publish' listener is added when the first page attaches and removed when the last one leaves.
import type { Aedes, AedesPublishPacket, Client } from "aedes";
import { latencyBuckets, type LatencyBucket, type RoundTripSample } from "../../core/latency-buckets";
import { timestampPrefix } from "../../core/payload";
import { RateHistory, type RatePoint } from "../../core/rate-history";
import { RingBuffer } from "../../core/ring-buffer";
import { PAYLOAD_PREVIEW_BYTES, TopicStats, type TopicEntry } from "../../core/topic-stats";
import type { BrokerMetrics, MetricsSample } from "../metrics";
import { ClientsView } from "./clients-view";
import { DEFAULT_PROBE, startLatencyProbe, type LatencyProbe, type ProbeOptions } from "./probe";
import type { ConsoleSession } from "./session";
import { brokerInternals } from "../aedes-internals";

/** A page's server-sent-event stream. */
export interface ConsoleStream {
  session: ConsoleSession;
  send(event: string, data: unknown): void;
}

export interface ConsoleOptions {
  metrics: BrokerMetrics;
  probe?: ProbeOptions;
  /** Topics followed at most (a flood of distinct topics must not grow without bound). */
  maxTopics?: number;
  /** The topics `ping` and `echo` use by default: their round trips are shown too, while a page is open. */
  pingTopic?: string;
  pongTopic?: string;
}

const TICK_MS = 1000;
/** The overview chart's history: 15 minutes of one-second points. */
export const RATE_HISTORY_SECONDS = 900;
const LATENCY_BUCKET_MS = 30_000;
const LATENCY_REFRESH_MS = 5_000;

export class BrokerConsole {
  readonly clients = new ClientsView();
  readonly startedAt = Date.now();
  listeners: string[] = [];
  aedes: Aedes | undefined;
  private probe: LatencyProbe | undefined;
  private readonly streams = new Set<ConsoleStream>();
  private topics: TopicStats | undefined;
  private readonly rates = new RateHistory(RATE_HISTORY_SECONDS);
  private overview: MetricsSample | undefined;
  private secondTimer: ReturnType<typeof setInterval> | undefined;
  private readonly pingsSeen = new Map<string, number>();
  private readonly pingRoundTrips = new RingBuffer<RoundTripSample>(3600);
  private latencyCache: { at: number; value: ReturnType<BrokerConsole["latency"]> } | undefined;

  constructor(private readonly options: ConsoleOptions) {}

  /** For BrokerOptions.services. */
  readonly attach = (aedes: Aedes): { close(): void } => {
    this.aedes = aedes;
    this.clients.attach(aedes);
    this.probe = startLatencyProbe(aedes, this.options.probe ?? DEFAULT_PROBE);
    this.rates.record(Date.now(), this.options.metrics.counters());
    this.secondTimer = setInterval(this.everySecond, TICK_MS);
    return {
      close: () => {
        clearInterval(this.secondTimer);
        this.probe?.close();
        this.stopWatching();
        for (const stream of this.streams) stream.send("bye", {});
        this.streams.clear();
      },
    };
  };

  get watching(): boolean {
    return this.topics !== undefined;
  }

  /** A page opened its event stream: starts watching on the first one. Returns the detach function. */
  addStream(stream: ConsoleStream): () => void {
    this.streams.add(stream);
    if (!this.topics) this.startWatching();
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stopWatching();
    };
  }

  /** Everything a page needs when it opens; then the ticks keep it current. */
  async state(): Promise<unknown> {
    this.overview = await this.options.metrics.sample();
    return {
      startedAt: this.startedAt,
      listeners: this.listeners,
      overview: this.overview,
      queues: this.clients.queueTotals(),
      rates: this.rates.all(),
      topics: this.topics?.all().map(topicForPage) ?? [],
      untrackedMessages: this.topics?.untracked ?? 0,
      latency: this.latency(),
    };
  }

  /** The last hour in 30 s buckets; worked out again at most every LATENCY_REFRESH_MS (an hour of samples is sorted each time). */
  latency(): { probe: LatencyBucket[]; ping: LatencyBucket[]; bucketMs: number } {
    const now = performance.now();
    if (this.latencyCache && now - this.latencyCache.at < LATENCY_REFRESH_MS) return this.latencyCache.value;
    const value = {
      bucketMs: LATENCY_BUCKET_MS,
      probe: latencyBuckets(this.probe?.samples() ?? [], LATENCY_BUCKET_MS),
      ping: latencyBuckets(this.pingRoundTrips.toArray(), LATENCY_BUCKET_MS),
    };
    this.latencyCache = { at: now, value };
    return value;
  }

  topicStats(): TopicStats | undefined {
    return this.topics;
  }

  /** Sends an event to every page of one session (the live subscription box's messages). */
  sendToSession(session: ConsoleSession, event: string, data: unknown): void {
    for (const stream of this.streams) if (stream.session === session) stream.send(event, data);
  }

  private startWatching(): void {
    const aedes = this.aedes;
    if (!aedes) return;
    this.topics = new TopicStats(this.options.maxTopics ?? 10_000, performance.now());
    aedes.on("publish", this.onPublish);
    void this.seedRetained(this.topics);
  }

  private stopWatching(): void {
    this.aedes?.off("publish", this.onPublish);
    this.topics = undefined;
    this.pingsSeen.clear();
  }

  /** Retained messages are topics too, though nothing was published since the page opened. */
  private async seedRetained(topics: TopicStats): Promise<void> {
    if (!this.aedes) return;
    const persistence = brokerInternals(this.aedes).persistence;
    for await (const packet of persistence.createRetainedStream("#")) {
      if (this.topics !== topics) return;
      topics.record(packet.topic, Buffer.from(packet.payload as Buffer), packet.qos, true);
    }
  }

  /** On the message path while a page is open: a map lookup and a few stores per message. */
  private readonly onPublish = (packet: AedesPublishPacket, client: Client | null): void => {
    const topics = this.topics;
    if (!topics || (packet.topic.charCodeAt(0) === 36 /* $ */ && packet.topic.startsWith("$console/"))) return;
    topics.record(packet.topic, packet.payload as Uint8Array, packet.qos, packet.retain);
    if (client && packet.topic === this.options.pingTopic) this.notePing(packet.payload as Uint8Array, performance.now());
    else if (client && packet.topic === this.options.pongTopic) this.notePong(packet.payload as Uint8Array, performance.now());
  };

  /** A ping's probe passing through: its echo's return times the leg broker -> echo -> broker. */
  private notePing(payload: Uint8Array, now: number): void {
    const stamp = timestampPrefix(payload);
    if (!stamp) return;
    if (this.pingsSeen.size >= 256) this.pingsSeen.delete(this.pingsSeen.keys().next().value!);
    this.pingsSeen.set(stamp, now);
  }

  private notePong(payload: Uint8Array, now: number): void {
    const stamp = timestampPrefix(payload);
    const seenAt = this.pingsSeen.get(stamp);
    if (seenAt === undefined) return;
    this.pingsSeen.delete(stamp);
    this.pingRoundTrips.push({ at: Date.now(), rttMs: now - seenAt });
  }

  /** Page open or not: one reading of the running counters (no store, no client walk); with a page open, the tick. */
  private readonly everySecond = (): void => {
    const point = this.rates.record(Date.now(), this.options.metrics.counters());
    if (this.topics) void this.tick(point);
  };

  private async tick(rate: RatePoint | undefined): Promise<void> {
    const topics = this.topics;
    if (!topics) return;
    try {
      this.overview = await this.options.metrics.sample();
    } catch {
      return; // e.g. Redis away under --cluster: no tick this second
    }
    const changed = topics.tick(performance.now()).map(topicForPage);
    const tick = {
      overview: this.overview,
      queues: this.clients.queueTotals(),
      rate,
      topics: changed,
      topTopics: topics.top(10).map((entry) => ({ topic: entry.topic, rate: entry.rate })),
      untrackedMessages: topics.untracked,
      latency: this.latency(),
    };
    for (const stream of this.streams) stream.send("tick", tick);
  }
}

/** A topic as the page gets it: the payload's head in base64 (the page shows it as text, JSON or hex). */
export function topicForPage(entry: TopicEntry) {
  const head = entry.payload.subarray(0, PAYLOAD_PREVIEW_BYTES);
  return { topic: entry.topic, count: entry.count, rate: entry.rate, size: entry.size, qos: entry.qos, retain: entry.retain, payload: Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("base64") };
}
