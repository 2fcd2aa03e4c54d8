import type { QoS } from "mqtt-packet";
import type { ReceivedMessage } from "../core/message-format";
import { connect, type Connection, type ConnectionOptions } from "./connection";
import { describeGrant, subscribeEach, SubscriptionRefused, type Grant } from "./subscribe";

export { SubscriptionRefused };

export interface SubOptions {
  connection: ConnectionOptions;
  /** Topic filters, wildcards allowed. */
  filters: string[];
  qos: QoS;
  /** Clear each retained message received by publishing an empty retained message to its topic. */
  removeRetained?: boolean;
}

export interface SubHandle {
  readonly connection: Connection;
  /** The broker's answer per filter; some may be refused (code ≥ 0x80) while others were granted. */
  readonly granted: Grant[];
  close(): Promise<void>;
}

/**
 * The sub role (mosquitto_sub's twin): subscribes to every filter and hands each message to
 * `onMessage`. The listener is attached before CONNECT, so a resumed session's queued messages,
 * which may arrive right after CONNACK, are not missed.
 */
export async function startSub(options: SubOptions, onMessage: (message: ReceivedMessage) => void): Promise<SubHandle> {
  const connection = await connect({
    ...options.connection,
    prepareClient(client) {
      options.connection.prepareClient?.(client);
      client.on("message", (topic, payload, packet) => {
        if (options.removeRetained && packet.retain && payload.length > 0) client.publish(topic, Buffer.alloc(0), { qos: 1, retain: true });
        onMessage({ topic, payload, qos: packet.qos, retain: packet.retain, messageId: packet.messageId, properties: packet.properties });
      });
    },
  });
  const granted = await subscribeEach(connection.client, options.filters, options.qos);
  if (granted.every((grant) => grant.code >= 0x80)) {
    await connection.end();
    throw new SubscriptionRefused(`the broker refused the subscription to ${granted.map(describeGrant).join(", ")}`);
  }
  return { connection, granted, close: () => connection.end() };
}
