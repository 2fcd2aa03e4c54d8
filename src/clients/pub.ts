import type { IClientPublishOptions } from "mqtt";
import type { QoS } from "mqtt-packet";
import { formatMs } from "../core/duration";
import { connect, type Connection, type ConnectionOptions } from "./connection";
import { abandonInFlight } from "./disconnect";

export interface PubOptions {
  connection: ConnectionOptions;
  topic: string;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 PUBLISH properties (content type, user properties, ...); left out under 3.1.1. */
  properties?: IClientPublishOptions["properties"];
  /** Wait this long between two messages (--repeat-delay). */
  delayMs: number;
  /** Give up when a QoS 1 or 2 message is not acknowledged within this long (--timeout). */
  ackTimeoutMs: number;
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
/** The broker did not acknowledge a QoS 1 or 2 message (PUBACK, PUBREC/PUBCOMP) within --timeout. */
export class PublishNotAcknowledged extends Error {}

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
          await acknowledged(connection, connection.client.publishAsync(options.topic, message, publishOptions), options);
        } catch (error) {
          if (error instanceof PublishNotAcknowledged) throw error;
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

/**
 * `published`, or PublishNotAcknowledged after options.ackTimeoutMs. Then the message is taken out of
 * MQTT.js's in-flight set, whose DISCONNECT would otherwise wait for its acknowledgement for ever.
 */
async function acknowledged(connection: Connection, published: Promise<unknown>, options: PubOptions): Promise<void> {
  if (options.qos === 0) return void (await published);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), options.ackTimeoutMs)));
  try {
    if ((await Promise.race([published, timedOut])) !== "timeout") return;
  } finally {
    clearTimeout(timer);
  }
  published.catch(() => {}); // rejected by the removal below
  abandonInFlight(connection.client);
  const awaited = options.qos === 1 ? "PUBACK" : "PUBREC/PUBCOMP";
  throw new PublishNotAcknowledged(`no ${awaited} from the broker for the message to ${options.topic} within ${formatMs(options.ackTimeoutMs)}; giving up`);
}
