// Every flag of every subcommand with a wrong value, a missing file or a malformed URL. Read by the
// in-process sweep (tests/unit/flag-sweep.test.ts) and the end-to-end sample (tests/e2e/cli-sweep.test.ts).
// A new flag must be added here (or to FREE_TEXT).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const MISSING = join(mkdtempSync(join(tmpdir(), "cli-sweep-")), "no-such-file");
const DIRECTORY = tmpdir();

/** Flags whose value is any text (names, topics, payloads), so no value is wrong for them. */
export const FREE_TEXT = new Set(["host", "client-id", "username", "password", "topic", "message", "will-topic", "will-payload", "content-type", "response-topic", "correlation-data", "node-name", "http-host", "format", "filter-out", "only", "expect-denied-topic"]);

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
export const SWEEP: Array<[string, string[], Record<string, string[]>]> = [
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
      "console-admins": ["alice"],
      "sys-interval": ["x"],
      "http-port": ["70000"],
    },
  ],
  ["echo", [], { ...CLIENT, qos: ["3"], "ping-topic": ["a/#"], "pong-topic": ["+"] }],
  ["ping", [], { ...CLIENT, ...PROBE }],
  ["all", [], { port: ["70000"], "http-port": ["70000", "x"], ...PROBE }],
  ["pub", ["--topic", "t", "--message", "m"], { ...CLIENT, qos: ["3"], repeat: ["0", "x"], "repeat-delay": ["x"], timeout: ["0", "soon"], "will-qos": ["3"], "message-expiry": ["x"], "user-property": ["novalue"] }],
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
    { url: ["http://x", "not a url"], cafile: [MISSING], protocol: ["4"], concurrency: ["0", "x"], "check-timeout": ["x"], "reply-timeout": ["0"], quiet: ["x"], "expect-max-qos": ["2", "x"] },
  ],
];

/** Flags that mean something only beside another get it, so the value itself is what is wrong. */
export const COMPANIONS: Record<string, string[]> = {
  "broker --cert": ["--tls-port", "0", "--key", MISSING],
  "broker --key": ["--tls-port", "0", "--cert", MISSING],
  "broker --cafile": ["--tls-port", "0", "--cert", MISSING, "--key", MISSING],
  "pub --will-qos": ["--will-topic", "w"],
};

export interface SweepCase {
  command: string;
  flag: string;
  value: string;
  /** The arguments after the subcommand. */
  args: string[];
  title: string;
}

/** Every case of the table, with the arguments it runs with. */
export function sweepCases(): SweepCase[] {
  const cases: SweepCase[] = [];
  for (const [command, base, flags] of SWEEP) {
    for (const [flag, values] of Object.entries(flags)) {
      for (const value of values) {
        const args = [...base.filter((_, i) => !(command === "broker" && flag === "port" && i < 2)), ...(COMPANIONS[`${command} --${flag}`] ?? []), `--${flag}`, value];
        const title = `${command} ${base[0]?.startsWith("-") ? "" : (base[0] ?? "")} --${flag} ${JSON.stringify(value).replace(MISSING, "<missing>")}`;
        cases.push({ command, flag, value, args, title });
      }
    }
  }
  return cases;
}

/** Whether an error line names what is wrong: the flag, or the value (a missing file is named by its path). */
export function namesTheMistake(line: string, sweepCase: SweepCase): boolean {
  const named = `${sweepCase.command} --${sweepCase.flag}` === "broker --cafile" ? MISSING : sweepCase.value; // --cert is read first
  return line.includes(sweepCase.flag) || line.includes(named);
}
