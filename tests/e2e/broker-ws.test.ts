import { describe, expect, test } from "bun:test";
import { connectV5, disconnectFromBroker, Inbox } from "./mqtt5-client";
import { freePort, Proc, pingpong, qos1PenaltyMs, startBroker, testWithPrograms } from "./harness";

/** Our broker with a WebSocket listener beside TCP; resolves once both listen. */
async function wsBroker(...extra: string[]): Promise<{ broker: Proc; port: number; wsUrl: string }> {
  const wsPort = await freePort();
  const { proc: broker, port } = await startBroker("--ws-port", String(wsPort), ...extra);
  const wsUrl = `ws://127.0.0.1:${wsPort}/mqtt`;
  expect(broker.output()).toContain(wsUrl);
  return { broker, port, wsUrl };
}

describe("the WebSocket listener", () => {
  test("packets split over many WebSocket messages are all read (MQTT.js sends them so)", async () => {
    const { wsUrl } = await wsBroker();
    // Each connection's SUBSCRIBE comes in pieces; a stream that hands aedes only the first piece stalls.
    for (let i = 0; i < 30; i++) {
      const { client } = await connectV5(wsUrl, { protocolVersion: i % 2 ? 4 : 5 });
      await client.subscribeAsync(`split/${i}`, { qos: 1 });
      await client.endAsync();
    }
  });

  for (const protocolVersion of [5, 4] as const) {
    test(`MQTT.js over ws:// subscribes and publishes at QoS 0, 1 and 2 (protocol level ${protocolVersion})`, async () => {
      const { broker, wsUrl } = await wsBroker();
      const { client } = await connectV5(wsUrl, { protocolVersion });
      const inbox = new Inbox(client);
      await client.subscribeAsync("ws/#", { qos: 2 });
      for (const qos of [0, 1, 2] as const) await client.publishAsync(`ws/${qos}`, `over WebSocket at QoS ${qos}`, { qos });
      const received = await inbox.waitFor(3);
      expect(received.map((m) => `${m.topic} ${m.payload.toString()} ${m.qos}`).sort()).toEqual([
        "ws/0 over WebSocket at QoS 0 0",
        "ws/1 over WebSocket at QoS 1 1",
        "ws/2 over WebSocket at QoS 2 2",
      ]);
      await client.endAsync();
      await broker.waitFor(/disconnected\./);
    });
  }

  testWithPrograms(["mosquitto_pub"], "messages cross between WebSocket and TCP clients, large ones included", async () => {
    const { broker, port, wsUrl } = await wsBroker();
    const { client } = await connectV5(wsUrl);
    const inbox = new Inbox(client);
    await client.subscribeAsync("cross/#", { qos: 1 });
    const pub = new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-t", "cross/tcp", "-m", "from mosquitto_pub over TCP", "-q", "1"]);
    expect(await pub.waitExit()).toBe(0);
    // 4 MiB through the adapter in both directions: WebSocket messages and Bun's backpressure (drain).
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    big.write("start");
    await client.publishAsync("cross/big", big, { qos: 1 });
    const [small, large] = await inbox.waitFor(2, 20_000);
    expect(small!.payload.toString()).toBe("from mosquitto_pub over TCP");
    expect(Buffer.compare(large!.payload as Buffer, big)).toBe(0);
    expect(broker.exitCode).toBeNull();
  });

  test("a WebSocket message may be as large as --max-packet-size allows, beyond Bun's 16 MiB default", async () => {
    const { wsUrl } = await wsBroker("--max-packet-size", String(24 * 1024 * 1024));
    const { client } = await connectV5(wsUrl);
    const inbox = new Inbox(client);
    await client.subscribeAsync("huge", { qos: 1 });
    const huge = Buffer.alloc(20 * 1024 * 1024, 1);
    await client.publishAsync("huge", huge, { qos: 1 });
    const [message] = await inbox.waitFor(1, 30_000);
    expect(message!.payload.length).toBe(huge.length);
  });

  test("our ping over ws:// and our echo over TCP work together", async () => {
    const { port, wsUrl } = await wsBroker();
    const echo = pingpong("echo", "--port", String(port), "--qos", "1");
    await echo.waitFor(/Subscribed/);
    const ping = pingpong("ping", "--url", wsUrl, "--qos", "1", "--count", "20", "--interval", "20ms");
    expect(await ping.waitExit(20_000)).toBe(0);
    expect(ping.output()).toContain("20 probes transmitted, 20 received");
  });

  test("a QoS 1 round trip over ws:// on both sides pays no Nagle delay, and ping times the transport apart", async () => {
    const { wsUrl } = await wsBroker();
    const echo = pingpong("echo", "--url", wsUrl, "--qos", "1", "--quiet");
    await echo.waitFor(/Subscribed/);
    const ping = pingpong("ping", "--url", wsUrl, "--qos", "1", "--count", "3", "--interval", "50ms", "--json");
    expect(await ping.waitExit(20_000)).toBe(0);
    const summary = JSON.parse(ping.stdoutLines.filter((line) => line !== "").at(-1)!);
    expect(summary.received).toBe(3);
    // Nagle on either end would hold the echo's PUBLISH after its PUBACK for a delayed ACK (~40 ms).
    expect(await qos1PenaltyMs(["--url", wsUrl])).toBeLessThan(20);
    // The WebSocket's open (TCP and HTTP upgrade) is the transport time, before CONNACK.
    expect(summary.connectMs.transport).toBeGreaterThan(0);
    expect(summary.connectMs.transport).toBeLessThanOrEqual(summary.connectMs.connack);
  });

  test("only /mqtt upgrades; other paths get 404 and a plain GET gets 426", async () => {
    const { wsUrl } = await wsBroker();
    const http = wsUrl.replace("ws://", "http://");
    expect((await fetch(http.replace("/mqtt", "/other"))).status).toBe(404);
    expect((await fetch(http)).status).toBe(426);
    // The broker answers the WebSocket subprotocol MQTT.js asks for.
    const socket = new WebSocket(wsUrl, ["mqtt"]);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    expect(socket.protocol).toBe("mqtt");
    socket.close();
  });

  test("stopping the broker tells WebSocket clients (DISCONNECT 0x8B, server shutting down)", async () => {
    const { broker, wsUrl } = await wsBroker();
    const { client } = await connectV5(wsUrl);
    broker.kill("SIGTERM");
    expect((await disconnectFromBroker(client)).reasonCode).toBe(0x8b);
    expect(await broker.waitExit()).toBe(0);
  });
});
