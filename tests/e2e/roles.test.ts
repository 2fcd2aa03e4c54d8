import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { freePort, pingpong, qos1PenaltyMs, startBroker } from "./harness";

const SUMMARY = /(\d+) probes transmitted, (\d+) received/;

describe("broker, echo and ping as separate processes", () => {
  test("broker + echo + ping --count 3 gives three matched echoes and exit 0", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "100ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    const echoes = ping.lines.filter((line) => /^Got [\d.]+ on \/pong: seq=\d+ rtt=/.test(line));
    expect(echoes).toHaveLength(3);
    // Each echo carries the payload its probe published.
    const published = ping.lines.filter((l) => l.startsWith("Publishing")).map((l) => l.split(" ")[1]);
    expect(echoes.map((l) => l.split(" ")[1])).toEqual(published);
    expect(new Set(published).size).toBe(3);
    expect(ping.lines.find((l) => SUMMARY.test(l))).toContain("3 probes transmitted, 3 received");
    expect(ping.output()).toMatch(/rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
    await echo.waitFor(/Got [\d.]+ on \/ping\./);
    await echo.waitFor(/Publishing [\d.]+ on \/pong\./);
  });

  test("at 1 s intervals the payload is the Unix time in seconds", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed to \/ping/); // else the first probe may go out before anyone listens
    const ping = pingpong("ping", "--port", String(port), "--count", "2");
    expect(await ping.waitExit(15_000)).toBe(0);
    const payloads = ping.lines.filter((l) => l.startsWith("Publishing")).map((l) => Number(l.split(" ")[1]));
    expect(payloads).toHaveLength(2);
    for (const seconds of payloads) {
      expect(Number.isInteger(seconds)).toBe(true);
      expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(30);
    }
  });

  test("echo started before the broker retries until it listens, then echoes", async () => {
    const port = await freePort();
    const echo = pingpong("echo", "--port", String(port));
    // Nothing listens yet: echo keeps retrying instead of giving up.
    expect(echo.exitCode).toBeNull();
    const broker = pingpong("broker", "--port", String(port));
    await broker.waitFor(/Broker listening/);
    await echo.waitFor(/Subscribed to \/ping/, 20_000);
    const ping = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "100ms");
    expect(await ping.waitExit(20_000)).toBe(0);
    expect(ping.output()).toContain("3 probes transmitted, 3 received");
  });

  test("ping started before the broker retries until it listens, then probes", async () => {
    const port = await freePort();
    const ping = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "100ms", "--timeout", "1s");
    expect(ping.exitCode).toBeNull();
    pingpong("broker", "--port", String(port));
    // No echo runs, so the probes are lost (exit 1), but they were sent: ping connected after retrying.
    expect(await ping.waitExit(20_000)).toBe(1);
    expect(ping.output()).toContain("3 probes transmitted, 0 received");
    expect(ping.output()).not.toContain("could not connect");
  });

  test("SIGKILL of the broker makes ping and echo exit non-zero within 2 s, saying so", async () => {
    const { proc: broker, port } = await startBroker();
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed/);
    const ping = pingpong("ping", "--port", String(port), "--interval", "100ms");
    await ping.waitFor(/seq=2 /);
    broker.kill("SIGKILL");
    const [pingCode, echoCode] = await Promise.all([ping.waitExit(2_000), echo.waitExit(2_000)]);
    expect(pingCode).toBe(3);
    expect(echoCode).toBe(3);
    expect(ping.output()).toContain(`connection to localhost:${port} lost`);
    expect(echo.output()).toContain(`connection to localhost:${port} lost`);
    // ping still prints its statistics on the way out.
    expect(ping.output()).toMatch(SUMMARY);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal} stops the broker cleanly with status 0`, async () => {
      const { proc: broker, port } = await startBroker();
      const echo = pingpong("echo", "--port", String(port));
      await echo.waitFor(/Subscribed/);
      broker.kill(signal);
      expect(await broker.waitExit(5_000)).toBe(0);
      expect(broker.output()).toContain("Broker stopped.");
      // Its clients learn at once that the broker went away.
      expect(await echo.waitExit(5_000)).toBe(3);
    });
  }

  test("a port in use gives one clear line naming host:port and exit 4", async () => {
    const { port } = await startBroker();
    const second = pingpong("broker", "--port", String(port));
    expect(await second.waitExit()).toBe(4);
    expect(second.lines.filter((line) => line.trim() !== "")).toEqual([
      `error: cannot listen on 127.0.0.1:${port}: address already in use`,
    ]);
  });

  test("a --host this machine does not have gives one clear line naming host:port and exit 4", async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737), on no interface here: bind() fails with EADDRNOTAVAIL and no
    // packet leaves the machine.
    const port = await freePort();
    const broker = pingpong("broker", "--host", "192.0.2.1", "--port", String(port), "--allow-anonymous");
    expect(await broker.waitExit()).toBe(4);
    expect(broker.lines.filter((line) => line.trim() !== "")).toEqual([
      `error: cannot listen on 192.0.2.1:${port}: address not available on this machine`,
    ]);
  });

  for (const verbose of [true, false]) {
    test(`the broker logs each connect, subscribe and disconnect, and each publish ${verbose ? "with" : "only with"} --verbose`, async () => {
      const { proc: broker, port } = await startBroker(...(verbose ? ["--verbose"] : []));
      const sub = pingpong("sub", "-p", String(port), "-i", "log-sub", "-t", "log/topic", "-C", "1");
      await broker.waitFor(/^Client log-sub subscribed to log\/topic \(QoS 0\)\.$/);
      expect(await pingpong("pub", "-p", String(port), "-i", "log-pub", "-t", "log/topic", "-m", "logged?").waitExit()).toBe(0);
      expect(await sub.waitExit()).toBe(0);
      await broker.waitFor(/^Client log-sub disconnected\.$/);
      // Stop the broker so that every line it would write is out before looking for an absent one.
      broker.kill("SIGTERM");
      expect(await broker.waitExit()).toBe(0);
      const lines = broker.lines;
      for (const id of ["log-sub", "log-pub"]) {
        expect(lines).toContain(`Client ${id} connected.`);
        expect(lines).toContain(`Client ${id} disconnected.`);
      }
      const published = "debug: Client log-pub published logged? on log/topic (QoS 0).";
      if (verbose) expect(lines).toContain(published);
      else expect(lines.filter((line) => line.includes("published"))).toEqual([]);
    });
  }

  test("a QoS 1 round trip over TCP pays no Nagle delay (TCP_NODELAY on both ends)", async () => {
    const { port } = await startBroker();
    // Against mosquitto without set_tcp_nodelay the QoS 1 median was 43 ms at 50 ms intervals.
    expect(await qos1PenaltyMs(["--port", String(port)])).toBeLessThan(20);
  });

  test("the broker listens on loopback only", async () => {
    const { proc } = await startBroker();
    const line = proc.lines.find((l) => l.includes("Broker listening"))!;
    const addresses = line.replace(/^.*listening on /, "").replace(/\.$/, "").split(", ");
    for (const address of addresses) expect(address).toMatch(/^(127\.0\.0\.1|\[::1\]):\d+$/);
  });

  test("a client that cannot connect gives up after --connect-timeout with exit 3", async () => {
    const port = await freePort();
    const ping = pingpong("ping", "--port", String(port), "--connect-timeout", "500ms");
    expect(await ping.waitExit(5_000)).toBe(3);
    expect(ping.output()).toContain(`could not connect to localhost:${port} within 0.5 s`);
  });

  test("all --count 3 runs broker, echo and ping in one process", async () => {
    const port = await freePort();
    const all = pingpong("all", "--port", String(port), "--count", "3", "--interval", "100ms");
    expect(await all.waitExit(15_000)).toBe(0);
    expect(all.output()).toContain("Broker listening on");
    expect(all.output()).toContain("3 probes transmitted, 3 received");
    expect(all.lines.filter((l) => /^Got [\d.]+ on \/ping\.$/.test(l))).toHaveLength(3);
  });

  test("all stops cleanly on Ctrl-C and prints the summary", async () => {
    const port = await freePort();
    const all = pingpong("all", "--port", String(port), "--interval", "100ms");
    await all.waitFor(/seq=2 /);
    all.kill("SIGINT");
    expect(await all.waitExit(5_000)).toBe(0);
    // Exactly one summary, though Ctrl-C also ends the probing that the main path awaits.
    expect(all.lines.filter((line) => SUMMARY.test(line))).toHaveLength(1);
  });

  test("ping exits 1 when probes get no echo", async () => {
    const { port } = await startBroker();
    const ping = pingpong("ping", "--port", String(port), "--count", "2", "--interval", "100ms", "--timeout", "300ms");
    expect(await ping.waitExit(10_000)).toBe(1);
    expect(ping.output()).toContain("2 probes transmitted, 0 received");
    expect(ping.output()).toContain("100% loss");
  });
});

describe("echo returns every payload byte for byte", () => {
  const cases: Array<[string, Buffer]> = [
    ["text", Buffer.from("hello, pong ✓")],
    ["binary", randomBytes(4096)],
    ["empty", Buffer.alloc(0)],
    ["1 MiB binary", randomBytes(1024 * 1024)],
  ];
  for (const [name, payload] of cases) {
    test(`echo republishes ${name} payloads unchanged`, async () => {
      const { port, url } = await startBroker();
      const echo = pingpong("echo", "--port", String(port));
      await echo.waitFor(/Subscribed/);
      const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
      try {
        await client.subscribeAsync("/pong");
        const received = new Promise<Buffer>((resolve) => client.once("message", (_topic, message) => resolve(message)));
        await client.publishAsync("/ping", payload);
        const echoed = await received;
        expect(echoed.length).toBe(payload.length);
        expect(Buffer.compare(echoed, payload)).toBe(0);
      } finally {
        await client.endAsync();
      }
      if (name === "binary") await echo.waitFor(/^Got <4096 bytes: [0-9a-f]{32}…> on \/ping\.$/);
      if (name === "empty") await echo.waitFor(/^Got \(empty\) on \/ping\.$/);
    });
  }
});
