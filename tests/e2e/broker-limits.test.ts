// What one client can make the broker keep is capped: subscriptions per client, retained messages
// (count, bytes, size of one), and the messages stored for an offline persistent session
// (--max-queued, as mosquitto's max_queued_messages). Each cap shows in /metrics.
import { afterAll, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { freePort, startBroker, startMosquitto, stopStartedProcesses, testWithPrograms } from "./harness";
import { connectV5, waitUntil } from "./mqtt5-client";
import { connect311, keptWhileOffline, retainedTopics } from "./support/limits-clients";
import { parsePrometheus } from "./prometheus";

afterAll(stopStartedProcesses);

async function limitedBroker(...flags: string[]) {
  const httpPort = await freePort();
  const broker = await startBroker("--http-port", String(httpPort), "--sys-interval", "0", ...flags);
  const metrics = async () => parsePrometheus(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
  return { ...broker, metrics };
}

/** The SUBACK's codes for one SUBSCRIBE (MQTT.js rejects a SUBACK with failure codes; it carries the packet). */
async function subackCodes(client: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters)).map((grant) => grant.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[]; reasonCodes?: number[] } }).packet;
    if (!packet) throw error;
    return (packet.granted ?? packet.reasonCodes)!;
  }
}

describe("--max-subscriptions", () => {
  test("filters past the cap are refused in the SUBACK: 0x97 for MQTT 5, 0x80 for 3.1.1; a filter already held is still granted", async () => {
    const { url, metrics } = await limitedBroker("--max-subscriptions", "3");
    const { client } = await connectV5(url);
    expect(await subackCodes(client, { a: { qos: 1 }, b: { qos: 0 }, c: { qos: 0 }, d: { qos: 0 }, e: { qos: 1 } })).toEqual([1, 0, 0, 0x97, 0x97]);
    // Re-subscribing to a held filter adds nothing: granted (MQTT-3.8.4-3 replaces the subscription).
    expect(await subackCodes(client, { a: { qos: 0 } })).toEqual([0]);
    expect(await subackCodes(client, { f: { qos: 0 } })).toEqual([0x97]);
    // An unsubscribe makes room again.
    await client.unsubscribeAsync("b");
    expect(await subackCodes(client, { f: { qos: 0 } })).toEqual([0]);
    const old = await connect311(url);
    expect(await subackCodes(old, { p: { qos: 0 }, q: { qos: 0 }, r: { qos: 0 }, s: { qos: 0 } })).toEqual([0, 0, 0, 0x80]);
    await Promise.all([client.endAsync(), old.endAsync()]);
    const values = await metrics();
    expect(values.get('mqtt_pingpong_limit{name="max_subscriptions"}')).toBe(3);
    expect(values.get('mqtt_pingpong_limit_refusals_total{what="subscriptions"}')).toBe(4);
  });

  test("from the config file too", async () => {
    const dir = await import("node:fs").then((fs) => fs.mkdtempSync("/tmp/limits-config-"));
    await Bun.write(`${dir}/broker.conf`, "max-subscriptions 1\nmax-retained 7\n");
    const { url, metrics } = await limitedBroker("--config", `${dir}/broker.conf`);
    const { client } = await connectV5(url);
    expect(await subackCodes(client, { a: { qos: 0 }, b: { qos: 0 } })).toEqual([0, 0x97]);
    await client.endAsync();
    expect((await metrics()).get('mqtt_pingpong_limit{name="max_retained"}')).toBe(7);
  });
});

describe("retained limits", () => {
  test("--max-retained: a new retained topic past the cap is delivered but not kept; replacing a kept one still works", async () => {
    const { url, metrics } = await limitedBroker("--max-retained", "2");
    const { client: live } = await connectV5(url);
    const liveTopics: string[] = [];
    live.on("message", (topic) => liveTopics.push(topic));
    await live.subscribeAsync("kept/#");
    const { client } = await connectV5(url);
    for (const topic of ["kept/a", "kept/b", "kept/c"]) await client.publishAsync(topic, "v1", { qos: 1, retain: true });
    await client.publishAsync("kept/a", "v2", { qos: 1, retain: true });
    await waitUntil(() => liveTopics.length === 4);
    expect(await retainedTopics(url, "kept/#", 2)).toEqual(["kept/a", "kept/b"]);
    // Clearing one makes room.
    await client.publishAsync("kept/b", "", { qos: 1, retain: true });
    await client.publishAsync("kept/c", "v1", { qos: 1, retain: true });
    expect(await retainedTopics(url, "kept/#", 2)).toEqual(["kept/a", "kept/c"]);
    const values = await metrics();
    expect(values.get("mqtt_pingpong_retained_messages")).toBe(2);
    expect(values.get("mqtt_pingpong_retained_bytes")).toBe(4);
    expect(values.get('mqtt_pingpong_limit_refusals_total{what="retained"}')).toBe(1);
    await Promise.all([live.endAsync(), client.endAsync()]);
  });

  test("--retained-max-size and --max-retained-bytes: payloads over them are not kept", async () => {
    const { url, metrics } = await limitedBroker("--retained-max-size", "10", "--max-retained-bytes", "25");
    const { client } = await connectV5(url);
    await client.publishAsync("size/big", "x".repeat(11), { qos: 1, retain: true }); // over 10: not kept
    await client.publishAsync("size/one", "x".repeat(10), { qos: 1, retain: true });
    await client.publishAsync("size/two", "x".repeat(10), { qos: 1, retain: true });
    await client.publishAsync("size/three", "x".repeat(10), { qos: 1, retain: true }); // 30 > 25: not kept
    await client.publishAsync("size/one", "x".repeat(5), { qos: 1, retain: true }); // 15 + 10 = 25: kept
    expect(await retainedTopics(url, "size/#", 2)).toEqual(["size/one", "size/two"]);
    const values = await metrics();
    expect(values.get("mqtt_pingpong_retained_bytes")).toBe(15);
    expect(values.get('mqtt_pingpong_limit_refusals_total{what="retained"}')).toBe(2);
    await client.endAsync();
  });
});

describe("--max-queued for offline persistent sessions", () => {
  const first10 = Array.from({ length: 10 }, (_, i) => `m${i + 1}`);

  test("an offline session keeps the first --max-queued QoS 1 messages; newer ones are not kept, and counted", async () => {
    const { url, metrics } = await limitedBroker("--max-queued", "10");
    expect(await keptWhileOffline(url, 25, (n) => `m${n}`)).toEqual(first10);
    expect((await metrics()).get('mqtt_pingpong_limit_refusals_total{what="offline_messages"}')).toBe(15);
  });

  testWithPrograms(["mosquitto"], "mosquitto with max_queued_messages 10: the same ten", async () => {
    const { url } = await startMosquitto("max_queued_messages 10\n");
    expect(await keptWhileOffline(url, 25, (n) => `m${n}`)).toEqual(first10);
  });

  // 30-byte payloads against 100 bytes: kept while the stored bytes do not exceed 100 (0, 30, 60, 90),
  // so the fourth is kept and makes 120; the fifth and sixth are not.
  const first4 = ["m1", "m2", "m3", "m4"];
  const padded = (n: number) => `m${n}`.padEnd(30, ".");
  const unpadded = (bodies: string[]) => bodies.map((body) => body.replace(/\.+$/, ""));

  test("--max-queued-bytes: an offline session keeps messages while its stored payload bytes do not exceed it", async () => {
    const { url } = await limitedBroker("--max-queued-bytes", "100");
    expect(unpadded(await keptWhileOffline(url, 6, padded))).toEqual(first4);
  });

  testWithPrograms(["mosquitto"], "mosquitto with max_queued_bytes 100: the same four", async () => {
    const { url } = await startMosquitto("max_queued_bytes 100\n");
    expect(unpadded(await keptWhileOffline(url, 6, padded))).toEqual(first4);
  });

  test("the defaults are those of mosquitto where it has them (1,000 messages) and are printed by --help", async () => {
    const help = Bun.spawnSync([(await import("./harness")).BINARY, "broker", "--help"]).stdout.toString();
    for (const [flag, value] of [["max-queued", "1000"], ["max-queued-bytes", "16777216"], ["max-subscriptions", "10000"], ["max-retained", "100000"], ["max-retained-bytes", "67108864"], ["retained-max-size", "1048576"]]) {
      expect(help).toMatch(new RegExp(`--${flag}[^\\n]*${value}`));
    }
  });
});
