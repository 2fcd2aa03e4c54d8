// Redis and cluster nodes for the cluster tests: a real redis-server on a free loopback port, and
// brokers of the compiled binary joined to it.
import { freePort, pingpong, Proc } from "./harness";
import { accepts, freePortRange } from "../../scripts/lib/net";

export { accepts, freePortRange };

export interface RedisServer {
  port: number;
  url: string;
  proc: Proc;
  /** Stops redis-server (SIGTERM, nothing saved) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const launch = async () => {
    const proc = new Proc(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    await proc.waitFor(/Ready to accept connections/);
    return proc;
  };
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: await launch(),
    async stop() {
      server.proc.kill("SIGTERM");
      await server.proc.waitExit(10_000);
    },
    async start() {
      server.proc = await launch();
    },
  };
  return server;
}

export interface ClusterNode {
  proc: Proc;
  port: number;
  url: string;
}

/** One broker joined to the cluster on `redisUrl`, waited for until it listens. */
export async function startNode(redisUrl: string, name: string, ...extra: string[]): Promise<ClusterNode> {
  const port = await freePort();
  const proc = pingpong("broker", "--port", String(port), "--cluster", redisUrl, "--node-name", name, ...extra);
  await proc.waitFor(/Broker listening on/, 15_000);
  return { proc, port, url: `mqtt://127.0.0.1:${port}` };
}
