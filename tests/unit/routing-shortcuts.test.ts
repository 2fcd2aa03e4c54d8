// The two shortcuts on the message path patched into aedes's dependencies: mqemitter keeps the
// listeners each topic matched until a subscription changes, and the in-memory persistence says
// synchronously whether any persistent session could want a message queued. Both must never
// change who gets a message: these tests change the subscriptions between messages on one topic.
import { describe, expect, test } from "bun:test";
import MQEmitter from "mqemitter";
import MemoryPersistence from "aedes-persistence/asyncPersistence.js";
import aedesMemoryPersistence from "aedes-persistence";
import { CallBackPersistence } from "aedes-persistence/callBackPersistence.js";

type Emitter = ReturnType<typeof MQEmitter>;
const emit = (mq: Emitter, topic: string) => new Promise<void>((resolve) => mq.emit({ topic, payload: "x" }, () => resolve()));
const settle = () => new Promise((resolve) => setImmediate(resolve)); // removeListener takes effect in a setImmediate

describe("mqemitter's match cache", () => {
  test("a listener added, or removed, after a topic was routed counts from the next message", async () => {
    const mq = MQEmitter();
    const got: string[] = [];
    const exact = (message: { topic: string }, done: () => void) => (got.push(`exact ${message.topic}`), done());
    const wildcard = (message: { topic: string }, done: () => void) => (got.push(`wildcard ${message.topic}`), done());
    mq.on("a/b", exact);
    await emit(mq, "a/b");
    expect(got).toEqual(["exact a/b"]);

    mq.on("a/+", wildcard);
    await emit(mq, "a/b");
    expect(got.slice(1)).toEqual(["exact a/b", "wildcard a/b"]);

    mq.removeListener("a/b", exact);
    await settle();
    await emit(mq, "a/b");
    expect(got.slice(3)).toEqual(["wildcard a/b"]);

    (mq as unknown as { removeAllListeners(topic: string): void }).removeAllListeners("a/+");
    await emit(mq, "a/b");
    expect(got.slice(4)).toEqual([]);
  });

  test("past the cache's size every topic still reaches exactly its listeners", async () => {
    const mq = MQEmitter();
    const counts = new Map<string, number>();
    mq.on("t/#", (message: { topic: string }, done: () => void) => {
      counts.set(message.topic, (counts.get(message.topic) ?? 0) + 1);
      done();
    });
    const topics = Array.from({ length: 2500 }, (_, i) => `t/${i}`);
    for (let round = 0; round < 2; round++) for (const topic of topics) await emit(mq, topic);
    await emit(mq, "other");
    expect(counts.size).toBe(2500);
    expect([...counts.values()].every((n) => n === 2)).toBe(true);
    // A topic routed long ago (and so dropped from the cache) still sees a new listener.
    let late = 0;
    mq.on("t/7", (_message: unknown, done: () => void) => (late++, done()));
    await emit(mq, "t/7");
    expect(late).toBe(1);
    expect(counts.get("t/7")).toBe(3);
  });
});

describe("the in-memory persistence's hasOfflineSubscriptions", () => {
  const client = (id: string) => ({ id });
  const sub = (topic: string, qos: number) => ({ topic, qos, rh: 0, rap: false, nl: false });

  test("true exactly while a stored session holds a QoS 1/2 subscription, matching subscriptionsByTopic", async () => {
    const persistence = new MemoryPersistence();
    await persistence.setup({ id: "b", counter: 0, publish() {}, subscribe() {}, unsubscribe() {} });
    expect(persistence.hasOfflineSubscriptions()).toBe(false);

    // QoS 0 subscriptions are never queued for, so they are not counted.
    await persistence.addSubscriptions(client("c0"), [sub("a/b", 0)]);
    expect(persistence.hasOfflineSubscriptions()).toBe(false);
    expect(await persistence.subscriptionsByTopic("a/b")).toEqual([]);

    await persistence.addSubscriptions(client("c1"), [sub("a/+", 1)]);
    expect(persistence.hasOfflineSubscriptions()).toBe(true);
    expect((await persistence.subscriptionsByTopic("a/b")).map((s: { clientId: string }) => s.clientId)).toEqual(["c1"]);

    await persistence.addSubscriptions(client("c2"), [sub("x/y", 2)]);
    await persistence.removeSubscriptions(client("c1"), ["a/+"]);
    expect(persistence.hasOfflineSubscriptions()).toBe(true);
    await persistence.cleanSubscriptions(client("c2"));
    expect(persistence.hasOfflineSubscriptions()).toBe(false);
    expect(await persistence.subscriptionsByTopic("x/y")).toEqual([]);
    await persistence.destroy();
  });

  test("aedes's default store (the same one behind a callback wrapper) answers it too", async () => {
    const wrapped = aedesMemoryPersistence() as unknown as MemoryPersistence;
    await wrapped.setup({ id: "b", counter: 0, publish() {}, subscribe() {}, unsubscribe() {} });
    expect(wrapped.hasOfflineSubscriptions()).toBe(false);
    await wrapped.addSubscriptions(client("c1"), [sub("a/#", 1)]);
    expect(wrapped.hasOfflineSubscriptions()).toBe(true);
    await wrapped.destroy();
  });

  test("a store without it behind the same wrapper (aedes-persistence-redis) answers undefined, so aedes searches as before", () => {
    const wrapped = new CallBackPersistence(() => ({ subscriptionsByTopic: async () => [] }), {});
    expect(wrapped.hasOfflineSubscriptions()).toBeUndefined();
  });
});
