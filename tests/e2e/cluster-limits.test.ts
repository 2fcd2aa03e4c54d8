// Under --cluster the retained and offline-queue limits hold for the cluster as a whole: the counts
// live in Redis and are checked in the same script as the write, so every node reads the same ones
// (patches/aedes-persistence-redis/65-retained-counters, 66-offline-queue-limits).
import { afterAll, describe, expect } from "bun:test";
import { freePort, stopStartedProcesses, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";
import { connectV5 } from "./mqtt5-client";
import { keptWhileOffline, retainedTopics } from "./support/limits-clients";
import { parsePrometheus } from "./prometheus";

afterAll(stopStartedProcesses);

/** Two nodes on one redis-server, each with /metrics, both started with `flags`. */
async function twoNodes(...flags: string[]) {
  const redis = await startRedis();
  const node = (name: string) => nodeWithMetrics(redis.url, name, ...flags);
  const [a, b] = await Promise.all([node("a"), node("b")]);
  return { redis, a, b };
}

/** One node with /metrics, and a reader of it. */
async function nodeWithMetrics(redisUrl: string, name: string, ...flags: string[]) {
  const httpPort = await freePort();
  const started = await startNode(redisUrl, name, "--http-port", String(httpPort), "--sys-interval", "0", ...flags);
  const metrics = async () => parsePrometheus(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
  return { ...started, metrics };
}

describe("limits under --cluster", () => {
  testWithPrograms(["redis-server"], "--max-retained counts every node's retained messages: a new topic past it is refused on whichever node it arrives", async () => {
    const { a, b } = await twoNodes("--max-retained", "2");
    const { client: onA } = await connectV5(a.url);
    const { client: onB } = await connectV5(b.url);
    await onA.publishAsync("kept/a", "v1", { qos: 1, retain: true });
    await onB.publishAsync("kept/b", "v1", { qos: 1, retain: true });
    await onA.publishAsync("kept/c", "v1", { qos: 1, retain: true }); // the third topic: not kept
    await onB.publishAsync("kept/a", "v2", { qos: 1, retain: true }); // replaces a kept one: kept
    expect(await retainedTopics(b.url, "kept/#", 2)).toEqual(["kept/a", "kept/b"]);
    // Clearing one (on the other node) makes room for a new topic.
    await onA.publishAsync("kept/b", "", { qos: 1, retain: true });
    await onB.publishAsync("kept/c", "v1", { qos: 1, retain: true });
    expect(await retainedTopics(a.url, "kept/#", 2)).toEqual(["kept/a", "kept/c"]);
    const [onNodeA, onNodeB] = await Promise.all([a.metrics(), b.metrics()]);
    // Both nodes read the cluster's counters, not their own.
    for (const values of [onNodeA, onNodeB]) {
      expect(values.get("mqtt_pingpong_retained_messages")).toBe(2);
      expect(values.get("mqtt_pingpong_retained_bytes")).toBe(4);
    }
    expect(onNodeA.get('mqtt_pingpong_limit_refusals_total{what="retained"}')).toBe(1);
    expect(onNodeB.get('mqtt_pingpong_limit_refusals_total{what="retained"}')).toBe(0);
    expect(a.proc.output()).toContain("Retained message on kept/c not kept (--max-retained)");
    await Promise.all([onA.endAsync(), onB.endAsync()]);
  });

  testWithPrograms(["redis-server"], "--max-retained-bytes counts the payload bytes retained through every node", async () => {
    const { a, b } = await twoNodes("--max-retained-bytes", "25");
    const { client: onA } = await connectV5(a.url);
    const { client: onB } = await connectV5(b.url);
    await onA.publishAsync("size/one", "x".repeat(10), { qos: 1, retain: true });
    await onB.publishAsync("size/two", "x".repeat(10), { qos: 1, retain: true });
    await onA.publishAsync("size/three", "x".repeat(10), { qos: 1, retain: true }); // 30 > 25: not kept
    await onB.publishAsync("size/one", "x".repeat(5), { qos: 1, retain: true }); // 15 + 10 = 25: kept
    expect(await retainedTopics(a.url, "size/#", 2)).toEqual(["size/one", "size/two"]);
    const values = await b.metrics();
    expect(values.get("mqtt_pingpong_retained_messages")).toBe(2);
    expect(values.get("mqtt_pingpong_retained_bytes")).toBe(15);
    expect((await a.metrics()).get('mqtt_pingpong_limit_refusals_total{what="retained"}')).toBe(1);
    await Promise.all([onA.endAsync(), onB.endAsync()]);
  });

  testWithPrograms(["redis-server"], "--max-queued: an offline session keeps the first messages published on another node, and gets them on either", async () => {
    const { a, b } = await twoNodes("--max-queued", "10");
    const first10 = Array.from({ length: 10 }, (_, i) => `m${i + 1}`);
    expect(await keptWhileOffline(a.url, 25, (n) => `m${n}`, { publishTo: b.url, resumeOn: b.url })).toEqual(first10);
    expect((await b.metrics()).get('mqtt_pingpong_limit_refusals_total{what="offline_messages"}')).toBe(15);
  });

  testWithPrograms(["redis-server"], "--max-queued-bytes: kept while the stored payload bytes do not exceed it, as mosquitto's max_queued_bytes", async () => {
    const { a, b } = await twoNodes("--max-queued-bytes", "100");
    // 30-byte payloads: kept at 0, 30, 60 and 90 stored bytes; the fifth and sixth are not.
    const padded = (n: number) => `m${n}`.padEnd(30, ".");
    const kept = await keptWhileOffline(a.url, 6, padded, { publishTo: b.url });
    expect(kept.map((body) => body.replace(/\.+$/, ""))).toEqual(["m1", "m2", "m3", "m4"]);
    expect((await b.metrics()).get('mqtt_pingpong_limit_refusals_total{what="offline_messages"}')).toBe(2);
  });

  testWithPrograms(["redis-server", "redis-cli"], "retained messages stored without the counters (an older build) are counted once when a node starts", async () => {
    const { redis, a } = await twoNodes();
    const { client } = await connectV5(a.url);
    await client.publishAsync("old/one", "abc", { qos: 1, retain: true });
    await client.publishAsync("old/two", "defgh", { qos: 1, retain: true });
    await client.endAsync();
    const dropped = Bun.spawnSync(["redis-cli", "-p", String(redis.port), "DEL", "retained-sizes", "retained-bytes"]);
    expect(dropped.stdout.toString().trim()).toBe("2");
    const c = await nodeWithMetrics(redis.url, "c", "--max-retained", "2");
    const values = await c.metrics();
    expect(values.get("mqtt_pingpong_retained_messages")).toBe(2);
    expect(values.get("mqtt_pingpong_retained_bytes")).toBe(8);
    const { client: onC } = await connectV5(c.url);
    await onC.publishAsync("old/three", "x", { qos: 1, retain: true });
    expect(await retainedTopics(c.url, "old/#", 2)).toEqual(["old/one", "old/two"]);
    await onC.endAsync();
  });
});
