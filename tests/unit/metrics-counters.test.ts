// /metrics reads the retained store's counters: a scrape must not walk 20,000 retained messages.
import { describe, expect, test } from "bun:test";
import type { Aedes } from "aedes";
import { BrokerMetrics } from "../../src/broker/metrics";
import { LimitCounters } from "../../src/broker/resource-limits";

function fakeBroker(persistence: object): Aedes {
  return { clients: {}, connectedClients: 0, persistence, on() {}, authorizeForward: () => null } as unknown as Aedes;
}

describe("metrics samples", () => {
  test("retained count and bytes come from the store's counters, without reading its messages", async () => {
    const metrics = new BrokerMetrics({ limits: { maxSubscriptions: 1, maxRetained: 2, maxRetainedBytes: 3, retainedMaxSize: 4, maxQueued: 5, maxQueuedBytes: 6 }, counters: new LimitCounters() });
    metrics.attach(
      fakeBroker({
        retainedCount: 20_000,
        retainedBytes: 123_456,
        createRetainedStream() {
          throw new Error("walked the retained store");
        },
      }),
    );
    const sample = await metrics.sample();
    expect([sample.retainedMessages, sample.retainedBytes]).toEqual([20_000, 123_456]);
    expect(sample.limits?.maxRetained).toBe(2);
  });

  test("Redis's store (--cluster): count and bytes from the counters it keeps in Redis, without reading its messages", async () => {
    const metrics = new BrokerMetrics();
    metrics.attach(
      fakeBroker({
        retainedTotals: async () => ({ count: 7, bytes: 70 }),
        createRetainedStream() {
          throw new Error("walked the retained store");
        },
      }),
    );
    const sample = await metrics.sample();
    expect([sample.retainedMessages, sample.retainedBytes]).toEqual([7, 70]);
  });
});
