import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flagValues } from "../../src/core/flags";
import { LineSplitter, parseUserProperties } from "../../src/core/publish-input";
import { filterProblem, topicMatches } from "../../src/core/topic-filter";
import { toConnectionOptions } from "../../src/commands/client-args";
import { SESSION_NEVER_EXPIRES, sessionExpiryFlag } from "../../src/core/flag-parsers";

describe("pub -l lines", () => {
  test("lines split across chunks come out whole, without their newline", () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from("one\ntw")).map(String)).toEqual(["one"]);
    expect(splitter.push(Buffer.from("o\n\nthr")).map(String)).toEqual(["two", ""]);
    expect(splitter.push(Buffer.from("ee\r\n")).map(String)).toEqual(["three\r"]);
    expect(splitter.end()).toBeUndefined();
    splitter.push(Buffer.from("last"));
    expect(String(splitter.end())).toBe("last");
  });
});

describe("user properties", () => {
  test("key=value pairs, a key may repeat, the value may hold =", () => {
    expect(parseUserProperties(["a=1", "b=x=y", "a=2"])).toEqual({ a: ["1", "2"], b: "x=y" });
    expect(parseUserProperties([])).toBeUndefined();
    expect(() => parseUserProperties(["=v"])).toThrow('"=v" is not key=value');
  });
});

describe("topic filters", () => {
  test("valid filters", () => {
    for (const filter of ["a", "a/b", "+", "#", "a/+/c", "a/#", "+/+/#", "/"]) expect(filterProblem(filter)).toBeUndefined();
  });
  test("invalid filters", () => {
    expect(filterProblem("")).toBe("a topic filter must not be empty");
    expect(filterProblem("a/#/b")).toMatch(/# must be/);
    expect(filterProblem("a#")).toMatch(/# must be/);
    expect(filterProblem("a/b+")).toMatch(/\+ must be/);
  });
});

describe("repeated flags", () => {
  const definitions = { topic: { type: "string" as const, alias: "t" }, message: { type: "string" as const, alias: "m" }, retain: { type: "boolean" as const, alias: "r" } };
  test("every value of a repeated flag, under any of its names, in order", () => {
    expect(flagValues(["-t", "a", "--topic", "b/#", "-r", "--topic=c", "-m", "-t"], definitions, "topic")).toEqual(["a", "b/#", "c"]);
  });
});

describe("connection options from flags", () => {
  const defaults = { host: "localhost", port: "10008", keepalive: "60", protocol: "5", "connect-timeout": "30s" };
  test("--no-clean keeps the session forever under MQTT 5 unless --session-expiry says otherwise", () => {
    expect(toConnectionOptions({ ...defaults, clean: false }, "sub").sessionExpirySec).toBe(SESSION_NEVER_EXPIRES);
    expect(toConnectionOptions({ ...defaults, "disable-clean-session": true }, "sub").clean).toBe(false);
    expect(toConnectionOptions({ ...defaults, clean: false, "session-expiry": "1h" }, "sub").sessionExpirySec).toBe(3600);
    expect(toConnectionOptions({ ...defaults }, "sub").sessionExpirySec).toBeUndefined();
  });
  test("session expiry: seconds, durations, never", () => {
    expect(sessionExpiryFlag("90")).toBe(90);
    expect(sessionExpiryFlag("2m")).toBe(120);
    expect(sessionExpiryFlag("never")).toBe(SESSION_NEVER_EXPIRES);
  });
  test("the password comes from the flag, then the file, then MQTT_PASSWORD", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pw-")), "pw");
    writeFileSync(file, "from file\nsecond line\n");
    const env = { MQTT_PASSWORD: "from env" };
    expect(toConnectionOptions({ ...defaults, password: "flag" }, "ping", env).password).toBe("flag");
    expect(toConnectionOptions({ ...defaults, "password-file": file }, "ping", env).password).toBe("from file");
    expect(toConnectionOptions({ ...defaults }, "ping", env).password).toBe("from env");
    expect(toConnectionOptions({ ...defaults }, "ping", {}).password).toBeUndefined();
  });
  test("TLS flags with --host/--port mean mqtts; --insecure turns verification off", () => {
    const options = toConnectionOptions({ ...defaults, insecure: true }, "ping");
    expect(options.url).toBe("mqtts://localhost:10008");
    expect(options.tls?.rejectUnauthorized).toBe(false);
    expect(toConnectionOptions({ ...defaults, url: "wss://example.org/mqtt" }, "ping").tls?.rejectUnauthorized).toBe(true);
    expect(toConnectionOptions({ ...defaults, host: "::1" }, "ping").url).toBe("mqtt://[::1]:10008");
    expect(toConnectionOptions({ ...defaults, host: "[::1]" }, "ping").url).toBe("mqtt://[::1]:10008");
    expect(toConnectionOptions({ ...defaults, protocol: "mqttv311" }, "ping").protocolVersion).toBe(4);
  });
});

describe("topic matching (sub -T)", () => {
  const cases: Array<[string, string, boolean]> = [
    ["a/b", "a/b", true],
    ["a/+", "a/b", true],
    ["a/+", "a/b/c", false],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["#", "a/b", true],
    ["+/+", "/x", true],
    ["+", "$SYS", false],
    ["#", "$SYS/broker/uptime", false],
    ["$SYS/#", "$SYS/broker/uptime", true],
    ["a/b", "a/b/c", false],
    ["a/b/c", "a/b", false],
  ];
  for (const [filter, topic, expected] of cases) {
    test(`${filter} ${expected ? "matches" : "does not match"} ${topic}`, () => expect(topicMatches(filter, topic)).toBe(expected));
  }
});
