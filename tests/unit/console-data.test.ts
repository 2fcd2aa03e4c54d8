// The console's pure data logic: the topic table and its rates, the ring buffer of history, the
// latency buckets, and the session and origin checks.
import { describe, expect, test } from "bun:test";
import { latencyBuckets } from "../../src/core/latency-buckets";
import { RateHistory } from "../../src/core/rate-history";
import { RingBuffer } from "../../src/core/ring-buffer";
import { isUnderBranch, matchesSearch, PAYLOAD_PREVIEW_BYTES, TopicStats } from "../../src/core/topic-stats";
import { cookieValue, ConsoleSessions, hostAllowed, sameOrigin } from "../../src/broker/console/session";
import { ActionError, checkFilter, checkPublish } from "../../src/broker/console/actions";
import { PasswordChecker } from "../../src/broker/auth/password-check";

const bytes = (text: string) => Buffer.from(text);

describe("RingBuffer", () => {
  test("keeps the latest `capacity` values, oldest first", () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.toArray()).toEqual([]);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    for (const value of [3, 4, 5]) ring.push(value);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.length).toBe(3);
    expect(ring.latest(2)).toEqual([4, 5]);
    expect(ring.latest(10)).toEqual([3, 4, 5]);
  });

  test("an hour of one sample a second wraps without growing", () => {
    const ring = new RingBuffer<number>(3600);
    for (let i = 0; i < 10_000; i++) ring.push(i);
    const all = ring.toArray();
    expect(all.length).toBe(3600);
    expect(all[0]).toBe(6400);
    expect(all[3599]).toBe(9999);
  });

  test("refuses a capacity that is not a positive integer", () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(1.5)).toThrow(RangeError);
  });
});

describe("RateHistory", () => {
  const counters = (messagesReceived: number, messagesSent: number, bytesReceived: number, bytesSent: number) => ({ messagesReceived, messagesSent, bytesReceived, bytesSent });

  test("each reading after the first adds the per-second rates since the one before", () => {
    const history = new RateHistory(900);
    expect(history.record(10_000, counters(100, 200, 5_000, 9_000))).toBeUndefined();
    expect(history.all()).toEqual([]);
    expect(history.record(11_000, counters(150, 300, 6_000, 9_000))).toEqual({ at: 11_000, messagesIn: 50, messagesOut: 100, bytesIn: 1_000, bytesOut: 0 });
    // A late timer: two seconds between readings halve the per-second figures.
    history.record(13_000, counters(250, 300, 6_000, 9_000));
    expect(history.all().map((point) => point.messagesIn)).toEqual([50, 50]);
  });

  test("a counter that seems to go back gives 0, and a reading at the same instant adds nothing", () => {
    const history = new RateHistory(10);
    history.record(1_000, counters(10, 10, 10, 10));
    expect(history.record(1_000, counters(20, 20, 20, 20))).toBeUndefined();
    expect(history.record(2_000, counters(5, 30, 30, 30))!.messagesIn).toBe(0);
  });

  test("keeps 15 minutes of one-second points, the oldest forgotten", () => {
    const history = new RateHistory(900);
    for (let second = 0; second <= 1000; second++) history.record(second * 1000, counters(second * 7, 0, 0, 0));
    const all = history.all();
    expect(all.length).toBe(900);
    expect(all[0]!.at).toBe(101_000);
    expect(all.every((point) => point.messagesIn === 7)).toBe(true);
  });
});

describe("TopicStats", () => {
  test("counts messages per topic and gives each a rate per second at each tick", () => {
    const stats = new TopicStats(100, 0);
    for (let i = 0; i < 10; i++) stats.record("a/b", bytes(`m${i}`), 1, false);
    stats.record("a/c", bytes("x"), 0, true);
    const changed = stats.tick(2000);
    expect(changed.map((entry) => [entry.topic, entry.count, entry.rate, entry.qos, entry.retain])).toEqual([
      ["a/b", 10, 5, 1, false],
      ["a/c", 1, 0.5, 0, true],
    ]);
    expect(Buffer.from(stats.all()[0]!.payload).toString()).toBe("m9");
    // Nothing new: the rates fall to 0 and are reported once as changed, then not again.
    expect(stats.tick(3000).map((entry) => entry.rate)).toEqual([0, 0]);
    expect(stats.tick(4000)).toEqual([]);
  });

  test("the top topics are the busiest by their last rate", () => {
    const stats = new TopicStats(100, 0);
    for (const [topic, count] of [["quiet", 1], ["flood", 50], ["busy", 20]] as const) {
      for (let i = 0; i < count; i++) stats.record(topic, bytes("."), 0, false);
    }
    stats.tick(1000);
    expect(stats.top(2).map((entry) => [entry.topic, entry.rate])).toEqual([
      ["flood", 50],
      ["busy", 20],
    ]);
  });

  test("keeps only the head of a payload, copied out of the buffer it came in", () => {
    const stats = new TopicStats(100, 0);
    const socketRead = Buffer.alloc(PAYLOAD_PREVIEW_BYTES * 4, 0x61);
    stats.record("big", socketRead.subarray(10), 0, false);
    const [entry] = stats.tick(1000);
    expect(entry!.size).toBe(socketRead.length - 10);
    expect(entry!.payload.length).toBe(PAYLOAD_PREVIEW_BYTES);
    expect(entry!.payload.buffer).not.toBe(socketRead.buffer);
  });

  test("follows at most maxTopics topics and counts the messages of the others", () => {
    const stats = new TopicStats(2, 0);
    for (const topic of ["a", "b", "c", "d", "a"]) stats.record(topic, bytes("."), 0, false);
    expect(stats.size).toBe(2);
    expect(stats.untracked).toBe(2);
    expect(stats.all().map((entry) => [entry.topic, entry.count])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
  });

  test("a deleted retained message clears the flag and is reported at the next tick", () => {
    const stats = new TopicStats(10, 0);
    stats.record("kept", bytes("v"), 0, true);
    stats.tick(1000);
    stats.tick(2000);
    stats.clearRetained("kept");
    expect(stats.tick(3000).map((entry) => [entry.topic, entry.retain])).toEqual([["kept", false]]);
  });
});

describe("topic helpers", () => {
  test("a branch holds itself and the topics below it, not its namesakes", () => {
    expect(isUnderBranch("keep", "keep")).toBe(true);
    expect(isUnderBranch("keep/a/b", "keep")).toBe(true);
    expect(isUnderBranch("keep/a", "keep/")).toBe(true);
    expect(isUnderBranch("keepsake", "keep")).toBe(false);
    expect(isUnderBranch("other/keep", "keep")).toBe(false);
  });

  test("search: every word appears in the topic, case-insensitive", () => {
    expect(matchesSearch("plant/Boiler/state", "boiler")).toBe(true);
    expect(matchesSearch("plant/boiler/state", "plant state")).toBe(true);
    expect(matchesSearch("plant/boiler/state", "plant door")).toBe(false);
    expect(matchesSearch("anything", "  ")).toBe(true);
  });
});

describe("latencyBuckets", () => {
  test("per bucket: min, median and max of the answered probes, and the lost ones", () => {
    const samples = [
      { at: 0, rttMs: 3 },
      { at: 1000, rttMs: 1 },
      { at: 2000, rttMs: null },
      { at: 3000, rttMs: 2 },
      { at: 30_000, rttMs: 10 },
      { at: 31_000, rttMs: 20 },
      { at: 90_000, rttMs: null },
    ];
    expect(latencyBuckets(samples, 30_000)).toEqual([
      { at: 0, count: 3, lost: 1, minMs: 1, p50Ms: 2, maxMs: 3 },
      { at: 30_000, count: 2, lost: 0, minMs: 10, p50Ms: 15, maxMs: 20 },
      { at: 90_000, count: 0, lost: 1, minMs: null, p50Ms: null, maxMs: null },
    ]);
  });

  test("no samples, no buckets", () => {
    expect(latencyBuckets([], 30_000)).toEqual([]);
  });
});

describe("console requests", () => {
  const request = (headers: Record<string, string>) => new Request("http://127.0.0.1:8080/api/publish", { method: "POST", headers });

  test("a POST counts only from the listener's own origin", () => {
    expect(sameOrigin(request({ Host: "127.0.0.1:8080", Origin: "http://127.0.0.1:8080" }))).toBe(true);
    expect(sameOrigin(request({ Host: "127.0.0.1:8080", Origin: "http://evil.example" }))).toBe(false);
    expect(sameOrigin(request({ Host: "127.0.0.1:8080", Origin: "null" }))).toBe(false);
    expect(sameOrigin(request({ Host: "127.0.0.1:8080" }))).toBe(false);
  });

  test("Host must name loopback or the bound address (no DNS rebinding)", () => {
    expect(hostAllowed("127.0.0.1:8080", "localhost")).toBe(true);
    expect(hostAllowed("localhost:8080", "localhost")).toBe(true);
    expect(hostAllowed("[::1]:8080", "localhost")).toBe(true);
    expect(hostAllowed("evil.example:8080", "localhost")).toBe(false);
    expect(hostAllowed("192.0.2.7:8080", "192.0.2.7")).toBe(true);
    expect(hostAllowed(null, "localhost")).toBe(false);
  });

  test("cookies are read by name", () => {
    expect(cookieValue("a=1; mqtt_pingpong_console=xyz; b=2", "mqtt_pingpong_console")).toBe("xyz");
    expect(cookieValue("other=1", "mqtt_pingpong_console")).toBeUndefined();
    expect(cookieValue(null, "x")).toBeUndefined();
  });

  test("with a password file only a logged-in user's session counts; a user removed by a reload loses it", async () => {
    const access = { users: new Map([["op", await Bun.password.hash("pw")]]), passwords: new PasswordChecker() };
    const sessions = new ConsoleSessions(access);
    expect(await sessions.login("op", "wrong", "192.0.2.1")).toBeUndefined();
    expect(await sessions.login("nobody", "pw", "192.0.2.2")).toBeUndefined();
    const session = (await sessions.login("op", "pw", "192.0.2.3"))!;
    const withCookie = new Request("http://x/", { headers: { Cookie: `mqtt_pingpong_console=${session.id}` } });
    expect(sessions.find(withCookie)).toBe(session);
    const anonymous = sessions.create(null);
    expect(sessions.find(new Request("http://x/", { headers: { Cookie: `mqtt_pingpong_console=${anonymous.id}` } }))).toBeUndefined();
    access.users = new Map();
    expect(sessions.find(withCookie)).toBeUndefined();
  });

  test("who may act: anyone on an open loopback console; with a password file every user, or with --console-admins only those named", () => {
    const open = new ConsoleSessions({ passwords: new PasswordChecker() });
    expect(open.mayAct(open.create(null))).toBe(true);
    const users = new Map([["alice", "x"], ["bob", "x"]]);
    const everyUser = new ConsoleSessions({ users, passwords: new PasswordChecker() });
    expect(everyUser.mayAct(everyUser.create("bob"))).toBe(true);
    expect(everyUser.mayAct(everyUser.create(null))).toBe(false);
    const onlyAlice = new ConsoleSessions({ users, passwords: new PasswordChecker() }, new Set(["alice"]));
    expect(onlyAlice.mayAct(onlyAlice.create("alice"))).toBe(true);
    expect(onlyAlice.mayAct(onlyAlice.create("bob"))).toBe(false);
    const nobody = new ConsoleSessions({ users, passwords: new PasswordChecker() }, new Set());
    expect(nobody.mayAct(nobody.create("alice"))).toBe(false);
  });

  test("a page's publish: a topic name (no wildcards, not $-topics) and QoS 0..2", () => {
    expect(checkPublish({ topic: "a/b", payload: "x", qos: 1, retain: true })).toEqual({ topic: "a/b", payload: "x", qos: 1, retain: true });
    for (const body of [{ topic: "a/#" }, { topic: "a/+/b" }, { topic: "" }, { topic: "$SYS/x" }, { topic: "a", qos: 3 }, {}]) {
      expect(() => checkPublish(body)).toThrow(ActionError);
    }
    expect(checkFilter("sensors/+/temp")).toBe("sensors/+/temp");
    expect(() => checkFilter("a/#/b")).toThrow(ActionError);
    expect(() => checkFilter("")).toThrow(ActionError);
  });
});
