import { describe, expect, test } from "bun:test";
import { connectV5, Inbox } from "./mqtt5-client";
import { freePort, pingpong, startBroker } from "./harness";
import { parsePrometheus } from "./prometheus";
import { version } from "../../package.json";

async function metricsBroker(...extra: string[]) {
  const httpPort = await freePort();
  const { proc, url } = await startBroker("--http-port", String(httpPort), "--sys-interval", "0", ...extra);
  expect(proc.output()).toContain(`http://127.0.0.1:${httpPort}`);
  const base = `http://127.0.0.1:${httpPort}`;
  const scrape = async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    return parsePrometheus(await response.text());
  };
  return { proc, url, base, scrape };
}

describe("the HTTP endpoint", () => {
  test("GET /healthz answers ok; other paths and methods are refused", async () => {
    const { base } = await metricsBroker();
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("ok\n");
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
    // The IPv6 loopback answers too (localhost means both).
    const v6 = await fetch(base.replace("127.0.0.1", "[::1]") + "/healthz").catch(() => undefined);
    if (v6) expect(v6.status).toBe(200);
  });

  test("GET /metrics counters move when messages flow", async () => {
    const { proc, url, scrape } = await metricsBroker();
    const idle = await scrape();
    expect(idle.get(`mqtt_pingpong_info{version="${version}"}`)).toBe(1);
    expect(idle.get("mqtt_pingpong_clients_connected")).toBe(0);
    expect(idle.get("mqtt_pingpong_messages_received_total")).toBe(0);
    expect(idle.get("mqtt_pingpong_memory_rss_bytes")).toBeGreaterThan(1_000_000);

    const { client: subscriber } = await connectV5(url);
    const inbox = new Inbox(subscriber);
    await subscriber.subscribeAsync("metrics/#", { qos: 1 });
    const { client: publisher } = await connectV5(url);
    for (let i = 0; i < 10; i++) await publisher.publishAsync(`metrics/${i}`, Buffer.alloc(1000), { qos: 1 });
    await publisher.publishAsync("metrics/kept", "retained", { qos: 1, retain: true });
    await inbox.waitFor(11);

    const busy = await scrape();
    expect(busy.get("mqtt_pingpong_clients_connected")).toBe(2);
    expect(busy.get("mqtt_pingpong_clients_total")).toBe(2);
    expect(busy.get("mqtt_pingpong_subscriptions")).toBe(1);
    expect(busy.get("mqtt_pingpong_messages_received_total")).toBe(11);
    expect(busy.get("mqtt_pingpong_messages_sent_total")).toBe(11);
    expect(busy.get("mqtt_pingpong_retained_messages")).toBe(1);
    expect(busy.get("mqtt_pingpong_bytes_received_total")!).toBeGreaterThan(10 * 1000);
    expect(busy.get("mqtt_pingpong_bytes_sent_total")!).toBeGreaterThan(10 * 1000);

    // Bytes of closed connections stay counted; the gauge of connected clients comes back down.
    await publisher.endAsync();
    await subscriber.endAsync();
    await proc.waitForCount(/disconnected\./, 2);
    const after = await scrape();
    expect(after.get("mqtt_pingpong_clients_connected")).toBe(0);
    expect(after.get("mqtt_pingpong_bytes_received_total")!).toBeGreaterThanOrEqual(busy.get("mqtt_pingpong_bytes_received_total")!);
    expect(after.get("mqtt_pingpong_uptime_seconds")).toBeGreaterThanOrEqual(0);
  });

  test("the start-up warm-up of the message path leaves no client, subscription, message or log line behind", async () => {
    const { proc, scrape } = await metricsBroker("--verbose");
    await proc.waitFor(/Message path warmed up in \d+ ms\./);
    const after = await scrape();
    expect(after.get("mqtt_pingpong_clients_connected")).toBe(0);
    expect(after.get("mqtt_pingpong_clients_total")).toBe(0);
    expect(after.get("mqtt_pingpong_subscriptions")).toBe(0);
    expect(after.get("mqtt_pingpong_messages_received_total")).toBe(0);
    expect(after.get("mqtt_pingpong_messages_sent_total")).toBe(0);
    expect(after.get("mqtt_pingpong_bytes_received_total")).toBe(0);
    // --verbose logs every client and publish of the real broker: none of the warm-up's.
    expect(proc.output()).not.toMatch(/warm-up\/|Client warm-up/);
  });

  test("an HTTP port in use is exit status 4", async () => {
    const { base } = await metricsBroker();
    const taken = new URL(base).port;
    const proc = pingpong("broker", "--port", "0", "--http-port", taken);
    expect(await proc.waitExit()).toBe(4);
    expect(proc.output()).toContain(`cannot listen on http://127.0.0.1:${taken}: address already in use`);
  });
});
