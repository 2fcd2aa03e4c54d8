import { randomBytes } from "node:crypto";
import type { IClientPublishOptions } from "mqtt";
import type { QoS } from "mqtt-packet";
import { buildProbePayload, formatTimestamp, timestampDecimals, timestampPrefix } from "../core/payload";
import type { SummaryInput } from "../core/ping-report";
import { Qos0PublishFrames } from "../core/publish-frame";
import { RttStats } from "../core/rtt-stats";
import { subscribeAll } from "./subscribe";
import { connect, type Connection, type ConnectionOptions, type ConnectTiming } from "./connection";

export interface PingOptions {
  connection: ConnectionOptions;
  pingTopic: string;
  pongTopic: string;
  qos: QoS;
  intervalMs: number;
  /** Stop after this many probes (undefined: until stopped). */
  count?: number;
  /** A probe with no echo within this long is lost. */
  timeoutMs: number;
  /** Pad each payload to this many bytes, timestamp first. */
  size: number;
}

export interface Probe {
  seq: number;
  /** The timestamp text that leads the payload; it identifies the probe. */
  timestamp: string;
  sentAtMs: number;
  answered: boolean;
}

export interface PingListener {
  sent?(probe: Probe): void;
  echo?(probe: Probe, rttMs: number, outOfOrder: boolean): void;
  duplicate?(probe: Probe): void;
  lost?(probe: Probe): void;
  /** QoS 1/2: the broker's Receive Maximum is used up, so a probe waits for a slot (told once a run). */
  waitingForSlot?(receiveMaximum: number): void;
}

/** The summary the report formats (src/core/ping-report.ts), with the role's own timing detail. */
export interface PingSummary extends SummaryInput {
  lost: number;
  connect: ConnectTiming;
}

export interface PingHandle {
  readonly connection: Connection;
  /** Resolves when --count probes are done (answered or timed out). */
  readonly finished: Promise<PingSummary>;
  /** Counts so far, for a live status line. */
  progress(): { transmitted: number; received: number; duplicates: number };
  /** Stops probing now (Ctrl-C); probes still unanswered count as lost. */
  stop(): Promise<PingSummary>;
}

/**
 * The ping role: publishes a timestamp to the ping topic every interval and times each echo on the
 * pong topic with the monotonic clock, so no clock sync between machines is needed.
 */
export async function startPing(options: PingOptions, listener: PingListener = {}): Promise<PingHandle> {
  const connection = await connect(options.connection);
  const { client } = connection;
  const { pingTopic, pongTopic, intervalMs, timeoutMs, count } = options;
  // Under MQTT 5 each probe names the pong topic as its Response Topic and carries this pinger's own
  // Correlation Data, which echo returns: two pingers sending the same timestamp (started in the same
  // second, say) then tell their echoes apart. Echoes without it (3.1.1, other echoes) match by payload.
  const pingerId = connection.protocolVersion === 5 ? randomBytes(8) : undefined;
  const publishOptions: IClientPublishOptions = pingerId
    ? { qos: options.qos, properties: { responseTopic: pongTopic, correlationData: pingerId } }
    : { qos: options.qos };
  const decimals = timestampDecimals(intervalMs);
  const frames = options.qos === 0 ? new Qos0PublishFrames(pingTopic, connection.protocolVersion, pingerId && { responseTopic: pongTopic, correlationData: pingerId }) : undefined;

  // Probes waiting for an echo, or answered but kept until their timeout so duplicates are seen.
  const pending = new Map<string, Probe>();
  const rtt = new RttStats();
  let transmitted = 0;
  // QoS 1/2 probes the broker has not acknowledged yet, and probes due but held back for a slot.
  let inFlight = 0;
  let held = 0;
  let toldWaiting = false;
  let duplicates = 0;
  let outOfOrder = 0;
  let lost = 0;
  let highestAnsweredSeq = 0;
  let lastTimestamp = "";
  let startedAt = 0;
  let stopped = false;
  let sendTimer: ReturnType<typeof setTimeout> | undefined;
  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveFinished!: (summary: PingSummary) => void;
  const finished = new Promise<PingSummary>((resolve) => (resolveFinished = resolve));

  client.on("message", (topic, payload, packet) => {
    if (topic !== pongTopic) return;
    const correlationData = packet.properties?.correlationData;
    if (pingerId && Buffer.isBuffer(correlationData) && !pingerId.equals(correlationData)) return; // another pinger's echo
    const probe = pending.get(timestampPrefix(payload));
    if (!probe) return; // another pinger's echo, or one that arrived after its timeout
    if (probe.answered) {
      duplicates++;
      listener.duplicate?.(probe);
      return;
    }
    const rttMs = performance.now() - probe.sentAtMs;
    probe.answered = true;
    const late = probe.seq < highestAnsweredSeq;
    if (late) outOfOrder++;
    else highestAnsweredSeq = probe.seq;
    rtt.record(rttMs);
    listener.echo?.(probe, rttMs, late);
    finishWhenAllAccounted();
  });

  // With --count, finish once every probe is answered or lost, lingering as long as the slowest echo
  // took, so that a duplicate of the last probe is still counted.
  const finishWhenAllAccounted = () => {
    if (count === undefined || transmitted < count || rtt.count + lost < count) return;
    lingerTimer ??= setTimeout(finish, rtt.count ? Math.min(timeoutMs, rtt.maxMs) : 0);
  };

  await subscribeAll(client, [pongTopic], options.qos);

  const expire = (now: number) => {
    for (const [key, probe] of pending) {
      if (now - probe.sentAtMs < timeoutMs) break; // insertion order is send order
      pending.delete(key);
      if (!probe.answered) {
        lost++;
        listener.lost?.(probe);
      }
    }
    finishWhenAllAccounted();
  };

  const sendProbe = () => {
    const epochMs = performance.timeOrigin + performance.now();
    let timestamp = formatTimestamp(epochMs, decimals);
    // Each payload must be unique so each echo matches its probe; add digits if the clock has not moved on.
    if (timestamp <= lastTimestamp || pending.has(timestamp)) timestamp = formatTimestamp(epochMs, 6);
    if (timestamp <= lastTimestamp || pending.has(timestamp)) timestamp = `${lastTimestamp}1`;
    lastTimestamp = timestamp;
    const probe: Probe = { seq: ++transmitted, timestamp, sentAtMs: 0, answered: false };
    pending.set(timestamp, probe);
    const payload = buildProbePayload(timestamp, options.size);
    listener.sent?.(probe);
    probe.sentAtMs = performance.now();
    if (frames) return publishQos0(payload);
    inFlight++;
    client.publish(pingTopic, payload, publishOptions, slotFreed);
  };

  // QoS 0: the PUBLISH is written whole (src/core/publish-frame.ts) — MQTT.js's encoding of it, the
  // MQTT 5 properties above all, was most of the pinger's own cost. MQTT.js still publishes a probe
  // when that needs its state: a connection that is down or just resending its store.
  const internals = client as unknown as MqttClientInternals;
  const publishQos0 = (payload: Buffer) => {
    const ready = client.connected && !client.disconnecting && !internals._storeProcessing && internals._storeProcessingQueue.length === 0;
    if (ready && frames!.packetLength(payload.length) !== Infinity) client.stream.write(frames!.encode(payload));
    else client.publish(pingTopic, payload, publishOptions);
  };

  // MQTT.js does not keep to the broker's Receive Maximum [MQTT-4.9.0-2], and ours disconnects a
  // client over it (0x93). So QoS 1/2 probes stay within it: a probe due while every slot is taken
  // is held, and sent (counted, timed) when an acknowledgement frees one.
  const receiveMaximum = () => internals.connackPacket?.properties?.receiveMaximum ?? 65_535;
  const probeDue = () => {
    if (frames || inFlight < receiveMaximum()) return sendProbe();
    held++;
    if (!toldWaiting) {
      toldWaiting = true;
      listener.waitingForSlot?.(receiveMaximum());
    }
  };
  // Also called with an error when the client ends: then nothing more goes out.
  function slotFreed() {
    inFlight--;
    if (held > 0 && !stopped && !client.disconnecting) {
      held--;
      sendProbe();
    }
  }

  // Send on a fixed schedule (start + n·interval), so timer lag does not accumulate into drift.
  const scheduleNext = () => {
    const due = transmitted + held;
    if (stopped || (count !== undefined && due >= count)) return;
    const delay = Math.max(0, startedAt + due * intervalMs - performance.now());
    sendTimer = setTimeout(() => {
      probeDue();
      scheduleNext();
    }, delay);
  };

  const summary = (): PingSummary => ({
    target: connection.target,
    pingTopic,
    pongTopic,
    transmitted,
    received: rtt.count,
    duplicates,
    outOfOrder,
    lost: transmitted - rtt.count,
    elapsedMs: performance.now() - startedAt,
    rtt,
    connect: connection.timing,
  });

  let finalSummary: PingSummary | undefined;
  function finish(): PingSummary {
    if (finalSummary) return finalSummary;
    stopped = true;
    clearTimeout(sendTimer);
    clearInterval(sweepTimer);
    clearTimeout(lingerTimer);
    finalSummary = summary();
    resolveFinished(finalSummary);
    return finalSummary;
  }

  startedAt = performance.now();
  probeDue();
  scheduleNext();
  sweepTimer = setInterval(() => expire(performance.now()), Math.min(100, timeoutMs / 4));

  return {
    connection,
    finished,
    progress: () => ({ transmitted, received: rtt.count, duplicates }),
    async stop() {
      const result = finish();
      await connection.end();
      return result;
    },
  };
}

/** What the pinger reads of MQTT.js's state; it has no public API for these. */
interface MqttClientInternals {
  connackPacket?: { properties?: { receiveMaximum?: number } };
  _storeProcessing: boolean;
  _storeProcessingQueue: unknown[];
}
