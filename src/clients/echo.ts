import type { IClientPublishOptions, MqttClient } from "mqtt";
import { HOLD_AFTER_ANSWER_MS, writePacket } from "./bun-tcp-stream";
import type { QoS } from "mqtt-packet";
import { describePayload } from "../core/payload";
import { isDebugEnabled, log } from "../log";
import { BREAKDOWN_REQUEST_PROPERTY, ECHO_TURNAROUND_PROPERTY, formatTurnaroundUs } from "../core/probe-breakdown";
import { canWriteDirectly, FramesByTopic, ReceiveWindow } from "./direct-publish";
import { EchoFastPath } from "./echo-fast-path";
import { readClock } from "./read-clock";
import { subscribeAll } from "./subscribe";
import { rehearse, warmUpConnection, WARM_UP_ROUND_TRIPS } from "./warm-up";
import { Qos0PublishFrames } from "../core/publish-frame";
import { connect, type Connection, type ConnectionOptions } from "./connection";

export interface EchoOptions {
  connection: ConnectionOptions;
  pingTopic: string;
  pongTopic: string;
  qos: QoS;
  /** Log each message (`Got … on /ping.`, `Publishing … on /pong.`). */
  logMessages: boolean;
  /** Called a moment after each answer (for --json), as the log lines are; not called when unset. */
  onEcho?: (echo: Echo) => void;
}

export interface Echo {
  /** Where the answer went: the request's Response Topic, or the pong topic. */
  topic: string;
  payload: Buffer;
  correlationData?: Buffer;
  /** When the answer was made (Unix time, ms). */
  answeredAtMs: number;
}

export interface EchoHandle {
  readonly connection: Connection;
  /** Messages echoed so far. */
  readonly echoed: () => number;
  close(): Promise<void>;
}

/**
 * The echo role: every payload on the ping topic goes back, byte for byte, on the pong topic, or, when
 * an MQTT 5 request carries a Response Topic, on that topic with the request's Correlation Data.
 */
export async function startEcho(options: EchoOptions): Promise<EchoHandle> {
  let echoed = 0;
  const { pingTopic, pongTopic, qos, logMessages, onEcho } = options;
  const publishOptions = { qos };
  // The MQTT.js client of the current attempt; set before it reads anything (prepareClient below).
  let current: MqttClient | undefined;
  let framesByTopic: FramesByTopic | undefined;
  let readAt: (() => number) | undefined;

  // A burst of QoS 1/2 echoes (a session's stored messages at reconnect) keeps to the broker's
  // Receive Maximum, which MQTT.js does not (direct-publish.ts).
  const window = new ReceiveWindow(() => current!);

  const echo = (client: MqttClient, payload: Buffer, packet: RequestPacket, done?: (error?: Error) => void) => {
    answer(client, payload, packet, done);
    // Logged (and --json's line written) a moment after the answer has left, not at once: the kernel
    // tends to wake the broker our answer reaches on this CPU, and that work would delay the answer's
    // way on. The lines are made then too: even formatting them is work on this CPU.
    if (!logMessages && !onEcho) return;
    if (pending.length === 0) setTimeout(reportPending, HOLD_AFTER_ANSWER_MS);
    const responseTopic = packet.properties?.responseTopic;
    pending.push({ topic: responseTopic ?? pongTopic, payload, correlationData: responseTopic ? packet.properties?.correlationData : undefined, answeredAtMs: performance.timeOrigin + performance.now() });
  };
  /** Messages answered and not reported yet. */
  const pending: Echo[] = [];
  const reportPending = () => {
    for (const answered of pending) {
      if (logMessages) {
        const shown = describePayload(answered.payload);
        log.info(`Got ${shown} on ${pingTopic}.`);
        log.info(`Publishing ${shown} on ${answered.topic}.`);
      }
      onEcho?.(answered);
    }
    pending.length = 0;
  };

  const answer = (client: MqttClient, payload: Buffer, packet: RequestPacket, done?: (error?: Error) => void) => {
    const responseTopic = packet.properties?.responseTopic;
    const answerTopic = responseTopic ?? pongTopic;
    const correlationData = responseTopic ? packet.properties?.correlationData : undefined;
    // ping --breakdown asks (MQTT 5) for echo's turnaround: from reading the request to writing the answer.
    const turnaround = responseTopic && readAt && packet.properties?.userProperties?.[BREAKDOWN_REQUEST_PROPERTY] !== undefined ? readAt : undefined;
    echoed++;
    if (qos === 0) {
      const frames = framesByTopic?.of(answerTopic, correlationData ? { correlationData } : undefined);
      if (frames && canWriteDirectly(client) && frames.packetLength(payload.length) !== Infinity) {
        writePacket(client.stream, turnaround ? frames.encodeWithUserProperty(payload, ECHO_TURNAROUND_PROPERTY, formatTurnaroundUs(performance.now() - turnaround())) : frames.encode(payload));
        return done?.();
      }
    }
    // Past the direct path, which needs no options object.
    const answerOptions: IClientPublishOptions = responseTopic ? { qos, properties: correlationData ? { correlationData } : undefined } : publishOptions;
    if (turnaround) answerOptions.properties = { ...answerOptions.properties, userProperties: { [ECHO_TURNAROUND_PROPERTY]: formatTurnaroundUs(performance.now() - turnaround()) } };
    if (qos === 0) return client.publish(answerTopic, payload, answerOptions, done);
    window.whenFree(() =>
      client.publish(answerTopic, payload, answerOptions, (error) => {
        window.freed();
        done?.(error);
      }),
    );
  };

  // QoS 1/2: echo when the PUBLISH arrives, and hold its PUBACK / PUBREC back until the broker has
  // taken the echo (PUBACK / PUBCOMP). Killed at any point, the echo loses nothing: the broker sends
  // an unacknowledged message again to the restarted echo (same client id, persistent session). QoS 2
  // is not echoed again at PUBREL, so it is not repeated either.
  const awaitingEcho = new Map<number, { echoed: boolean; sendAck?: () => void }>();
  const customHandleAcks = (topic: string, payload: Buffer, packet: RequestPacket & { qos: number; messageId?: number }, ack: (code: number) => void) => {
    if (topic === pingTopic && packet.qos > 0 && packet.messageId !== undefined) {
      const entry: { echoed: boolean; sendAck?: () => void } = { echoed: false };
      awaitingEcho.set(packet.messageId, entry);
      echo(current!, payload, packet, (error) => {
        if (error) return; // the connection is going: no acknowledgement, so the broker sends it again
        entry.echoed = true;
        awaitingEcho.delete(packet.messageId!);
        entry.sendAck?.();
      });
    }
    // MQTT.js handles one incoming packet at a time: answering later here would stall it (and the
    // PUBACK for the echo behind it). So answer now; holdAcks (installed before the first packet)
    // keeps the acknowledgement back.
    ack(0);
  };

  // QoS 0: probes are answered from the socket's read, ahead of MQTT.js (./echo-fast-path.ts).
  const fastPath = qos === 0 ? new EchoFastPath(Buffer.from(pingTopic, "utf8"), (payload, properties) => echo(current!, payload, { properties })) : undefined;

  const connection = await connect({
    ...options.connection,
    extra: { ...options.connection.extra, customHandleAcks },
    prepareClient(client) {
      options.connection.prepareClient?.(client);
      current = client;
      holdAcks(client, awaitingEcho);
      fastPath?.watch(client);
    },
  });
  const { client } = connection;
  // QoS 0 answers go to the socket whole, as the pinger's probes do (./direct-publish.ts).
  framesByTopic = new FramesByTopic(connection.protocolVersion);
  readAt = readClock(client);

  client.on("message", (topic, payload, packet) => {
    if (topic !== pingTopic || packet.qos > 0) return; // QoS 1/2 are echoed on arrival, above
    if (fastPath?.answeredAlready()) return;
    echo(client, payload, packet);
  });
  if (fastPath) fastPath.enabled = true;

  await subscribeAll(client, [pingTopic], qos);
  // The first probe finds echo's read and write path compiled (./warm-up.ts).
  if (fastPath) rehearseAnswers(fastPath, pingTopic, connection.protocolVersion);
  await warmUpConnection(client);
  log.info(`Subscribed to ${pingTopic}; echoing to ${pongTopic}.`);
  if (isDebugEnabled()) log.debug(`connected as ${options.connection.clientId} in ${connection.timing.connackMs.toFixed(1)} ms`);

  // What was answered is reported even when the connection or the process ends within the moment.
  client.prependListener("close", reportPending);
  return {
    connection,
    echoed: () => echoed,
    close: () => {
      reportPending();
      return connection.end();
    },
  };
}

/** A probe as ping sends it (MQTT 5: with a Response Topic and Correlation Data), read and answered on a scratch table. */
function rehearseAnswers(fastPath: EchoFastPath, pingTopic: string, protocolVersion: 4 | 5): void {
  const properties = protocolVersion === 5 ? { responseTopic: "/pong", correlationData: Buffer.from("rehearse") } : undefined;
  const payload = Buffer.from("1733520000.123456");
  const probe = new Qos0PublishFrames(pingTopic, protocolVersion, properties).encode(payload);
  fastPath.rehearse(probe, protocolVersion, WARM_UP_ROUND_TRIPS);
  const scratch = new FramesByTopic(protocolVersion);
  rehearse(WARM_UP_ROUND_TRIPS, () => scratch.of("/pong", properties && { correlationData: properties.correlationData }).encode(payload));
}

/** What echo reads of a request: an MQTT 5 Response Topic and Correlation Data, when given. */
type RequestPacket = { properties?: { responseTopic?: string; correlationData?: Buffer; userProperties?: Record<string, string | string[]> } };

type SendPacket = (packet: { cmd: string; messageId?: number }, done?: (error?: Error) => void, ...rest: unknown[]) => void;

/** Delays the PUBACK / PUBREC of a message until its echo is acknowledged (MQTT.js has no hook for it). */
function holdAcks(client: MqttClient, awaitingEcho: Map<number, { echoed: boolean; sendAck?: () => void }>): void {
  const internals = client as unknown as { _sendPacket: SendPacket };
  const sendPacket = internals._sendPacket.bind(client);
  internals._sendPacket = (packet, done, ...rest) => {
    const entry = (packet.cmd === "puback" || packet.cmd === "pubrec") && packet.messageId !== undefined ? awaitingEcho.get(packet.messageId) : undefined;
    if (!entry || entry.echoed) return sendPacket(packet, done, ...rest);
    entry.sendAck = () => sendPacket(packet, undefined, ...rest);
    done?.(); // let MQTT.js go on to the next packet
  };
}
