import { describe, expect, test } from "bun:test";
import { mayAccessTopic, maySubscribe, parseAcl, rulesFor, substitutePattern } from "../../src/broker/auth/acl";
import { filterCovers, topicMatches } from "../../src/core/topic-filter";

describe("topic filters", () => {
  test("a filter matches topic names as MQTT says", () => {
    expect(topicMatches("a/+/c", "a/b/c")).toBe(true);
    expect(topicMatches("a/#", "a")).toBe(true);
    expect(topicMatches("a/#", "a/b/c")).toBe(true);
    expect(topicMatches("a/+", "a/b/c")).toBe(false);
    expect(topicMatches("#", "$SYS/broker/uptime")).toBe(false);
    expect(topicMatches("+/broker/uptime", "$SYS/broker/uptime")).toBe(false);
    expect(topicMatches("$SYS/#", "$SYS/broker/uptime")).toBe(true);
  });

  test("a filter covers another only when it matches every topic the other does", () => {
    expect(filterCovers("a/#", "a/+/b")).toBe(true);
    expect(filterCovers("a/#", "a/#")).toBe(true);
    expect(filterCovers("a/+", "a/#")).toBe(false);
    expect(filterCovers("a/+", "a/+")).toBe(true);
    expect(filterCovers("a/b", "a/+")).toBe(false);
    expect(filterCovers("#", "$SYS/#")).toBe(false);
    expect(filterCovers("$SYS/#", "$SYS/broker/+")).toBe(true);
  });
});

describe("ACL files", () => {
  const acl = parseAcl(`
# comment
topic read public/#
user alice
topic alice/#
topic deny alice/private/#
user bob
topic write inbox/#
pattern readwrite users/%u/#
pattern read devices/%c/#
`);

  test("rules before any user line are for anonymous clients", () => {
    const anonymous = rulesFor(acl, undefined, "c1");
    expect(mayAccessTopic(anonymous, "public/x", "read")).toBe(true);
    expect(mayAccessTopic(anonymous, "public/x", "write")).toBe(false);
    expect(mayAccessTopic(anonymous, "alice/x", "read")).toBe(false);
  });

  test("topic without an access level is readwrite, and deny wins over a grant", () => {
    const alice = rulesFor(acl, "alice", "c1");
    expect(mayAccessTopic(alice, "alice/x", "write")).toBe(true);
    expect(mayAccessTopic(alice, "alice/x", "read")).toBe(true);
    expect(mayAccessTopic(alice, "alice/private/diary", "read")).toBe(false);
    expect(mayAccessTopic(alice, "public/x", "read")).toBe(false);
    expect(maySubscribe(alice, "alice/#")).toBe(true); // allowed; alice/private/# is withheld message by message
    expect(maySubscribe(alice, "alice/private/#")).toBe(false);
    expect(maySubscribe(alice, "#")).toBe(false);
  });

  test("write-only grants do not allow subscribing", () => {
    const bob = rulesFor(acl, "bob", "c1");
    expect(mayAccessTopic(bob, "inbox/1", "write")).toBe(true);
    expect(maySubscribe(bob, "inbox/#")).toBe(false);
  });

  test("patterns fill in %u and %c, and never with wildcards", () => {
    const bob = rulesFor(acl, "bob", "sensor-1");
    expect(mayAccessTopic(bob, "users/bob/x", "write")).toBe(true);
    expect(mayAccessTopic(bob, "users/alice/x", "write")).toBe(false);
    expect(maySubscribe(bob, "devices/sensor-1/#")).toBe(true);
    expect(maySubscribe(bob, "devices/sensor-2/#")).toBe(false);
    const sneaky = rulesFor(acl, "#", "+");
    expect(maySubscribe(sneaky, "users/#")).toBe(false);
    expect(maySubscribe(sneaky, "devices/+/#")).toBe(false);
    expect(rulesFor(acl, undefined, "c").grants.some((grant) => grant.filter.startsWith("users/"))).toBe(false);
  });

  test("%u and %c are filled in one pass: a user named %c with client id # gets nothing (mosquitto does the same)", () => {
    const tricky = rulesFor(acl, "%c", "#");
    expect(maySubscribe(tricky, "users/#")).toBe(false);
    expect(mayAccessTopic(tricky, "users/x/y", "write")).toBe(false);
    expect(tricky.grants.some((grant) => grant.filter.startsWith("users/"))).toBe(false);
    expect(substitutePattern("a/%u/%c", "%c", "id")).toBeUndefined();
    expect(substitutePattern("a/%u/%c", "u", "%u")).toBeUndefined();
    expect(substitutePattern("a/%u/%c", "u1", "c1")).toBe("a/u1/c1");
    expect(substitutePattern("a/%c%u", "u1", "c1")).toBe("a/c1u1");
    expect(substitutePattern("plain/topic", undefined, "")).toBe("plain/topic");
  });

  test("a value holding +, #, /, % or NUL, or an empty one, gets nothing from a pattern rule", () => {
    for (const bad of ["a+b", "a#", "a/b", "100%", "nul\0x", ""]) {
      expect(substitutePattern("users/%u/#", bad, "c")).toBeUndefined();
      expect(substitutePattern("devices/%c/#", "u", bad)).toBeUndefined();
    }
    expect(substitutePattern("users/%u/#", undefined, "c")).toBeUndefined();
    expect(substitutePattern("devices/%c/#", undefined, "c")).toBe("devices/c/#");
  });

  test("shared subscriptions are decided on their filter", () => {
    const alice = rulesFor(acl, "alice", "c1");
    expect(maySubscribe(alice, "$share/group/alice/+")).toBe(true);
    expect(maySubscribe(alice, "$share/group/bob/+")).toBe(false);
  });

  test("mistakes name their line", () => {
    expect(() => parseAcl("user alice\ntopic sometimes a/b")).toThrow('line 2: unknown access "sometimes"');
    expect(() => parseAcl("topics read a")).toThrow('line 1: unknown keyword "topics"');
    expect(() => parseAcl("topic read a/#/b")).toThrow('line 1: invalid topic filter "a/#/b"');
    expect(() => parseAcl("user")).toThrow("line 1: user needs a name");
  });
});
