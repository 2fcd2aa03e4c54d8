import mqttPacket from "mqtt-packet";
import { BenchClient, BenchConnectError } from "./client";
import { readFrame, readPublish } from "./frames";
import { Meter, summarizeLatency, type BenchTarget, type CpuSummary, type LatencySummary, type Progress } from "./meter";
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

interface Publisher {
  index: number;
  client: BenchClient;
  /** A whole PUBLISH, encoded once; each message is a copy with the stamp (and id) patched. */
  template: Buffer;
  payloadOffset: number;
  /** Offset of the message id, or -1 at QoS 0. */
  messageIdOffset: number;
  sent: number;
  acked: number;
  /** Subscriber indices that receive this publisher's messages. */
  subscribers: number[];
  pumpScheduled: boolean;
  /** options.inflight, capped at QoS 1/2 by what the broker said it takes. */
  inflight: number;
}

export async function runFlow(options: FlowOptions): Promise<FlowResult> {
  const { target, qos, size, loopback } = options;
  const publisherCount = options.publishers;
  const subscriberCount = loopback ? publisherCount : options.subscribers;
  const run = Math.random().toString(36).slice(2, 8);
  const topicOf = (publisher: number) => (loopback ? `bench/${run}/rtt/${publisher}` : `bench/${run}/flow`);
  const connect = (role: string, index: number) =>
    BenchClient.connect({
      hostname: target.hostname,
      port: target.port,
      tls: target.tls,
      clientId: `${target.clientIdPrefix}-${role}${index}`,
      username: target.username,
      password: target.password,
      keepaliveSec: target.keepaliveSec,
      protocolVersion: target.protocolVersion,
      timeoutMs: target.connectTimeoutMs,
    });

  const clients: BenchClient[] = [];
  let lostReason: string | undefined;
  const watch = (client: BenchClient) => {
    clients.push(client);
    client.events.lost = (reason) => (lostReason ??= reason);
    return client;
  };
  try {
    const subscriberClients: BenchClient[] = [];
    const publishers: Publisher[] = [];
    for (let s = 0; s < subscriberCount; s++) {
      const client = watch(await connect(loopback ? "ping" : "sub", s));
      await client.subscribe(topicOf(s), qos);
      subscriberClients.push(client);
    }
    for (let p = 0; p < publisherCount; p++) {
      const client = loopback ? subscriberClients[p]! : watch(await connect("pub", p));
      publishers.push(makePublisher(options.inflight, p, client, topicOf(p), qos, size, target.protocolVersion, loopback ? [p] : range(subscriberCount)));
    }

    // lastSeen[s * P + p]: the highest sequence number subscriber s has had from publisher p.
    const lastSeen = new Uint32Array(subscriberCount * publisherCount);
    let received = 0;
    let duplicates = 0;
    let sending = true;
    let stalls = 0;
    const expectedSoFar = () => publishers.reduce((sum, p) => sum + p.sent * p.subscribers.length, 0);
    const meter = new Meter(options.warmupMs, options.durationMs, options.onProgress, () => Math.max(0, expectedSoFar() - received - inFlightEstimate()));
    const inFlightEstimate = () => publishers.reduce((sum, p) => sum + (p.sent - completed(p)) * p.subscribers.length, 0);

    const completed = (publisher: Publisher): number => {
      let done = publisher.sent;
      for (const s of publisher.subscribers) done = Math.min(done, lastSeen[s * publisherCount + publisher.index]!);
      return qos > 0 ? Math.min(done, publisher.acked) : done;
    };

    const send = (publisher: Publisher, count: number, stamps: (k: number) => number) => {
      const { template, payloadOffset, messageIdOffset } = publisher;
      const length = template.length;
      const batch = Buffer.allocUnsafe(length * count);
      const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
      for (let k = 0; k < count; k++) {
        const at = k * length;
        batch.set(template, at);
        const seq = ++publisher.sent;
        view.setUint32(at + payloadOffset, publisher.index, true);
        view.setUint32(at + payloadOffset + 4, seq, true);
        view.setFloat64(at + payloadOffset + 8, stamps(k), true);
        if (messageIdOffset >= 0) view.setUint16(at + messageIdOffset, (seq % 65535) + 1);
      }
      publisher.client.send(batch);
    };

    // Closed loop: top each publisher's window up whenever deliveries (or acks) make room, once
    // per socket read rather than per message, so a batch of messages leaves in one write.
    const pump = (publisher: Publisher) => {
      if (publisher.pumpScheduled || !sending || options.rate !== undefined) return;
      publisher.pumpScheduled = true;
      queueMicrotask(() => topUp(publisher));
    };
    const topUp = (publisher: Publisher) => {
      publisher.pumpScheduled = false;
      if (!sending) return;
      if (publisher.client.congested) {
        stalls++;
        return;
      }
      const room = publisher.inflight - (publisher.sent - completed(publisher));
      if (room > 0) {
        const now = nowUs();
        send(publisher, room, () => now);
      }
    };

    for (const [s, client] of subscriberClients.entries()) {
      const base = s * publisherCount;
      client.events.publish = (buf, view, end) => {
        const now = nowUs();
        const at = view.payloadStart;
        if (end - at < STAMP_BYTES) return; // not ours
        const data = new DataView(buf.buffer, buf.byteOffset + at, STAMP_BYTES);
        const p = data.getUint32(0, true);
        const seq = data.getUint32(4, true);
        const publisher = publishers[p];
        if (!publisher) return;
        received++;
        if (seq <= lastSeen[base + p]!) duplicates++;
        else lastSeen[base + p] = seq;
        meter.record(data.getFloat64(8, true), now);
        pump(publisher);
      };
    }
    for (const publisher of publishers) {
      publisher.client.events.acked = () => {
        publisher.acked++;
        pump(publisher);
      };
      publisher.client.onDrain = () => pump(publisher);
    }

    const measured = meter.run();
    let ticker: ReturnType<typeof setInterval> | undefined;
    if (options.rate === undefined) {
      for (const publisher of publishers) pump(publisher);
    } else {
      // Open loop: each message is stamped with the time it was due, not when it left, so a stall
      // in the broker shows as latency instead of silently slowing the sender (coordinated omission).
      const perPublisherUs = (publisherCount * 1e6) / options.rate;
      const startedUs = nowUs();
      ticker = setInterval(() => {
        if (!sending) return;
        const now = nowUs();
        for (const publisher of publishers) {
          // At QoS 1/2 never more unacknowledged than the broker's Receive Maximum allows (it would
          // disconnect us with 0x93): a message held back keeps the time it was due, so the wait
          // counts as latency.
          const room = qos > 0 ? publisher.inflight - (publisher.sent - completed(publisher)) : Infinity;
          const due = Math.min(10_000, room, Math.floor((now - startedUs) / perPublisherUs) + 1 - publisher.sent);
          if (due <= 0) continue;
          const first = publisher.sent;
          send(publisher, due, (k) => startedUs + (first + k) * perPublisherUs);
        }
      }, 1);
    }
    await measured;
    sending = false;
    clearInterval(ticker);

    // Let what is on its way arrive before counting losses: until all is in, or nothing more came
    // for half a second (QoS 0 loss), or drainMs.
    const drainDeadline = Date.now() + (options.drainMs ?? 5000);
    let lastReceived = -1;
    let lastProgress = Date.now();
    while (received - duplicates < expectedSoFar() && Date.now() < drainDeadline && !lostReason) {
      if (received !== lastReceived) [lastReceived, lastProgress] = [received, Date.now()];
      else if (Date.now() - lastProgress > 500) break;
      await Bun.sleep(5);
    }
    if (lostReason) throw new BenchConnectError(lostReason);

    const expected = expectedSoFar();
    const windowSeconds = options.durationMs / 1000;
    return {
      messagesPerSec: meter.windowDelivered / windowSeconds,
      perSecond: meter.perSecond,
      sent: publishers.reduce((sum, p) => sum + p.sent, 0),
      expected,
      received,
      lost: Math.max(0, expected - (received - duplicates)),
      duplicates,
      latency: summarizeLatency(meter.histogram),
      generatorCpu: meter.cpuSummary,
      stalls,
    };
  } finally {
    for (const client of clients) client.close();
  }
}

function makePublisher(
  inflight: number,
  index: number,
  client: BenchClient,
  topic: string,
  qos: 0 | 1 | 2,
  size: number,
  protocolVersion: 4 | 5,
  subscribers: number[],
): Publisher {
  const template = mqttPacket.generate(
    { cmd: "publish", topic, payload: Buffer.alloc(size), qos, messageId: qos > 0 ? 1 : undefined, retain: false, dup: false },
    { protocolVersion },
  );
  // Find the payload and message id by reading the template back.
  const frame = { type: 0, flags: 0, start: 0, bodyStart: 0, end: 0 };
  const view = { qos: 0, messageId: 0, topicStart: 0, topicEnd: 0, payloadStart: 0 };
  readFrame(template, 0, frame);
  readPublish(template, frame, protocolVersion, view);
  return {
    index,
    client,
    template,
    payloadOffset: view.payloadStart,
    messageIdOffset: qos > 0 ? view.topicEnd : -1,
    sent: 0,
    acked: 0,
    subscribers,
    pumpScheduled: false,
    inflight: qos > 0 ? Math.min(inflight, client.receiveMaximum) : inflight,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
