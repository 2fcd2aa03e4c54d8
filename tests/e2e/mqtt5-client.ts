// MQTT.js v5 clients for the protocol tests: connect, and wait for messages or packets by event.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from "mqtt";
import mqttPacket from "mqtt-packet";
import { afterEach } from "bun:test";
import { waitUntil } from "./harness";

export { waitUntil };

const open = new Set<MqttClient>();

// Every test closes the clients it opened, even when it fails half-way.
afterEach(async () => {
  const clients = [...open];
  open.clear();
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
});

/**
 * Every packet the broker sent a client, parsed from the socket's bytes. MQTT.js can drop a packet it
 * parsed but had not handled yet when the connection closes right behind it (a DISCONNECT followed by
 * the broker closing, for one); what the broker sent is what the tests check.
 */
const fromBroker = new WeakMap<MqttClient, { packets: Packet[]; closed: boolean; waiters: Array<() => void> }>();

function open5(url: string, options: IClientOptions): MqttClient {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  open.add(client);
  const record = { packets: [] as Packet[], closed: false, waiters: [] as Array<() => void> };
  const wake = () => record.waiters.splice(0).forEach((resolve) => resolve());
  const parser = mqttPacket.parser({ protocolVersion: options.protocolVersion ?? 5 });
  parser.on("packet", (packet) => {
    record.packets.push(packet as Packet);
    wake();
  });
  parser.on("error", () => {});
  client.stream.on("data", (chunk: Buffer) => parser.parse(chunk));
  client.stream.on("close", () => {
    record.closed = true;
    wake();
  });
  fromBroker.set(client, record);
  return client;
}

/** Connects an MQTT 5 client (no reconnect) and resolves with it and its CONNACK. */
/**
 * Connects and resolves with the CONNACK. `beforeConnack` runs on the client first, so a listener
 * it adds (an Inbox) sees queued messages the broker sends right behind the CONNACK.
 */
export async function connectV5(url: string, options: IClientOptions = {}, beforeConnack?: (client: MqttClient) => void): Promise<{ client: MqttClient; connack: Packet & { properties?: Record<string, unknown>; sessionPresent?: boolean } }> {
  const client = open5(url, options);
  beforeConnack?.(client);
  const connack = await new Promise<any>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
  return { client, connack };
}

/** Connects and resolves with the CONNACK's reason code even when the broker refuses. */
export function connackOf(url: string, options: IClientOptions = {}): Promise<{ reasonCode: number; properties?: Record<string, unknown> }> {
  const client = open5(url, options);
  return new Promise((resolve, reject) => {
    client.once("packetreceive", (packet: any) => {
      if (packet.cmd === "connack") resolve({ reasonCode: packet.reasonCode ?? packet.returnCode, properties: packet.properties });
      else reject(new Error(`expected CONNACK, got ${packet.cmd}`));
    });
    client.once("close", () => setTimeout(() => reject(new Error("closed without CONNACK")), 0));
  });
}

/** Collects the messages a client receives and waits for counts of them. */
export class Inbox {
  readonly messages: IPublishPacket[] = [];
  private waiters: Array<() => void> = [];

  constructor(client: MqttClient) {
    client.on("message", (topic, _payload, packet) => {
      // The topic as MQTT.js restored it from a Topic Alias; the packet keeps the wire's.
      this.messages.push({ ...packet, topic });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves once `count` messages have arrived; fails after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<IPublishPacket[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`expected ${count} messages, got ${this.messages.length}: ${this.describe()}`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), Bun.sleep(Math.min(remaining, 250))]);
    }
    return this.messages.slice(0, count);
  }

  describe(): string {
    return JSON.stringify(this.messages.map((m) => `${m.topic}:${m.payload.toString()}`));
  }
}

/** Resolves with the DISCONNECT the broker sent, or fails if the connection ends without one. */
export async function disconnectFromBroker(client: MqttClient, timeoutMs = 10_000): Promise<{ reasonCode: number }> {
  const record = fromBroker.get(client)!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const disconnect = record.packets.find((packet) => packet.cmd === "disconnect") as { reasonCode?: number } | undefined;
    if (disconnect) return { reasonCode: disconnect.reasonCode ?? 0 };
    if (record.closed) throw new Error(`connection closed without a DISCONNECT; got ${record.packets.map((p) => p.cmd).join(", ")}`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`no DISCONNECT within ${timeoutMs} ms`);
    await Promise.race([new Promise<void>((resolve) => record.waiters.push(resolve)), Bun.sleep(Math.min(remaining, 250))]);
  }
}

