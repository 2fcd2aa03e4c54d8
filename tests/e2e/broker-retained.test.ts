// Retained messages on SUBSCRIBE: the right ones for many filters at once (wildcards, $-topics), the
// same as mosquitto, and a SUBSCRIBE of thousands of filters over tens of thousands of retained
// messages is answered without holding the broker up (its cost is in `npm run bench`, "retained").
import { afterAll, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { topicMatches } from "../../src/core/topic-filter";
import { startBroker, startMosquitto, stopStartedProcesses, testWithPrograms } from "./harness";
import { connectV5, waitUntil } from "./mqtt5-client";

afterAll(stopStartedProcesses);

const TOPICS = ["a", "a/b", "a/b/c", "a/c", "b/b/c", "/lead", "lead/", "x/y/z/w", "x/q/z/w"];
const FILTERS = ["a/#", "+/b/c", "+", "#", "/+", "+/", "x/+/z/w", "x/y/+/#", "nothing/here", "a/b", "$SYS/broker/version", "+/broker/version"];

/** Retained topics a client receives on one SUBSCRIBE of `filters`, waiting for `expected` distinct ones. */
async function retainedOnSubscribe(url: string, filters: string[], expected: Set<string>): Promise<Set<string>> {
  const { client } = await connectV5(url, { clientId: `retained-${Math.random().toString(36).slice(2)}` });
  try {
    const seen = new Set<string>();
    client.on("message", (topic, _payload, packet) => packet.retain && seen.add(topic));
    await client.subscribeAsync(Object.fromEntries(filters.map((filter) => [filter, { qos: 0 as const }])));
    await waitUntil(() => [...expected].every((topic) => seen.has(topic)), 10_000);
    // One more round trip through the broker, so a stray message sent right after would be here too.
    await client.subscribeAsync("retained-marker");
    await client.publishAsync("retained-marker", "m", { qos: 1 });
    return seen;
  } finally {
    await client.endAsync(true);
  }
}

async function storeRetained(client: MqttClient, topics: string[]): Promise<void> {
  for (const topic of topics) await client.publishAsync(topic, `kept ${topic}`, { qos: 1, retain: true });
}

describe("retained messages on SUBSCRIBE", () => {
  const expected = new Set([...TOPICS.filter((topic) => FILTERS.some((filter) => topicMatches(filter, topic))), "$SYS/broker/version"]);

  const check = async (url: string) => {
    const { client } = await connectV5(url);
    await storeRetained(client, TOPICS);
    await client.endAsync();
    // MQTT-4.7.2-1: '#' and '+/broker/version' do not reach $SYS/broker/version; naming $SYS does.
    expect([...(await retainedOnSubscribe(url, FILTERS, expected))].sort()).toEqual([...expected].sort());
  };

  test("one SUBSCRIBE of many filters gets exactly the retained messages they match, $SYS only when named (MQTT-4.7.2-1)", async () => {
    // --sys-interval: $SYS/broker/version is retained from the first round on.
    const { url } = await startBroker("--sys-interval", "100ms");
    await check(url);
  });

  testWithPrograms(["mosquitto"], "mosquitto, the same SUBSCRIBE: the same retained messages", async () => {
    const { url } = await startMosquitto();
    await check(url);
  });

  test("a SUBSCRIBE of 2,000 filters over 20,000 retained messages: its SUBACK, the 1,995 matches, and another client served meanwhile", async () => {
    const { url } = await startBroker();
    const { client: publisher } = await connectV5(url);
    for (let n = 0; n < 20_000; n++) publisher.publish(`big/${Math.floor(n / 100)}/${n % 100}`, `r${n}`, { qos: 0, retain: true });
    await publisher.publishAsync("big-done", "", { qos: 1 }); // acknowledged after all of the above were handled
    const filters = [...Array.from({ length: 10 }, (_, g) => `big/${g}/+`)];
    for (let i = 0; i < 995; i++) filters.push(`big/${Math.floor(((i * 7919) % 20_000) / 100)}/${((i * 7919) % 20_000) % 100}`);
    for (let i = 0; filters.length < 2000; i++) filters.push(`none/${i}/#`);
    const wanted = new Set<string>();
    for (let n = 0; n < 20_000; n++) {
      const topic = `big/${Math.floor(n / 100)}/${n % 100}`;
      if (filters.some((filter) => topicMatches(filter, topic))) wanted.add(topic);
    }

    const { client: bystander } = await connectV5(url);
    await bystander.subscribeAsync("bystander/echo");
    const { client } = await connectV5(url);
    const seen = new Set<string>();
    client.on("message", (topic, _payload, packet) => packet.retain && seen.add(topic));
    const suback = client.subscribeAsync(Object.fromEntries(filters.map((filter) => [filter, { qos: 0 as const }])));
    // The other client's round trip completes while the big SUBSCRIBE is being served: it is not
    // queued behind it. (How long it takes is the bench's business, not a functional test's.)
    const echoed = new Promise<void>((resolve) => bystander.once("message", () => resolve()));
    await bystander.publishAsync("bystander/echo", "ping", { qos: 1 });
    await echoed;
    const granted = await suback;
    expect(granted.length).toBe(2000);
    expect(granted.every((grant) => grant.qos === 0)).toBe(true);
    await waitUntil(() => seen.size >= wanted.size, 20_000);
    expect(seen).toEqual(wanted);
    await Promise.all([publisher, bystander, client].map((c) => c.endAsync(true)));
  }, 60_000);
});
