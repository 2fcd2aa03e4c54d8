// The in-memory store's retained index (patches/aedes-persistence/65-retained-index.patch): what it
// finds for a filter is exactly what the topic rules say, $-topics included, and its counters agree.
import { describe, expect, test } from "bun:test";
import MemoryPersistence from "aedes-persistence/asyncPersistence.js";
import { topicMatches } from "../../src/core/topic-filter";

const WORDS = ["a", "b", "c", "", "$SYS", "$x", "long-level"];
const pick = (random: () => number, items: string[]) => items[Math.floor(random() * items.length)]!;

function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

async function matched(store: MemoryPersistence, filters: string[]): Promise<string[]> {
  const topics: string[] = [];
  for await (const packet of store.createRetainedStreamCombi(filters)) topics.push((packet as { topic: string }).topic);
  return topics;
}

async function storeOf(topics: string[]): Promise<MemoryPersistence> {
  const store = new MemoryPersistence();
  await store.setup({ id: "b" });
  for (const topic of topics) await store.storeRetained({ topic, payload: Buffer.from(topic + "!"), qos: 0, retain: true });
  return store;
}

describe("the retained index", () => {
  test("finds, for random filters over random topics, exactly the topics the MQTT rules match (MQTT-4.7.1, MQTT-4.7.2-1)", async () => {
    const random = seeded(19);
    const topics = new Set<string>();
    while (topics.size < 400) {
      const levels = 1 + Math.floor(random() * 4);
      topics.add(Array.from({ length: levels }, () => pick(random, WORDS)).join("/"));
    }
    const store = await storeOf([...topics]);
    for (let i = 0; i < 500; i++) {
      const levels = 1 + Math.floor(random() * 4);
      const parts = Array.from({ length: levels }, () => pick(random, [...WORDS, "+", "+"]));
      if (random() < 0.3) parts[parts.length - 1] = "#";
      const filter = parts.join("/");
      const expected = [...topics].filter((topic) => topicMatches(filter, topic)).sort();
      expect({ filter, topics: (await matched(store, [filter])).sort() }).toEqual({ filter, topics: expected });
    }
  });

  test("wildcards at the first level skip $-topics; a filter naming $SYS reaches them", async () => {
    const store = await storeOf(["$SYS/broker/uptime", "plain/t"]);
    expect(await matched(store, ["#"])).toEqual(["plain/t"]);
    expect(await matched(store, ["+/broker/uptime"])).toEqual([]);
    expect(await matched(store, ["$SYS/#"])).toEqual(["$SYS/broker/uptime"]);
    expect(await matched(store, ["$SYS/+/uptime"])).toEqual(["$SYS/broker/uptime"]);
  });

  test("'a/#' matches 'a' itself; a message two filters match comes once per filter", async () => {
    const store = await storeOf(["a", "a/b"]);
    expect((await matched(store, ["a/#"])).sort()).toEqual(["a", "a/b"]);
    expect(await matched(store, ["a/b", "a/+"])).toEqual(["a/b", "a/b"]);
  });

  test("count and bytes follow stores, replacements and deletions; emptied branches are gone", async () => {
    const store = await storeOf(["x/y/z", "x/y"]);
    expect([store.retainedCount, store.retainedBytes]).toEqual([2, 6 + 4]);
    await store.storeRetained({ topic: "x/y", payload: Buffer.from("longer payload"), qos: 0 });
    expect([store.retainedCount, store.retainedBytes, store.retainedPayloadBytes("x/y")]).toEqual([2, 6 + 14, 14]);
    await store.storeRetained({ topic: "x/y/z", payload: Buffer.alloc(0), qos: 0 });
    await store.storeRetained({ topic: "x/y", payload: Buffer.alloc(0), qos: 0 });
    await store.storeRetained({ topic: "never/stored", payload: Buffer.alloc(0), qos: 0 });
    expect([store.retainedCount, store.retainedBytes, store.retainedPayloadBytes("x/y")]).toEqual([0, 0, undefined]);
    expect(await matched(store, ["#"])).toEqual([]);
  });
});
