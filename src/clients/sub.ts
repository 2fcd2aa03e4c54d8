import type { ISubscriptionGrant } from "mqtt";
import type { QoS } from "mqtt-packet";
import type { ReceivedMessage } from "../core/message-format";
import { connect, type Connection, type ConnectionOptions } from "./connection";

export interface SubOptions {
  connection: ConnectionOptions;
  /** Topic filters, wildcards allowed. */
  filters: string[];
  qos: QoS;
}

export interface SubHandle {
  readonly connection: Connection;
  readonly granted: ISubscriptionGrant[];
  close(): Promise<void>;
}

export class SubscriptionRefused extends Error {}

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
      client.on("message", (topic, payload, packet) =>
        onMessage({ topic, payload, qos: packet.qos, retain: packet.retain, messageId: packet.messageId, properties: packet.properties }),
      );
    },
  });
  const granted = await connection.client.subscribeAsync(options.filters, { qos: options.qos });
  const refused = granted.filter((grant) => grant.qos >= 0x80);
  if (refused.length === granted.length) {
    await connection.end();
    throw new SubscriptionRefused(`the broker refused the subscription to ${refused.map((grant) => grant.topic).join(", ")}`);
  }
  return { connection, granted, close: () => connection.end() };
}
