import { describe, expect, test } from "bun:test";
import { aliveNodes, makeNodeId, parseRedisUrl } from "../../src/core/cluster";

describe("--cluster Redis URL", () => {
  test("host, port and database come from redis://host:port/db", () => {
    expect(parseRedisUrl("redis://10.0.0.5:6380/2")).toEqual({
      host: "10.0.0.5",
      port: 6380,
      db: 2,
      username: undefined,
      password: undefined,
      tls: false,
      display: "10.0.0.5:6380/2",
    });
  });

  test("port 6379 and database 0 are the defaults", () => {
    expect(parseRedisUrl("redis://redis.internal").display).toBe("redis.internal:6379/0");
  });

  test("credentials are decoded and kept out of the display form", () => {
    const target = parseRedisUrl("rediss://app:p%40ss@[::1]:7000/1");
    expect(target).toMatchObject({ host: "::1", port: 7000, db: 1, username: "app", password: "p@ss", tls: true });
    expect(target.display).toBe("[::1]:7000/1");
  });

  test.each([
    ["http://localhost:6379", /unsupported scheme "http:"/],
    ["localhost:6379", /unsupported scheme|not a URL/],
    ["redis://localhost:6379/zero", /database "zero" must be a number/],
    ["not a url", /not a URL/],
  ])("%s is refused", (text, message) => {
    expect(() => parseRedisUrl(text)).toThrow(message);
  });
});

describe("node ids", () => {
  test("a readable name plus the random part, safe in Redis keys and $SYS topics", () => {
    expect(makeNodeId("edge-1", "a1b2c3")).toBe("edge-1-a1b2c3");
    expect(makeNodeId("host:10008/x#+", "ff")).toBe("host-10008-x-ff");
    expect(makeNodeId("::", "01")).toBe("node-01");
  });
});

describe("live nodes", () => {
  test("a node missing three heartbeats is gone; the rest are sorted", () => {
    const seen = new Map([
      ["b", 10_000],
      ["a", 9_000],
      ["stale", 1_000],
    ]);
    expect(aliveNodes(seen, 15_000, 2_000)).toEqual(["a", "b"]);
    expect(aliveNodes(seen, 15_001, 2_000)).toEqual(["b"]);
    expect(aliveNodes(seen, 7_000, 2_000)).toEqual(["a", "b", "stale"]);
  });
});
