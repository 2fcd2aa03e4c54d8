import { BenchClient, BenchConnectError } from "./client";
import { closedLoop, FlowLedger, openLoop } from "./flow-load";
import { Meter, summarizeLatency, type BenchTarget, type CpuSummary, type LatencySummary, type Progress } from "./meter";
import { makePublisher, type Publisher } from "./publisher";
import { nowUs, STAMP_BYTES } from "./stamp";

export interface FlowOptions {
  target: BenchTarget;
  qos: 0 | 1 | 2;
  /** Payload bytes, at least STAMP_BYTES. */
  size: number;
  publishers: number;
  subscribers: number;
  /**
   * true: each publisher subscribes to its own topic and is its own subscriber (the latency
   * scenario: one trip client → broker → client). false: every subscriber gets every publisher.
   */
  loopback: boolean;
  /** Closed loop: most messages a publisher has sent but not yet seen delivered (and acknowledged). */
  inflight: number;
  /** Open loop: total messages per second, sent on schedule whatever the broker does. */
  rate?: number;
  warmupMs: number;
  durationMs: number;
  /** Most time to wait after the window for messages still on their way before counting them lost. */
  drainMs?: number;
  onProgress?: (progress: Progress) => void;
}

export interface FlowResult {
  /** Delivered messages per second in the window (each subscriber's copy counts). */
  messagesPerSec: number;
  perSecond: number[];
  sent: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  latency: LatencySummary;
  generatorCpu: CpuSummary;
  /** The generator could not write as fast as it wanted (socket backpressure) this many times. */
  stalls: number;
}

export async function runFlow(options: FlowOptions): Promise<FlowResult> {
  const clients: BenchClient[] = [];
  let lostReason: string | undefined;
  try {
    const { subscribers, publishers } = await connectFlow(options, (client) => {
      clients.push(client);
      client.events.lost = (reason) => (lostReason ??= reason);
    });
    const ledger = new FlowLedger(publishers, subscribers.length, options.qos);
    const meter = new Meter(options.warmupMs, options.durationMs, options.onProgress, () => ledger.overdue());
    const load = options.rate === undefined ? closedLoop(publishers, ledger) : openLoop(publishers, ledger, options.rate, options.qos);

    for (const [s, client] of subscribers.entries()) {
      client.events.publish = (buf, view, end) => {
        const now = nowUs();
        const at = view.payloadStart;
        if (end - at < STAMP_BYTES) return; // not ours
        const data = new DataView(buf.buffer, buf.byteOffset + at, STAMP_BYTES);
        const publisher = publishers[data.getUint32(0, true)];
        if (!publisher) return;
        ledger.delivered(s, publisher, data.getUint32(4, true));
        meter.record(data.getFloat64(8, true), now);
        load.room(publisher);
      };
    }
    for (const publisher of publishers) {
      publisher.client.events.acked = () => {
        publisher.acked++;
        load.room(publisher);
      };
      publisher.client.onDrain = () => load.room(publisher);
    }

    const measured = meter.run();
    load.start();
    await measured;
    load.stop();
    await drain(ledger, options.drainMs ?? 5000, () => lostReason);
    if (lostReason) throw new BenchConnectError(lostReason);

    const expected = ledger.expected();
    return {
      messagesPerSec: meter.windowDelivered / (options.durationMs / 1000),
      perSecond: meter.perSecond,
      sent: publishers.reduce((sum, p) => sum + p.sent, 0),
      expected,
      received: ledger.received,
      lost: Math.max(0, expected - (ledger.received - ledger.duplicates)),
      duplicates: ledger.duplicates,
      latency: summarizeLatency(meter.histogram),
      generatorCpu: meter.cpuSummary,
      stalls: load.stalls,
    };
  } finally {
    for (const client of clients) client.close();
  }
}

/** Connects the subscribers (subscribed) and the publishers; in the latency scenario each connection is both. */
async function connectFlow(options: FlowOptions, watch: (client: BenchClient) => void): Promise<{ subscribers: BenchClient[]; publishers: Publisher[] }> {
  const { target, qos, size, loopback } = options;
  const subscriberCount = loopback ? options.publishers : options.subscribers;
  const run = Math.random().toString(36).slice(2, 8);
  const topicOf = (publisher: number) => (loopback ? `bench/${run}/rtt/${publisher}` : `bench/${run}/flow`);
  const connect = async (role: string, index: number) => {
    const client = await BenchClient.connectTo(target, `${target.clientIdPrefix}-${role}${index}`);
    watch(client);
    return client;
  };
  const subscribers: BenchClient[] = [];
  for (let s = 0; s < subscriberCount; s++) {
    const client = await connect(loopback ? "ping" : "sub", s);
    await client.subscribe(topicOf(s), qos);
    subscribers.push(client);
  }
  const publishers: Publisher[] = [];
  for (let p = 0; p < options.publishers; p++) {
    const client = loopback ? subscribers[p]! : await connect("pub", p);
    publishers.push(makePublisher(options.inflight, p, client, topicOf(p), qos, size, target.protocolVersion, loopback ? [p] : range(subscriberCount)));
  }
  return { subscribers, publishers };
}






/**
 * Lets what is on its way arrive before losses are counted: until all is in, nothing more came for
 * half a second (QoS 0 loss), a connection was lost, or `drainMs` passed.
 */
async function drain(ledger: FlowLedger, drainMs: number, lostReason: () => string | undefined): Promise<void> {
  const deadline = Date.now() + drainMs;
  let lastReceived = -1;
  let lastProgress = Date.now();
  while (ledger.received - ledger.duplicates < ledger.expected() && Date.now() < deadline && !lostReason()) {
    if (ledger.received !== lastReceived) [lastReceived, lastProgress] = [ledger.received, Date.now()];
    else if (Date.now() - lastProgress > 500) break;
    await Bun.sleep(5);
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
