// The broker's own latency probe: every interval it publishes a message to itself through the
// routing every client message takes (aedes.publish: the retained store, the message emitter, in a
// cluster Redis too) and times its arrival at its own subscription. It runs while the HTTP listener
// does, page open or not, so the last hour is there when a page opens.
import type { Aedes } from "aedes";
import type { RoundTripSample } from "../../core/latency-buckets";
import { RingBuffer } from "../../core/ring-buffer";

export interface ProbeOptions {
  intervalMs: number;
  /** A probe not back within this long counts as lost. */
  timeoutMs: number;
  /** How many samples are kept (an hour at one a second: 3,600). */
  historySamples: number;
}

export const DEFAULT_PROBE: ProbeOptions = { intervalMs: 1000, timeoutMs: 5000, historySamples: 3600 };

/** A topic only an explicit subscriber sees: '#' and '+' do not match topics starting with '$' [MQTT-4.7.2-1]. */
export function probeTopicOf(brokerId: string): string {
  return `$console/probe/${brokerId}`;
}

export interface LatencyProbe {
  /** Answered and lost probes, oldest first (by send time). */
  samples(): RoundTripSample[];
  close(): void;
}

export function startLatencyProbe(aedes: Aedes, options: ProbeOptions = DEFAULT_PROBE): LatencyProbe {
  const topic = probeTopicOf(aedes.id);
  const history = new RingBuffer<RoundTripSample>(options.historySamples);
  /** Sequence number -> when it was sent (epoch ms and a monotonic clock). */
  const pending = new Map<number, { at: number; sentAt: number }>();
  let sequence = 0;

  const onProbe = (packet: { payload: Uint8Array | string }, done: () => void) => {
    const sent = pending.get(Number(String(packet.payload)));
    if (sent) {
      pending.delete(Number(String(packet.payload)));
      history.push({ at: sent.at, rttMs: performance.now() - sent.sentAt });
    }
    done();
  };
  aedes.subscribe(topic, onProbe as never, () => {});

  const send = () => {
    const now = performance.now();
    for (const [seq, sent] of pending) {
      if (now - sent.sentAt < options.timeoutMs) break; // in send order: the rest are younger
      pending.delete(seq);
      history.push({ at: sent.at, rttMs: null });
    }
    const seq = ++sequence;
    pending.set(seq, { at: Date.now(), sentAt: now });
    aedes.publish({ cmd: "publish", topic, payload: Buffer.from(String(seq)), qos: 0, retain: false, dup: false } as never, () => {});
  };
  const timer = setInterval(send, options.intervalMs);
  timer.unref?.();

  return {
    // Lost probes are noted after later ones were answered: sort by send time.
    samples: () => history.toArray().sort((a, b) => a.at - b.at),
    close() {
      clearInterval(timer);
      aedes.unsubscribe(topic, onProbe as never, () => {});
    },
  };
}
