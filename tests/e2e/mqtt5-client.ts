// MQTT.js v5 clients for the protocol tests: connect, and wait for messages or packets by event.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from "mqtt";
import { afterEach } from "bun:test";

const open = new Set<MqttClient>();

// Every test closes the clients it opened, even when it fails half-way.
afterEach(async () => {
  const clients = [...open];
  open.clear();
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
});

/** Connects an MQTT 5 client (no reconnect) and resolves with it and its CONNACK. */
export async function connectV5(url: string, options: IClientOptions = {}): Promise<{ client: MqttClient; connack: Packet & { properties?: Record<string, unknown>; sessionPresent?: boolean } }> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  open.add(client);
  const connack = await new Promise<any>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
    client.once("close", () => reject(new Error("connection closed before CONNACK")));
  });
  return { client, connack };
}

/** Connects and resolves with the CONNACK's reason code even when the broker refuses. */
export function connackOf(url: string, options: IClientOptions = {}): Promise<{ reasonCode: number; properties?: Record<string, unknown> }> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
  open.add(client);
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
    client.on("message", (_topic, _payload, packet) => {
      this.messages.push(packet);
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

/** Resolves with the DISCONNECT the broker sends, or fails if the connection ends without one. */
export function disconnectFromBroker(client: MqttClient, timeoutMs = 10_000): Promise<{ reasonCode: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DISCONNECT within ${timeoutMs} ms`)), timeoutMs);
    client.on("disconnect", (packet: any) => {
      clearTimeout(timer);
      resolve({ reasonCode: packet.reasonCode ?? 0 });
    });
    client.once("close", () =>
      setTimeout(() => {
        clearTimeout(timer);
        reject(new Error("connection closed without a DISCONNECT"));
      }, 50),
    );
  });
}

/** Resolves when the client's connection is closed. */
export function closed(client: MqttClient, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected && client.disconnected) return resolve();
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs);
    client.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
