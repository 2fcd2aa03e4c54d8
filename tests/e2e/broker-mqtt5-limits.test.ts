import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { pingpong, startBroker } from "./harness";
import { RawClient } from "./mqtt-raw";
import { connackOf, connectV5, disconnectFromBroker } from "./mqtt5-client";

describe("broker limits", () => {
  test("a socket that never sends CONNECT is closed after --idle-timeout", async () => {
    const { port } = await startBroker("--idle-timeout", "300ms");
    const socket = connect({ host: "127.0.0.1", port });
    const opened = Date.now();
    await new Promise((resolve) => socket.once("connect", resolve));
    const closedAfterMs = await new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now() - opened)));
    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(closedAfterMs).toBeLessThan(8_000);
  });

  test("--max-packet-size is advertised, and an MQTT 5 client over it gets DISCONNECT 0x95", async () => {
    const { proc: broker, url } = await startBroker("--max-packet-size", "1000");
    const { client, connack } = await connectV5(url);
    expect(connack.properties?.maximumPacketSize).toBe(1000);
    const disconnect = disconnectFromBroker(client);
    client.publish("big", Buffer.alloc(2000), { qos: 0 });
    expect((await disconnect).reasonCode).toBe(0x95);
    await broker.waitFor(/sent a 20\d\d-byte packet, over --max-packet-size: disconnected/);
  });

  test("--max-keepalive caps the client's keep-alive and is returned in CONNACK", async () => {
    const { url } = await startBroker("--max-keepalive", "20");
    const capped = await connectV5(url, { keepalive: 60 });
    expect(capped.connack.properties?.serverKeepAlive).toBe(20);
    // A client already within the cap is told nothing.
    const within = await connectV5(url, { keepalive: 10 });
    expect(within.connack.properties?.serverKeepAlive).toBeUndefined();
  });

  test("the Server Keep Alive is enforced: a client silent for 1.5 times it is disconnected", async () => {
    const { port } = await startBroker("--max-keepalive", "1");
    const silent = await RawClient.open(port, 5);
    silent.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "silent", clean: true, keepalive: 60 });
    const connack: any = await silent.waitFor((p) => p.cmd === "connack");
    expect(connack.properties?.serverKeepAlive).toBe(1);
    const connectedAt = Date.now();
    await silent.waitClosed(10_000);
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(1_000);
  });

  test("--max-connections refuses one client too many with CONNACK 0x97 and lets it in once one leaves", async () => {
    const { proc: broker, url } = await startBroker("--max-connections", "2");
    const first = await connectV5(url, { clientId: "first" });
    await connectV5(url, { clientId: "second" });
    expect((await connackOf(url, { clientId: "third" })).reasonCode).toBe(0x97);
    await broker.waitFor(/Refused a connection: connection limit reached \(--max-connections 2\)/);
    // The same client id taking over its session is not a new connection.
    expect((await connackOf(url, { clientId: "second" })).reasonCode).toBe(0);
    await first.client.endAsync();
    await broker.waitFor(/Client first disconnected/);
    expect((await connackOf(url, { clientId: "third" })).reasonCode).toBe(0);
  });

  for (const [flag, value] of [
    ["--max-connections", "-1"],
    ["--max-packet-size", "lots"],
    ["--max-inflight", "0"],
    ["--idle-timeout", "soon"],
    ["--max-keepalive", "70000"],
    ["--max-topic-alias", "65536"],
  ]) {
    test(`broker ${flag} ${value} prints one line and exits 2`, async () => {
      const proc = pingpong("broker", flag!, value!);
      expect(await proc.waitExit()).toBe(2);
      expect(proc.lines.filter((line) => line.trim() !== "")).toHaveLength(1);
      expect(proc.output()).toContain(flag!);
    });
  }
});
