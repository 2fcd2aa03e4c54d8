import type { IClientPublishOptions } from "mqtt";
import type { QoS } from "mqtt-packet";
import { describePayload } from "../core/payload";
import { isDebugEnabled, log } from "../log";
import { connect, type Connection, type ConnectionOptions } from "./connection";

export interface EchoOptions {
  connection: ConnectionOptions;
  pingTopic: string;
  pongTopic: string;
  qos: QoS;
  /** Log each message (`Got … on /ping.`, `Publishing … on /pong.`). */
  logMessages: boolean;
  /** Called after each answer (for --json); not called when unset, so the hot path stays bare. */
  onEcho?: (echo: Echo) => void;
}

export interface Echo {
  /** Where the answer went: the request's Response Topic, or the pong topic. */
  topic: string;
  payload: Buffer;
  correlationData?: Buffer;
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
  const connection = await connect(options.connection);
  const { client } = connection;
  let echoed = 0;
  const { pingTopic, pongTopic, qos, logMessages, onEcho } = options;
  const publishOptions = { qos };

  client.on("message", (topic, payload, packet) => {
    if (topic !== pingTopic) return;
    const responseTopic = packet.properties?.responseTopic;
    const answerTopic = responseTopic ?? pongTopic;
    if (logMessages) {
      const shown = describePayload(payload);
      log.info(`Got ${shown} on ${pingTopic}.`);
      log.info(`Publishing ${shown} on ${answerTopic}.`);
    }
    const correlationData = responseTopic ? packet.properties?.correlationData : undefined;
    const answerOptions: IClientPublishOptions = responseTopic ? { qos, properties: correlationData ? { correlationData } : undefined } : publishOptions;
    client.publish(answerTopic, payload, answerOptions);
    echoed++;
    onEcho?.({ topic: answerTopic, payload, correlationData });
  });

  const granted = await client.subscribeAsync(pingTopic, { qos });
  if (granted.some((grant) => grant.qos >= 0x80)) throw new Error(`the broker refused the subscription to ${pingTopic}`);
  log.info(`Subscribed to ${pingTopic}; echoing to ${pongTopic}.`);
  if (isDebugEnabled()) log.debug(`connected as ${options.connection.clientId} in ${connection.timing.connackMs.toFixed(1)} ms`);

  return {
    connection,
    echoed: () => echoed,
    close: () => connection.end(),
  };
}
