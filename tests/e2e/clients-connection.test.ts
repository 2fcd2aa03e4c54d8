// The connection flags every client subcommand shares: protocol fallback, TLS, credentials, WebSocket.
import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, pingpong, Proc, startBroker, startMosquitto, testWithPrograms, waitForPort } from "./harness";
import { makeTlsFiles, readableByAll, startMqtt311Front, type TlsFiles } from "./clients-peers";

const FALLBACK = /refused MQTT 5; falling back to MQTT 3\.1\.1\./;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("protocol version", () => {
  test("a 3.1.1-only broker gets MQTT 3.1.1 after refusing 5, and the client says so in one line", async () => {
    const { port: brokerPort } = await startBroker();
    const front = await startMqtt311Front(brokerPort);
    cleanups.push(front.close);
    const echo = pingpong("echo", "--port", String(front.port));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--port", String(front.port), "--count", "3", "--interval", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain("3 probes transmitted, 3 received");
    expect(ping.lines.filter((line) => FALLBACK.test(line))).toEqual([
      `warning: localhost:${front.port} refused MQTT 5; falling back to MQTT 3.1.1.`,
    ]);
    // The warning is on stderr, "Subscribed" on stdout: two pipes read apart, so wait for it too.
    await echo.waitFor(FALLBACK);
    expect(echo.lines.filter((line) => FALLBACK.test(line))).toHaveLength(1);
    expect(front.refusedV5()).toBe(2); // one MQTT 5 attempt each from echo and ping
  });

  test("--protocol 3.1.1 connects with 3.1.1 straight away", async () => {
    const { port: brokerPort } = await startBroker();
    const front = await startMqtt311Front(brokerPort);
    cleanups.push(front.close);
    const echo = pingpong("echo", "--port", String(front.port), "-V", "3.1.1");
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--port", String(front.port), "-c", "2", "-I", "50ms", "--protocol", "mqttv311");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(front.refusedV5()).toBe(0);
    expect(ping.output()).not.toMatch(FALLBACK);
  });
});

describe("TLS (mqtts) against Debian's mosquitto", () => {
  let files: TlsFiles | undefined;
  const tls = () => (files ??= makeTlsFiles());
  const tlsMosquitto = (extra = "") => {
    const { caCert, serverCert, serverKey } = tls();
    return startMosquitto(`cafile ${caCert}\ncertfile ${serverCert}\nkeyfile ${serverKey}\n${extra}`);
  };

  testWithPrograms(["mosquitto", "openssl"], "ping and echo over mqtts with --cafile", async () => {
    const { port } = await tlsMosquitto();
    const { caCert } = tls();
    const echo = pingpong("echo", "--url", `mqtts://localhost:${port}`, "--cafile", caCert);
    await echo.waitFor(/Subscribed to \/ping/);
    // --cafile with --host/--port means mqtts, and the certificate names 127.0.0.1 too.
    const ping = pingpong("ping", "-h", "127.0.0.1", "-p", String(port), "--cafile", caCert, "-c", "3", "-I", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain("3 probes transmitted, 3 received");
    expect(ping.output()).toMatch(/connect: transport [\d.]+ (ms|s), CONNACK [\d.]+ (ms|s)/);
  }, 30_000);

  testWithPrograms(["mosquitto", "openssl"], "an untrusted certificate fails at once with exit 3; --insecure accepts it", async () => {
    const { port } = await tlsMosquitto();
    const untrusted = pingpong("ping", "--url", `mqtts://127.0.0.1:${port}`, "-c", "1");
    expect(await untrusted.waitExit(10_000)).toBe(3); // no retrying for 30 s: the certificate will not change
    const lines = untrusted.lines.filter((line) => line.startsWith("error:"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: TLS with 127\\.0\\.0\\.1:${port} failed: .*certificate`));

    const echo = pingpong("echo", "--url", `mqtts://127.0.0.1:${port}`, "--insecure");
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", `mqtts://127.0.0.1:${port}`, "--insecure", "-c", "2", "-I", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);
  }, 30_000);

  testWithPrograms(["mosquitto", "openssl"], "ping over wss:// (WebSocket over TLS) with --cafile", async () => {
    const { caCert, serverCert, serverKey } = tls();
    const wssPort = await freePort();
    const { port } = await startMosquitto(`listener ${wssPort} 127.0.0.1\nprotocol websockets\ncafile ${caCert}\ncertfile ${serverCert}\nkeyfile ${serverKey}\n`);
    await waitForPort(wssPort);
    const echo = pingpong("echo", "-p", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", `wss://localhost:${wssPort}`, "--cafile", caCert, "-c", "2", "-I", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain("2 probes transmitted, 2 received");
  }, 30_000);

  testWithPrograms(["mosquitto", "openssl"], "a broker that requires client certificates accepts --cert/--key", async () => {
    const { port } = await tlsMosquitto("require_certificate true\n");
    const { caCert, clientCert, clientKey } = tls();
    const withCert = ["--url", `mqtts://localhost:${port}`, "--cafile", caCert, "--cert", clientCert, "--key", clientKey];
    const echo = pingpong("echo", ...withCert);
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", ...withCert, "-c", "2", "-I", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    const without = pingpong("ping", "--url", `mqtts://localhost:${port}`, "--cafile", caCert, "-c", "1", "--connect-timeout", "1s");
    expect(await without.waitExit(10_000)).toBe(3);
  }, 30_000);
});

describe("credentials", () => {
  const passwordFile = () => {
    const dir = mkdtempSync(join(tmpdir(), "pingpong-passwd-"));
    const file = join(dir, "passwd");
    const made = spawnSync("mosquitto_passwd", ["-b", "-c", file, "alice", "s3cret pass"], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
    readableByAll(dir);
    return { dir, file };
  };

  testWithPrograms(["mosquitto", "mosquitto_passwd"], "the password comes from MQTT_PASSWORD or --password-file; a wrong one is refused with exit 3", async () => {
    const { dir, file } = passwordFile();
    const { port } = await startMosquitto(`password_file ${file}\nallow_anonymous false\n`);
    const fromEnv = new Proc([join(import.meta.dir, "../../mqtt-pingpong"), "echo", "-p", String(port), "-u", "alice"], { env: { MQTT_PASSWORD: "s3cret pass" } });
    await fromEnv.waitFor(/Subscribed to \/ping/);
    const secretFile = join(dir, "secret");
    writeFileSync(secretFile, "s3cret pass\n");
    const ping = pingpong("ping", "-p", String(port), "-u", "alice", "--password-file", secretFile, "-c", "2", "-I", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);

    const wrong = pingpong("ping", "-p", String(port), "-u", "alice", "-P", "guess", "-c", "1");
    expect(await wrong.waitExit(10_000)).toBe(3); // a refused CONNACK is final, no 30 s of retries
    expect(wrong.output()).toMatch(new RegExp(`error: connection to localhost:${port} refused: .*(Not authorized|Bad User Name or Password)`));
    expect(wrong.output()).not.toMatch(FALLBACK);
  }, 30_000);
});

describe("WebSocket", () => {
  testWithPrograms(["mosquitto"], "ping over ws:// to mosquitto's websockets listener", async () => {
    const wsPort = await freePort();
    const { port } = await startMosquitto(`listener ${wsPort} 127.0.0.1\nprotocol websockets\n`);
    await waitForPort(wsPort);
    const echo = pingpong("echo", "-p", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", `ws://127.0.0.1:${wsPort}`, "-c", "2", "-I", "50ms");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain(`--- 127.0.0.1:${wsPort} /ping → /pong ping statistics ---`);
  });
});

describe("bad connection flags", () => {
});
