import type { IClientPublishOptions } from "mqtt";
import type { QoS } from "mqtt-packet";
import { connect, type Connection, type ConnectionOptions } from "./connection";

export interface PubOptions {
  connection: ConnectionOptions;
  topic: string;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 PUBLISH properties (content type, user properties, ...); left out under 3.1.1. */
  properties?: IClientPublishOptions["properties"];
  /** Wait this long between two messages (--repeat-delay). */
  delayMs: number;
}

export interface PubHandle {
  readonly connection: Connection;
  /**
   * Publishes each message in turn, waiting for the broker's acknowledgement at QoS 1 and 2, and
   * resolves with how many were sent. A refused publish (MQTT 5 reason ≥ 0x80) rejects.
   */
  publish(messages: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<number>;
  close(): Promise<void>;
}

export class PublishRefused extends Error {}

/** The pub role (mosquitto_pub's twin): one connection, messages published in order. */
export async function startPub(options: PubOptions): Promise<PubHandle> {
  const connection = await connect(options.connection);
  const publishOptions: IClientPublishOptions = {
    qos: options.qos,
    retain: options.retain,
    properties: connection.protocolVersion === 5 ? options.properties : undefined,
  };
  return {
    connection,
    async publish(messages) {
      let sent = 0;
      for await (const message of messages) {
        if (sent > 0 && options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        try {
          await connection.client.publishAsync(options.topic, message, publishOptions);
        } catch (error) {
          if (typeof (error as { code?: unknown }).code !== "number") throw error;
          throw new PublishRefused(`the broker refused the publish to ${options.topic}: ${(error as Error).message}`);
        }
        sent++;
      }
      return sent;
    },
    close: () => connection.end(),
  };
}
