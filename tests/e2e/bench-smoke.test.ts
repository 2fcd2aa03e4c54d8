// A few-second smoke run of `mqtt-pingpong bench`: it measures, reports and exits cleanly. The
// figures themselves are benchmark results (npm run bench), not test assertions.
import { describe, expect, test } from "bun:test";
import { benchCadence, cadenceMarkdown } from "../../scripts/bench/cadence";
import { benchCluster } from "../../scripts/lib/bench/cluster";
import { BINARY, freePort, pingpong, startBroker, startMosquitto, testWithPrograms } from "./harness";

const json = (lines: string[]) => {
  expect(lines.length).toBe(1); // --json: one object on stdout, nothing else
  return JSON.parse(lines[0]!);
};

describe("bench", () => {
  test("latency at QoS 1 reports round trips against our broker, nothing lost", async () => {
    const { url } = await startBroker();
    const bench = pingpong("bench", "latency", "--url", url, "--qos", "1", "--duration", "1s", "--warmup", "200ms", "--json");
    expect(await bench.waitExit(30_000)).toBe(0);
    const result = json(bench.stdoutLines);
    expect(result).toMatchObject({ type: "result", scenario: "latency", lost: 0, duplicates: 0 });
    // At least one round trip in the measured second (how many is `npm run bench`'s question).
    expect(result.latency.count).toBeGreaterThan(0);
    expect(result.latency.p50Us).toBeGreaterThan(0);
    expect(result.latency.p50Us).toBeLessThanOrEqual(result.latency.p99Us);
    expect(result.perSecond).toHaveLength(1);
    expect(result.generatorCpu.userMs).toBeGreaterThan(0);
  });

  test("latency in open loop at QoS 1 keeps to the broker's Receive Maximum: no 0x93, nothing lost", async () => {
    // 5,000 msg/s against --max-inflight 2: five messages fall due every 1 ms tick, past 2 without
    // the window; held back, they keep the time they were due.
    const { url, proc } = await startBroker("--max-inflight", "2");
    const bench = pingpong("bench", "latency", "--url", url, "--qos", "1", "--rate", "5000", "--duration", "1s", "--warmup", "200ms", "--json");
    expect(await bench.waitExit(30_000)).toBe(0);
    const result = json(bench.stdoutLines);
    expect(result).toMatchObject({ type: "result", scenario: "latency", lost: 0, duplicates: 0 });
    expect(result.received).toBe(result.sent);
    // More were sent than the window of 2 holds, so the window mattered. How many of them fall in the
    // measured second depends on the machine's load, not on the broker: not asserted.
    expect(result.sent).toBeGreaterThan(2);
    expect(proc.output()).not.toMatch(/receive maximum exceeded/i);
  });

  test("pubsub fan-out at QoS 1 delivers every message to every subscriber", async () => {
    const { url } = await startBroker();
    const bench = pingpong("bench", "pubsub", "--url", url, "--qos", "1", "--subscribers", "3", "--size", "64", "--duration", "1s", "--warmup", "0s", "--json");
    expect(await bench.waitExit(30_000)).toBe(0);
    const result = json(bench.stdoutLines);
    expect(result.sent).toBeGreaterThan(0);
    expect(result.expected).toBe(result.sent * 3);
    expect(result.received).toBe(result.expected);
    expect(result.lost).toBe(0);
    expect(result.messagesPerSec).toBeGreaterThan(0);
  });

  test("conn opens, holds and counts connections and reads the broker's memory", async () => {
    const { url, proc } = await startBroker();
    const bench = pingpong("bench", "conn", "--url", url, "--connections", "200", "--duration", "0s", "--broker-pid", String(proc.pid));
    expect(await bench.waitExit(30_000)).toBe(0);
    expect(bench.output()).toMatch(/connected 200, failed 0 in [\d,]+ ms: [\d,]+ connections\/s/);
    expect(bench.output()).toMatch(/broker RSS [\d,]+ KiB before, [\d,]+ KiB holding them: [\d.-]+ KiB per connection/);
    // The broker saw them: it logs each client.
    await proc.waitForCount(/Client mqtt-pingpong-bench-\w+-conn\d+ connected/, 200);
  });

  testWithPrograms(["mosquitto"], "pubsub runs against mosquitto at QoS 2 (fan-in, MQTT 3.1.1)", async () => {
    // mosquitto's default queue limit drops QoS 1/2 messages now and then even with 60 on their
    // way ("Outgoing messages are being dropped"); npm run bench raises it the same way.
    const { url } = await startMosquitto("max_queued_messages 100000\n");
    const bench = pingpong("bench", "pubsub", "--url", url, "-V", "3.1.1", "--qos", "2", "--publishers", "3", "--duration", "1s", "--warmup", "0s", "--json");
    expect(await bench.waitExit(30_000)).toBe(0);
    const result = json(bench.stdoutLines);
    expect(result.lost).toBe(0);
    expect(result.received).toBe(result.sent);
    expect(result.latency.count).toBeGreaterThan(0);
  });

  testWithPrograms(["redis-server"], "the cluster scenario of npm run bench: 1 and 2 nodes over a real redis-server measure throughput and RTT", async () => {
    // The function scripts/bench.ts calls, with the compiled binary as nodes and generators; 1 s runs.
    const said: string[] = [];
    const runs = await benchCluster({ binary: BINARY, nodeCounts: [1, 2], timing: ["--duration", "1s", "--warmup", "0s"], protocol: "5", say: (text) => said.push(text) });
    expect(runs.map((run) => run.nodes)).toEqual([1, 2]);
    for (const run of runs) {
      // QoS 0 through Redis: the generator counts as lost what has not arrived after half a second
      // without progress, so a loaded machine's stall can cost at most the window in flight (100).
      expect(run.lost).toBeLessThanOrEqual(100);
      expect(run.perNodeMessagesPerSec).toHaveLength(run.nodes);
      for (const perNode of run.perNodeMessagesPerSec) expect(perNode).toBeGreaterThan(0);
      expect(run.messagesPerSec).toBe(run.perNodeMessagesPerSec.reduce((sum, value) => sum + value, 0));
      expect(run.rttP50Ms).toBeGreaterThan(0);
      expect(run.rttP50Ms).toBeLessThanOrEqual(run.rttP99Ms);
    }
    expect(said).toHaveLength(2);
    expect(said[1]).toMatch(/^cluster 2 node\(s\): \d+ msg\/s in total, RTT p50 [\d.]+ ms, p99 [\d.]+ ms, lost \d+$/);
  }, 60_000);

  testWithPrograms(["cc", "mosquitto"], "the cadence scenarios of npm run bench: every stream probes at its spacing, the ratios and every process's CPU are reported", async () => {
    // The function scripts/bench.ts calls (scripts/bench/cadence.ts), with 3 probes 100 ms apart.
    const said: string[] = [];
    const result = await benchCadence({ binary: BINARY, probes: 3, spacingsMs: [100], idleS: 1, say: (text) => said.push(text) });
    expect(result.streams.map((stream) => stream.id)).toEqual(["ours@ours", "ours@mosquitto", "minimal@ours", "minimal@mosquitto", "minimal@bun-forwarder", "bun-minimal@mosquitto", "bun-minimal@bun-forwarder", "floor-c", "floor-bun", "floor-node-net"]);
    for (const stream of result.streams) {
      // Warm-up probes are not measured; at least the asked-for number are, and overlapping ones are left out.
      expect(stream.sent).toBeGreaterThanOrEqual(3);
      expect(stream.counted).toBeLessThanOrEqual(stream.sent);
      if (stream.counted > 0) expect(stream.p50Ms).toBeLessThanOrEqual(stream.p90Ms);
      for (const percent of Object.values(stream.cpuPercent)) expect(Number.isFinite(percent)).toBe(true);
    }
    // Each MQTT stream's broker, echo and pinger; each floor's server and pinger.
    expect(Object.keys(result.streams.find((stream) => stream.id === "ours@ours")!.cpuPercent)).toHaveLength(3);
    expect(Object.keys(result.streams.find((stream) => stream.id === "bun-minimal@bun-forwarder")!.cpuPercent)).toHaveLength(3);
    expect(Object.keys(result.idleCpuPercent)).toHaveLength(17);
    const markdown = cadenceMarkdown(result, "test").join("\n");
    for (const ratio of ["broker: minimal C pair through it / through mosquitto", "clients: the pair / minimal C pair", "end to end: the pair through the broker"]) expect(markdown).toContain(ratio);
    // Each ratio with our programs and with the least on Bun in their place (NaN when a stream's few
    // probes here all overlapped another's).
    const ratio = "(\\d+\\.\\d\\d|NaN)× \\((\\d+\\.\\d\\d|NaN)×\\)";
    expect(markdown).toMatch(new RegExp(`\\| broker: [^|]+\\| 100 ms \\| ${ratio} \\| ${ratio} \\| ≤ 1\\.2× \\|`));
    expect(said[0]).toMatch(/^cadence: a probe every 100 ms/);
  }, 60_000);

  test("a broker that is not there: one line, exit status 3", async () => {
    const port = await freePort();
    const bench = pingpong("bench", "latency", "--port", String(port), "--duration", "1s");
    expect(await bench.waitExit(30_000)).toBe(3);
    expect(bench.output()).toMatch(/^error: cannot reach localhost:\d+: /m);
  });

  const bad: Array<[string[], RegExp]> = [
    [["bench", "frobnicate"], /--scenario must be one of latency, pubsub, conn/],
    [["bench", "pubsub", "--size", "8"], /--size must be an integer from 16/],
    [["bench", "latency", "--url", "ws://localhost:1"], /bench speaks MQTT over TCP or TLS only/],
    [["bench", "pubsub", "--rate", "fast"], /--rate must be an integer/],
  ];
  for (const [args, message] of bad) {
    test(`${args.join(" ")} is a usage error (exit 2)`, async () => {
      const proc = pingpong(...args);
      expect(await proc.waitExit()).toBe(2);
      expect(proc.output()).toMatch(message);
    });
  }
});
