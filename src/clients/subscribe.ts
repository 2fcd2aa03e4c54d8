import type { MqttClient } from "mqtt";
import type { QoS } from "mqtt-packet";
import { ConnectionError } from "./connection";

/** What the broker said to one filter: the granted QoS, or a refusal reason code (≥ 0x80). */
export interface Grant {
  topic: string;
  /** 0..2 granted, ≥ 0x80 refused. */
  code: number;
}

/**
 * Subscribes and returns the broker's answer per filter. MQTT.js rejects the whole SUBSCRIBE when any
 * filter is refused; this reads the SUBACK from that error instead, so a caller can go on with the
 * filters that were granted.
 */
export async function subscribeEach(client: MqttClient, filters: string[], qos: QoS): Promise<Grant[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos });
    return filters.map((topic) => ({ topic, code: granted.find((grant) => grant.topic === topic)?.qos ?? 0x80 }));
  } catch (error) {
    const codes = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (!codes) throw error;
    return filters.map((topic, index) => ({ topic, code: codes[index] ?? 0x80 }));
  }
}

/** A ConnectionError, so every client command reports it in one line with exit status 3. */
export class SubscriptionRefused extends ConnectionError {}

/** For roles that need every filter: throws SubscriptionRefused naming the refused ones. */
export async function subscribeAll(client: MqttClient, filters: string[], qos: QoS): Promise<Grant[]> {
  const grants = await subscribeEach(client, filters, qos);
  const refused = grants.filter((grant) => grant.code >= 0x80);
  if (refused.length) throw new SubscriptionRefused(`the broker refused the subscription to ${refused.map(describeGrant).join(", ")}`);
  return grants;
}

export const describeGrant = (grant: Grant) => `${grant.topic} (reason 0x${grant.code.toString(16)})`;
