// Retained messages on SUBSCRIBE under --cluster come through each node's index of the retained
// topics (patches/aedes-persistence-redis/67-retained-index): a wildcard filter reads the topics it
// matches, no scan of Redis, and the index follows what every node stores, clears, and Redis losing it.
import { afterAll, describe, expect } from "bun:test";
import type { MqttClient } from "mqtt";
import { stopStartedProcesses, testWithPrograms, waitUntil } from "./harness";
import { startNode, startRedis, type RedisServer } from "./cluster-harness";
import { connectV5 } from "./mqtt5-client";
import { retainedTopics } from "./support/limits-clients";
import { startDelayingProxy } from "./support/delaying-proxy";

afterAll(stopStartedProcesses);

function redisCli(redis: RedisServer, ...args: string[]): string {
  const run = Bun.spawnSync(["redis-cli", "-p", String(redis.port), ...args]);
  if (run.exitCode !== 0) throw new Error(`redis-cli ${args.join(" ")}: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

/** How many times Redis ran `command` since the last CONFIG RESETSTAT (INFO commandstats). */
function commandCalls(redis: RedisServer, command: string): number {
  const line = redisCli(redis, "INFO", "commandstats").split("\n").find((row) => row.startsWith(`cmdstat_${command}:`));
  return line ? Number(/calls=(\d+)/.exec(line)![1]) : 0;
}

async function publishRetained(client: MqttClient, topic: string, payload: string): Promise<void> {
  await client.publishAsync(topic, payload, { qos: 1, retain: true });
}

describe("retained messages under --cluster", () => {
  testWithPrograms(["redis-server", "redis-cli"], "a wildcard SUBSCRIBE reads only what it matches (no HSCAN of Redis), as stored and cleared through the other node", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const { client: onA } = await connectV5(a.url);
    for (let n = 0; n < 50; n++) await publishRetained(onA, `room/${n}/temp`, `${n}`);
    await publishRetained(onA, "other/x", "x");
    const { client: onB } = await connectV5(b.url);
    await publishRetained(onB, "room/1/temp", "replaced");
    await publishRetained(onB, "room/2/temp", "");
    redisCli(redis, "CONFIG", "RESETSTAT");
    const got = await retainedTopics(b.url, "room/+/temp", 49);
    expect(got).toHaveLength(49);
    expect(got).not.toContain("room/2/temp");
    expect(await retainedTopics(a.url, "room/1/#", 1)).toEqual(["room/1/temp"]);
    expect(commandCalls(redis, "hscan")).toBe(0);
    expect(commandCalls(redis, "hmget")).toBeGreaterThan(0);
    await Promise.all([onA.endAsync(), onB.endAsync()]);
  });

  testWithPrograms(["redis-server"], "a retained message acknowledged on one node is there at once for a wildcard SUBSCRIBE on the other, even when the news of it reaches that node late", async () => {
    const redis = await startRedis();
    // Node B talks to Redis through a proxy that holds back the published changes of retained
    // messages for 150 ms: its SUBSCRIBE comes before its index knows, and must not miss them.
    const proxy = await startDelayingProxy(redis.port, "retained-changes", 150);
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(`redis://127.0.0.1:${proxy.port}`, "b")]);
    const { client: publisher } = await connectV5(a.url);
    const { client: subscriber } = await connectV5(b.url);
    const received: string[] = [];
    subscriber.on("message", (topic, _payload, packet) => packet.retain && received.push(topic));
    // Each SUBSCRIBE is sent right after the PUBACK, before the change may have reached node B.
    for (let n = 0; n < 10; n++) {
      await publishRetained(publisher, `fresh/${n}/v`, "1");
      await subscriber.subscribeAsync(`fresh/${n}/+`);
      await waitUntil(() => received.includes(`fresh/${n}/v`), 5_000, `fresh/${n}/v on node B`);
    }
    await Promise.all([publisher.endAsync(), subscriber.endAsync()]);
    await proxy.close();
  });

  testWithPrograms(["redis-server", "redis-cli"], "Redis restarted empty: the old retained messages are gone, new ones are found, and the index serves again", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const first = await connectV5(a.url);
    await publishRetained(first.client, "before/x", "1");
    expect(await retainedTopics(b.url, "before/#", 1)).toEqual(["before/x"]);
    await first.client.endAsync();
    await redis.stop();
    await redis.start();
    for (const node of [a, b]) await node.proc.waitFor(/is back; accepting clients\./, 15_000);
    const again = await connectV5(a.url);
    await publishRetained(again.client, "after/y", "2");
    await again.client.endAsync();
    expect(await retainedTopics(b.url, "after/+", 1)).toEqual(["after/y"]);
    expect(await retainedTopics(b.url, "#", 1)).toEqual(["after/y"]);
    // Node B's index was rebuilt from the new Redis: a SUBSCRIBE is served from it again, not by a scan.
    await waitUntil(async () => {
      redisCli(redis, "CONFIG", "RESETSTAT");
      const found = await retainedTopics(b.url, "after/#", 1);
      return found.length === 1 && commandCalls(redis, "hscan") === 0;
    }, 10_000, "a SUBSCRIBE on node B without HSCAN after the restart");
  });
});
