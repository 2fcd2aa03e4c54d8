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
}

export interface EchoHandle {
  readonly connection: Connection;
  /** Messages echoed so far. */
  readonly echoed: () => number;
  close(): Promise<void>;
}

/** The echo role: every payload on the ping topic goes back, byte for byte, on the pong topic. */
export async function startEcho(options: EchoOptions): Promise<EchoHandle> {
  const connection = await connect(options.connection);
  const { client } = connection;
  let echoed = 0;
  const { pingTopic, pongTopic, qos, logMessages } = options;
  const publishOptions = { qos };

  client.on("message", (topic, payload) => {
    if (topic !== pingTopic) return;
    if (logMessages) {
      const shown = describePayload(payload);
      log.info(`Got ${shown} on ${pingTopic}.`);
      log.info(`Publishing ${shown} on ${pongTopic}.`);
    }
    client.publish(pongTopic, payload, publishOptions);
    echoed++;
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
