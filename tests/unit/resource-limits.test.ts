import { describe, expect, test } from "bun:test";
import { retainedRefusal, type ResourceLimits } from "../../src/broker/resource-limits";

const limits: ResourceLimits = { maxSubscriptions: 0, maxRetained: 2, maxRetainedBytes: 100, retainedMaxSize: 50, maxQueued: 0, maxQueuedBytes: 0 };
const store = (count: number, bytes: number, kept: Record<string, number> = {}) => ({
  retainedCount: count,
  retainedBytes: bytes,
  retainedPayloadBytes: (topic: string) => kept[topic],
});

describe("which retained limit a message would pass", () => {
  test("one message over --retained-max-size, whatever the store", () => {
    expect(retainedRefusal(store(0, 0), limits, "t", 51)).toBe("--retained-max-size");
    expect(retainedRefusal({ retainedCount: undefined }, limits, "t", 51)).toBe("--retained-max-size");
    expect(retainedRefusal(store(0, 0), limits, "t", 50)).toBeUndefined();
  });

  test("a new topic past --max-retained; replacing a kept topic is not a new one", () => {
    expect(retainedRefusal(store(2, 10, { a: 5, b: 5 }), limits, "c", 1)).toBe("--max-retained");
    expect(retainedRefusal(store(2, 10, { a: 5, b: 5 }), limits, "a", 1)).toBeUndefined();
  });

  test("--max-retained-bytes counts the replaced payload out", () => {
    expect(retainedRefusal(store(1, 90, { a: 40 }), limits, "a", 50)).toBeUndefined(); // 90 - 40 + 50 = 100
    expect(retainedRefusal(store(1, 90, { a: 40 }), { ...limits, maxRetained: 0 }, "b", 11)).toBe("--max-retained-bytes");
  });

  test("0 means no limit; a store without counts (Redis) is limited by size alone", () => {
    const none = { ...limits, maxRetained: 0, maxRetainedBytes: 0, retainedMaxSize: 0 };
    expect(retainedRefusal(store(1e9, 1e12), none, "x", 1e9)).toBeUndefined();
    expect(retainedRefusal({ retainedCount: undefined }, limits, "x", 10)).toBeUndefined();
  });
});
