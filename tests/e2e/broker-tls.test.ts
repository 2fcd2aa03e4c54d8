import { beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { makeTlsFiles, type TlsFiles } from "./clients-peers";
import { freePort, hasProgram, Proc, pingpong, qos1PenaltyMs, startBroker, testWithPrograms } from "./harness";

let files: TlsFiles;
beforeAll(() => {
  if (hasProgram("openssl")) files = makeTlsFiles();
});

/** Our broker with a TLS listener beside TCP; resolves once both listen. */
async function tlsBroker(...extra: string[]): Promise<{ broker: Proc; port: number; tlsPort: number }> {
  const tlsPort = await freePort();
  const { proc: broker, port } = await startBroker("--tls-port", String(tlsPort), "--cert", files.serverCert, "--key", files.serverKey, ...extra);
  expect(broker.output()).toContain(`mqtts://127.0.0.1:${tlsPort}`);
  return { broker, port, tlsPort };
}

const mosquittoTls = (tool: string, port: number, ...args: string[]) =>
  new Proc([tool, "-h", "localhost", "-p", String(port), "--cafile", files.caCert, ...args]);

/** Opens a plain TCP connection and sends `bytes` (or nothing); resolves with how long the broker kept it open. */
function heldOpenMs(port: number, bytes: Buffer, deadlineMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${deadlineMs} ms`));
    }, deadlineMs);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

describe("the TLS listener", () => {
  testWithPrograms(["openssl"], "a socket that never finishes its TLS handshake is closed after --idle-timeout, as one that never sends CONNECT", async () => {
    const { tlsPort } = await tlsBroker("--idle-timeout", "1s");
    // Nothing at all, then the first bytes of a ClientHello and no more.
    for (const bytes of [Buffer.alloc(0), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])]) {
      expect(await heldOpenMs(tlsPort, bytes, 10_000)).toBeGreaterThanOrEqual(900);
    }
  });

  testWithPrograms(["openssl", "mosquitto_sub", "mosquitto_pub"], "mosquitto_sub --cafile receives over TLS what mosquitto_pub sends over TLS (5 and 3.1.1)", async () => {
    const { broker, tlsPort } = await tlsBroker();
    for (const version of ["5", "311"]) {
      const before = broker.lines.filter((line) => line.includes("subscribed to tls/test")).length;
      const sub = mosquittoTls("mosquitto_sub", tlsPort, "-V", version, "-t", "tls/test", "-C", "1", "-W", "20");
      await broker.waitForCount(/subscribed to tls\/test/, before + 1);
      const pub = mosquittoTls("mosquitto_pub", tlsPort, "-V", version, "-t", "tls/test", "-m", `secret over TLS ${version}`, "-q", "1");
      expect(await pub.waitExit()).toBe(0);
      expect(await sub.waitExit()).toBe(0);
      expect(sub.stdoutLines).toEqual([`secret over TLS ${version}`]);
    }
  });

  testWithPrograms(["openssl"], "our ping over mqtts:// gets echoes from our echo over plain TCP: one broker, both listeners", async () => {
    const { port, tlsPort } = await tlsBroker();
    const echo = pingpong("echo", "--port", String(port), "--qos", "1");
    await echo.waitFor(/Subscribed/);
    const ping = pingpong("ping", "--url", `mqtts://localhost:${tlsPort}`, "--cafile", files.caCert, "--qos", "1", "--count", "20", "--interval", "50ms");
    expect(await ping.waitExit(20_000)).toBe(0);
    expect(ping.output()).toContain("20 probes transmitted, 20 received");
  });

  testWithPrograms(["openssl"], "a QoS 1 round trip over TLS pays no Nagle delay (TCP_NODELAY on the TLS sockets)", async () => {
    const { tlsPort } = await tlsBroker();
    expect(await qos1PenaltyMs(["--url", `mqtts://localhost:${tlsPort}`, "--cafile", files.caCert])).toBeLessThan(20);
  });

  testWithPrograms(["openssl", "mosquitto_pub"], "--require-certificate refuses clients without a certificate from --cafile", async () => {
    const { broker, tlsPort } = await tlsBroker("--cafile", files.caCert, "--require-certificate");
    const without = mosquittoTls("mosquitto_pub", tlsPort, "-t", "t", "-m", "x");
    expect(await without.waitExit()).not.toBe(0);
    const withCert = mosquittoTls("mosquitto_pub", tlsPort, "-t", "t", "-m", "x", "--cert", files.clientCert, "--key", files.clientKey);
    expect(await withCert.waitExit()).toBe(0);
    await broker.waitFor(/connected\./);
    expect(broker.lines.filter((line) => / connected\.$/.test(line))).toHaveLength(1);
  });

  testWithPrograms(["openssl"], "missing or unreadable TLS files are one line and exit status 2", async () => {
    const cases: Array<[string[], string]> = [
      [["--tls-port", "0"], "--tls-port needs --cert and --key"],
      [["--cert", files.serverCert], "need --tls-port"],
      [["--tls-port", "0", "--cert", files.serverCert, "--key", "/nonexistent.key"], "--key: cannot read \"/nonexistent.key\": no such file"],
      [["--tls-port", "0", "--cert", files.serverKey, "--key", files.serverKey], "--cert/--key/--cafile:"],
      [["--tls-port", "0", "--cert", files.serverCert, "--key", files.serverKey, "--require-certificate"], "--require-certificate needs --cafile"],
    ];
    for (const [args, message] of cases) {
      const proc = pingpong("broker", "--port", "0", ...args);
      expect(await proc.waitExit()).toBe(2);
      expect(proc.lines).toHaveLength(1);
      expect(proc.lines[0]).toContain(message);
    }
  });

  testWithPrograms(["openssl"], "a TLS port in use is exit status 4, and the TCP port bound before it is released", async () => {
    const { port: taken } = await startBroker();
    const port = await freePort();
    const tls = pingpong("broker", "--port", String(port), "--tls-port", String(taken), "--cert", files.serverCert, "--key", files.serverKey);
    expect(await tls.waitExit()).toBe(4);
    expect(tls.output()).toContain(`cannot listen on mqtts://127.0.0.1:${taken}: address already in use`);
    const again = pingpong("broker", "--port", String(port));
    await again.waitFor(/Broker listening/);
  });
});
