// Every flag of every subcommand given a wrong value, a missing file or a malformed URL: one clear
// line naming the flag, and exit status 2. A new flag must be added here (or to FREE_TEXT).
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pingpong } from "./harness";

const MISSING = join(mkdtempSync(join(tmpdir(), "cli-sweep-")), "no-such-file");
const DIRECTORY = tmpdir();

/** Flags whose value is any text (names, topics, payloads), so no value is wrong for them. */
const FREE_TEXT = new Set(["host", "client-id", "username", "password", "topic", "message", "will-topic", "will-payload", "content-type", "response-topic", "correlation-data", "node-name", "http-host", "format", "filter-out", "only", "expect-denied-topic"]);

const CLIENT: Record<string, string[]> = {
  url: ["http://example.com", "not a url", "mqtt://"],
  port: ["70000", "-1", "ten"],
  keepalive: ["-1", "65536", "soon"],
  protocol: ["6"],
  "session-expiry": ["soon"],
  "connect-timeout": ["fast", "-1s"],
  "password-file": [MISSING],
  cafile: [MISSING],
  cert: [MISSING],
  key: [MISSING],
};
const PROBE: Record<string, string[]> = {
  interval: ["fast", "0"],
  count: ["0", "many"],
  timeout: ["0", "never"],
  qos: ["3", "-1"],
  size: ["-1", "big"],
  "ping-topic": ["a/#"],
  "pong-topic": ["a/+"],
};

/** Each case: [subcommand, arguments every case needs, { flag: wrong values }]. */
const SWEEP: Array<[string, string[], Record<string, string[]>]> = [
  [
    "broker",
    ["--port", "0"],
    {
      port: ["70000", "ten"],
      "max-connections": ["-1", "many"],
      "max-packet-size": ["1", "big"],
      "max-inflight": ["0", "x"],
      "idle-timeout": ["soon", "0"],
      "max-keepalive": ["70000"],
      "max-topic-alias": ["70000", "x"],
      persistence: [DIRECTORY, "redis://localhost:6379", join(MISSING, "x.db")],
      "max-queued": ["-1", "x"],
      "max-queued-bytes": ["-1", "x"],
      "max-subscriptions": ["-1", "x"],
      "max-retained": ["-1", "x"],
      "max-retained-bytes": ["-1", "x"],
      "retained-max-size": ["-1", "x"],
      "slow-consumer-timeout": ["0", "x"],
      "drain-timeout": ["x"],
      cluster: ["http://x", "not a url"],
      "redis-timeout": ["x"],
      config: [MISSING, DIRECTORY],
      "password-file": [MISSING],
      "acl-file": [MISSING],
      "tls-port": ["70000"],
      cert: [MISSING],
      key: [MISSING],
      cafile: [MISSING],
      "ws-port": ["x"],
      "ws-origin": ["localhost:8080"],
      "sys-interval": ["x"],
      "http-port": ["70000"],
    },
  ],
  ["echo", [], { ...CLIENT, qos: ["3"], "ping-topic": ["a/#"], "pong-topic": ["+"] }],
  ["ping", [], { ...CLIENT, ...PROBE }],
  ["all", [], { port: ["70000"], ...PROBE }],
  ["pub", ["--topic", "t", "--message", "m"], { ...CLIENT, qos: ["3"], repeat: ["0", "x"], "repeat-delay": ["x"], "will-qos": ["3"], "message-expiry": ["x"], "user-property": ["novalue"] }],
  ["pub", ["--topic", "t"], { file: [MISSING, DIRECTORY] }],
  ["sub", ["--topic", "t"], { ...CLIENT, qos: ["3"], count: ["0", "x"], timeout: ["x"], "idle-timeout": ["x"] }],
  ["bench", ["pubsub"], { ...CLIENT, qos: ["3"], size: ["-1", "x"], publishers: ["0", "x"], subscribers: ["-1", "x"], duration: ["x"], warmup: ["x"], rate: ["x"], inflight: ["0", "x"], "broker-pid": ["x"] }],
  ["bench", ["conn"], { connections: ["0", "x"] }],
  ["bench", ["retained"], { retained: ["0", "x"], filters: ["0", "x"] }],
  ["cluster", [], { nodes: ["0", "x"], "base-port": ["70000"], redis: ["http://x", "not a url"] }],
  ["passwd", [join(MISSING, "..", "pw"), "alice", "secret", "-b"], { algorithm: ["md5"] }],
  [
    "conformance",
    ["--url", "mqtt://127.0.0.1:9"],
    { url: ["http://x", "not a url"], protocol: ["4"], concurrency: ["0", "x"], "check-timeout": ["x"], "reply-timeout": ["0"], quiet: ["x"], "expect-max-qos": ["2", "x"] },
  ],
];

/** Flags that mean something only beside another get it, so the value itself is what is wrong. */
const COMPANIONS: Record<string, string[]> = {
  "broker --cert": ["--tls-port", "0", "--key", MISSING],
  "broker --key": ["--tls-port", "0", "--cert", MISSING],
  "broker --cafile": ["--tls-port", "0", "--cert", MISSING, "--key", MISSING],
  "pub --will-qos": ["--will-topic", "w"],
};

type FlagDef = { type?: string };

describe("every flag with a wrong value: one line, exit 2", () => {
  test("the table covers every flag that takes a value", async () => {
    const uncovered: string[] = [];
    for (const name of new Set(SWEEP.map(([name]) => name))) {
      const command = (await import(`../../src/commands/${name}.ts`)).default;
      const args = (typeof command.args === "function" ? await command.args() : command.args) as Record<string, FlagDef>;
      for (const [flag, def] of Object.entries(args)) {
        const covered = SWEEP.some(([other, , cases]) => other === name && cases[flag]);
        if (def.type !== "string" || FREE_TEXT.has(flag) || covered) continue;
        uncovered.push(`${name} --${flag}`);
      }
    }
    expect(uncovered).toEqual([]);
  });

  for (const [name, base, cases] of SWEEP) {
    for (const [flag, values] of Object.entries(cases)) {
      for (const value of values) {
        test(`${name} ${base[0]?.startsWith("-") ? "" : (base[0] ?? "")} --${flag} ${JSON.stringify(value).replace(MISSING, "<missing>")}`, async () => {
          const args = [...base.filter((_, i) => !(name === "broker" && flag === "port" && i < 2)), ...(COMPANIONS[`${name} --${flag}`] ?? []), `--${flag}`, value];
          const proc = pingpong(name, ...args);
          const code = await proc.waitExit(15_000);
          const lines = proc.lines.filter((line) => line.trim() !== "");
          expect({ code, lines: lines.length }).toEqual({ code: 2, lines: 1 });
          expect(lines[0]).toMatch(/^error: /);
          // It names what is wrong: the flag, or the value (a missing file is named by its path).
          const named = `${name} --${flag}` === "broker --cafile" ? MISSING : value; // --cert is read first
          expect(lines[0]!.includes(flag) || lines[0]!.includes(named)).toBe(true);
        });
      }
    }
  }
});
