import { randomBytes } from "node:crypto";
import { writePacket } from "./bun-tcp-stream";
import type { IClientPublishOptions } from "mqtt";
import type { QoS } from "mqtt-packet";
import { buildProbePayload, timestampDecimals, timestampPrefix } from "../core/payload";
import { ProbeBook, type Probe } from "../core/probe-book";
import type { SummaryInput } from "../core/ping-report";
import { Qos0PublishFrames } from "../core/publish-frame";
import { BREAKDOWN_REQUEST_PROPERTY, type BreakdownStats, type ProbeBreakdown } from "../core/probe-breakdown";
import { canWriteDirectly, ReceiveWindow } from "./direct-publish";
import { PingBreakdown, PINGREQ } from "./ping-breakdown";
import { readClock } from "./read-clock";
import { Schedule } from "./ping-schedule";
import { subscribeAll } from "./subscribe";
import { rehearse, warmUpConnection, WARM_UP_ROUND_TRIPS } from "./warm-up";
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
  /** --breakdown: time the transport, the broker's acknowledgement and echo's turnaround too (./ping-breakdown.ts). */
  breakdown?: boolean;
}

export type { Probe };

export interface PingListener {
  sent?(probe: Probe): void;
  echo?(probe: Probe, rttMs: number, outOfOrder: boolean, breakdown?: ProbeBreakdown): void;
  duplicate?(probe: Probe): void;
  lost?(probe: Probe): void;
  /** QoS 1/2: the broker's Receive Maximum is used up, so a probe waits for a slot (told once a run). */
  waitingForSlot?(receiveMaximum: number): void;
}

/** The summary the report formats (src/core/ping-report.ts), with the role's own timing detail. */
export interface PingSummary extends SummaryInput {
  lost: number;
  connect: ConnectTiming;
  /** With --breakdown. */
  breakdown?: BreakdownStats;
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
  const probes = new ProbeBook(timestampDecimals(intervalMs));
  // Echoes are timed to when their bytes were read, before MQTT.js parses them: ping measures the path, not itself.
  const readAt = readClock(client);
  const breakdown = options.breakdown ? new PingBreakdown(client, pingTopic, readAt) : undefined;
  const send = probeSender(connection, options);
  // QoS 1/2 probes keep to the broker's Receive Maximum; one due while every slot is taken is held,
  // and sent (counted, timed) when an acknowledgement frees one.
  const window = new ReceiveWindow(() => connection.client, (receiveMaximum) => listener.waitingForSlot?.(receiveMaximum));
  const schedule = new Schedule(intervalMs);
  let resolveFinished!: (summary: PingSummary) => void;
  const finished = new Promise<PingSummary>((resolve) => (resolveFinished = resolve));

  const lost = (probe: Probe) => listener.lost?.(probe);
  // Probes past their timeout are lost (reported) or forgotten (answered) whenever the pinger is
  // awake anyway; a timer wakes it only while a probe still waits for its echo.
  const sweep = () => {
    probes.expire(performance.now(), timeoutMs, lost);
    finishWhenAllAccounted();
    sweepWhenOneCanBeLost();
  };
  const sweepWhenOneCanBeLost = () => {
    const oldestSentAtMs = probes.oldestUnansweredSentAtMs();
    schedule.sweepAt(oldestSentAtMs === undefined ? undefined : oldestSentAtMs + timeoutMs, sweep);
  };

  client.on("message", (topic, payload, packet) => {
    if (topic !== pongTopic || !send.isOurs(packet.properties?.correlationData)) return;
    const echoAtMs = readAt();
    // An echo past its probe's timeout is another pinger's to the book, as it was with a timer sweep.
    probes.expire(echoAtMs, timeoutMs, lost);
    const outcome = probes.answer(timestampPrefix(payload), echoAtMs);
    if (outcome.kind === "duplicate") listener.duplicate?.(outcome.probe);
    if (outcome.kind !== "echo") return;
    const parts = breakdown?.echoed(outcome.probe, echoAtMs, packet.properties?.userProperties);
    listener.echo?.(outcome.probe, outcome.rttMs, outcome.outOfOrder, parts);
    if (probes.oldestUnansweredSentAtMs() === undefined) schedule.cancelSweep();
    finishWhenAllAccounted();
  });

  // With --count, finish once every probe is answered or lost, lingering as long as the slowest echo
  // took, so that a duplicate of the last probe is still counted.
  const finishWhenAllAccounted = () => {
    if (count === undefined || !probes.allAccounted(count)) return;
    schedule.lingerThen(probes.received ? Math.min(timeoutMs, probes.rtt.maxMs) : 0, finish);
  };

  await subscribeAll(client, [pongTopic], options.qos);
  // The first probe finds the probe path compiled (./warm-up.ts): its socket round trip, and the
  // probe's making and reading on a scratch book.
  await warmUpConnection(client);
  const scratch = new ProbeBook(timestampDecimals(intervalMs));
  rehearse(WARM_UP_ROUND_TRIPS, () => {
    const payload = buildProbePayload(scratch.open(performance.timeOrigin + performance.now()).timestamp, options.size);
    send.encode(payload);
    scratch.answer(timestampPrefix(payload), performance.now());
  });

  const sendProbe = () => {
    sendProbeNow();
    probes.expire(performance.now(), timeoutMs, lost);
    sweepWhenOneCanBeLost();
  };
  const sendProbeNow = () => {
    const probe = probes.open(performance.timeOrigin + performance.now());
    const payload = buildProbePayload(probe.timestamp, options.size);
    listener.sent?.(probe);
    probe.sentAtMs = performance.now();
    if (!breakdown || !canWriteDirectly(client)) return send.publish(payload, window.freed);
    const times = breakdown.opened(probe);
    send.publish(payload, (error?: Error) => {
      if (!error) breakdown.acknowledged(probe);
      window.freed();
    }, PINGREQ);
    if (options.qos === 0) breakdown.sendSidePublish(times);
  };
  window.mayResume = () => !schedule.stopped && !client.disconnecting;
  const probeDue = () => (send.usesWindow ? window.whenFree(sendProbe) : sendProbe());

  const summary = (): PingSummary => ({
    target: connection.target,
    pingTopic,
    pongTopic,
    transmitted: probes.transmitted,
    received: probes.received,
    duplicates: probes.duplicates,
    outOfOrder: probes.outOfOrder,
    lost: probes.transmitted - probes.received,
    elapsedMs: performance.now() - schedule.startedAt,
    rtt: probes.rtt,
    connect: connection.timing,
    breakdown: breakdown?.stats,
  });

  let finalSummary: PingSummary | undefined;
  function finish(): PingSummary {
    if (finalSummary) return finalSummary;
    schedule.stop();
    finalSummary = summary();
    resolveFinished(finalSummary);
    return finalSummary;
  }

  schedule.start({
    due: () => probes.transmitted + window.held,
    count,
    probeDue,
  });

  return {
    connection,
    finished,
    progress: () => ({ transmitted: probes.transmitted, received: probes.received, duplicates: probes.duplicates }),
    async stop() {
      const result = finish();
      await connection.end();
      return result;
    },
  };
}

/**
 * How probes leave. Under MQTT 5 each names the pong topic as its Response Topic and carries this
 * pinger's own Correlation Data, which echo returns: two pingers sending the same timestamp (started
 * in the same second, say) then tell their echoes apart. Echoes without it (3.1.1, other echoes)
 * match by payload.
 */
function probeSender(connection: Connection, options: PingOptions) {
  const { client } = connection;
  const pingerId = connection.protocolVersion === 5 ? randomBytes(8) : undefined;
  // --breakdown asks echo for its turnaround with a User Property.
  const userProperties: Record<string, string> | undefined = options.breakdown ? { [BREAKDOWN_REQUEST_PROPERTY]: "1" } : undefined;
  const properties = pingerId && { responseTopic: options.pongTopic, correlationData: pingerId, ...(userProperties && { userProperties }) };
  const publishOptions: IClientPublishOptions = properties ? { qos: options.qos, properties } : { qos: options.qos };
  const frames = options.qos === 0 ? new Qos0PublishFrames(options.pingTopic, connection.protocolVersion, properties && { ...properties, userProperties: userProperties && Object.entries(userProperties) }) : undefined;
  return {
    /** QoS 1/2 probes keep to the broker's Receive Maximum; QoS 0 ones need no slot. */
    usesWindow: frames === undefined,
    /** The probe's bytes (QoS 0; for the warm-up: nothing is sent). */
    encode: (payload: Buffer) => frames?.encode(payload),
    isOurs: (correlationData: unknown) => !pingerId || !Buffer.isBuffer(correlationData) || pingerId.equals(correlationData),
    /** `leading`: a packet written just before the probe (--breakdown's PINGREQ; only when canWriteDirectly). */
    publish(payload: Buffer, acknowledged: (error?: Error) => void, leading?: Buffer): void {
      if (!frames) {
        if (leading) client.stream.write(leading);
        return void client.publish(options.pingTopic, payload, publishOptions, acknowledged);
      }
      // QoS 0: the PUBLISH is written whole (src/core/publish-frame.ts) — MQTT.js's encoding of it,
      // the MQTT 5 properties above all, was most of the pinger's own cost. MQTT.js still publishes
      // a probe when that needs its state: a connection that is down or just resending its store.
      if (canWriteDirectly(client) && frames.packetLength(payload.length) !== Infinity) {
        writePacket(client.stream, leading ? Buffer.concat([leading, frames.encode(payload)]) : frames.encode(payload));
        return;
      }
      if (leading) client.stream.write(leading);
      client.publish(options.pingTopic, payload, publishOptions);
    },
  };
}

