// /metrics follows the MQTT listeners' rule: off loopback it needs --password-file, and with one it
// asks for a user of it (HTTP Basic), unless --http-allow-anonymous says anyone may read it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, pingpong, startBroker, stopStartedProcesses } from "./harness";

afterAll(stopStartedProcesses);

async function passwordFile(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "metrics-access-")), "passwd");
  expect(await pingpong("passwd", "-b", file, "prometheus", "scrape-me").waitExit()).toBe(0);
  return file;
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

describe("/metrics access", () => {
  test("--http-host off loopback without --password-file is refused at start: one line, exit 2", async () => {
    const broker = pingpong("broker", "--port", String(await freePort()), "--http-port", String(await freePort()), "--http-host", "0.0.0.0");
    expect(await broker.waitExit()).toBe(2);
    expect(broker.output()).toContain("refusing to serve /metrics on 0.0.0.0 without authentication: give --password-file (then /metrics asks for a user of it), or --http-allow-anonymous");
  });

  test("with --password-file, /metrics asks for a user of it (401 and WWW-Authenticate otherwise); /healthz stays open", async () => {
    const httpPort = await freePort();
    await startBroker("--password-file", await passwordFile(), "--http-port", String(httpPort));
    const base = `http://127.0.0.1:${httpPort}`;
    const anonymous = await fetch(`${base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Basic");
    expect((await fetch(`${base}/metrics`, { headers: basic("prometheus", "wrong") })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: basic("nobody", "scrape-me") })).status).toBe(401);
    const scraped = await fetch(`${base}/metrics`, { headers: basic("prometheus", "scrape-me") });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("mqtt_pingpong_clients_connected 0");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test("--http-allow-anonymous serves /metrics to anyone, password file or not", async () => {
    const httpPort = await freePort();
    await startBroker("--password-file", await passwordFile(), "--http-port", String(httpPort), "--http-allow-anonymous");
    expect((await fetch(`http://127.0.0.1:${httpPort}/metrics`)).status).toBe(200);
  });
});
