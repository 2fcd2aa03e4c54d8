// Clients that probe what a broker keeps: retained messages a new subscriber gets, and messages an
// offline persistent session gets back (broker-limits and cluster-limits).
import mqtt, { type MqttClient } from "mqtt";
import { connectV5, waitUntil } from "../mqtt5-client";

export function connect311(url: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...options });
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
  });
}

/** The retained topics a new subscriber to `filter` gets, once `expected` of them arrived and a marker went round. */
export async function retainedTopics(url: string, filter: string, expected: number): Promise<string[]> {
  const { client } = await connectV5(url);
  const topics: string[] = [];
  client.on("message", (topic, _payload, packet) => packet.retain && topics.push(topic));
  await client.subscribeAsync(filter);
  await waitUntil(() => topics.length >= expected);
  await client.subscribeAsync("marker");
  await client.publishAsync("marker", "m", { qos: 1 });
  await client.endAsync();
  return topics.sort();
}

/**
 * A persistent session subscribes at QoS 1 on `url` and leaves; `count` QoS 1 messages are published
 * (on `publishTo`: another node of a cluster); what it gets back when it returns (on `resumeOn`).
 */
export async function keptWhileOffline(url: string, count: number, payload: (n: number) => string, nodes: { publishTo?: string; resumeOn?: string } = {}): Promise<string[]> {
  const clientId = `offline-${Math.random().toString(36).slice(2)}`;
  const first = await connect311(url, { clientId, clean: false });
  await first.subscribeAsync("offline/q", { qos: 1 });
  await first.endAsync();
  const publisher = await connect311(nodes.publishTo ?? url);
  for (let n = 1; n <= count; n++) await publisher.publishAsync("offline/q", payload(n), { qos: 1 });
  await publisher.endAsync();
  const received: string[] = [];
  const back = mqtt.connect(nodes.resumeOn ?? url, { protocolVersion: 4, reconnectPeriod: 0, clientId, clean: false });
  back.on("message", (_topic, body) => received.push(body.toString()));
  // Everything kept arrives right after the CONNACK; a marker published after the reconnect comes last.
  await new Promise((resolve) => back.once("connect", resolve));
  await back.subscribeAsync("offline/done", { qos: 1 });
  await back.publishAsync("offline/done", "done", { qos: 1 });
  await waitUntil(() => received.includes("done"));
  await back.endAsync();
  return received.filter((body) => body !== "done");
}
