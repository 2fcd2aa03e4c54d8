// The cluster scenario of `npm run bench`: 1, 2 and 3 `broker --cluster` processes over one local
// redis-server, measured with the same generator (`mqtt-pingpong bench`) as the single process.
import { freePort, waitForPort } from "../net";

export interface ClusterBenchOptions {
  /** The compiled ./mqtt-pingpong. */
  binary: string;
  /** Node counts to measure, e.g. [1, 2, 3]. */
  nodeCounts: number[];
  /** --duration/--warmup for each generator run. */
  timing: string[];
  protocol: string;
  say(text: string): void;
}

export interface ClusterBenchRun {
  nodes: number;
  /** Sum over the generators, one per node, each publishing to and subscribing on its own node. */
  messagesPerSec: number;
  perNodeMessagesPerSec: number[];
  lost: number;
  /** One connection on node 1 pinging itself through the cluster (client -> node -> Redis -> node -> client). */
  rttP50Ms: number;
  rttP99Ms: number;
}

interface Running {
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
}

async function start(argv: string[], port: number): Promise<Running> {
  const proc = Bun.spawn(argv, { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
  await waitForPort(port, { timeoutMs: 15_000 });
  return { port, proc };
}

async function stop(running: Running[]): Promise<void> {
  for (const { proc } of running) proc.kill("SIGTERM");
  const timer = setTimeout(() => running.forEach(({ proc }) => proc.kill("SIGKILL")), 5_000);
  await Promise.all(running.map(({ proc }) => proc.exited));
  clearTimeout(timer);
}

async function generator(binary: string, argv: string[]): Promise<Record<string, any>> {
  const proc = Bun.spawn([binary, "bench", ...argv, "--json"], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`bench ${argv.join(" ")} exited ${code}: ${stderr.trim()}`);
  return JSON.parse(line);
}

/** One run of every node count: a fresh Redis and fresh nodes each time. */
export async function benchCluster(options: ClusterBenchOptions): Promise<ClusterBenchRun[]> {
  const runs: ClusterBenchRun[] = [];
  for (const nodes of options.nodeCounts) {
    const redisPort = await freePort();
    const redis = await start(["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], redisPort);
    const brokers: Running[] = [];
    try {
      for (let i = 0; i < nodes; i++) {
        const port = await freePort();
        brokers.push(
          await start([options.binary, "broker", "--host", "127.0.0.1", "--port", String(port), "--cluster", `redis://127.0.0.1:${redisPort}`, "--node-name", `bench-${i + 1}`], port),
        );
      }
      const urlOf = (broker: Running) => ["--url", `mqtt://127.0.0.1:${broker.port}`, "--protocol", options.protocol];
      const latency = await generator(options.binary, ["latency", "--qos", "0", ...options.timing, ...urlOf(brokers[0]!)]);
      const flows = await Promise.all(brokers.map((broker) => generator(options.binary, ["pubsub", "--qos", "0", "--size", "16", ...options.timing, ...urlOf(broker)])));
      const run: ClusterBenchRun = {
        nodes,
        messagesPerSec: flows.reduce((sum, flow) => sum + flow.messagesPerSec, 0),
        perNodeMessagesPerSec: flows.map((flow) => flow.messagesPerSec),
        lost: flows.reduce((sum, flow) => sum + (flow.lost ?? 0), 0),
        rttP50Ms: latency.latency.p50Us / 1000,
        rttP99Ms: latency.latency.p99Us / 1000,
      };
      options.say(`cluster ${nodes} node(s): ${Math.round(run.messagesPerSec)} msg/s in total, RTT p50 ${run.rttP50Ms.toFixed(3)} ms, p99 ${run.rttP99Ms.toFixed(3)} ms, lost ${run.lost}`);
      runs.push(run);
    } finally {
      await stop(brokers);
      await stop([redis]);
    }
  }
  return runs;
}
