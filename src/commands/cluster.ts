import { defineCommand } from "citty";
import { NodeStartError, startLocalCluster } from "../broker/local-cluster";
import { parseRedisUrl } from "../core/cluster";
import { ExitCode } from "../core/exit-codes";
import { UsageError } from "../core/usage-error";
import { log, setLogLevel } from "../log";
import { onShutdownSignal } from "./shutdown-signal";
import { onReloadSignal } from "./reload-signal";
import { parseIntegerFlag } from "../core/flag-parsers";

/** How to start this same program again: the compiled binary alone, or bun with the script. */
function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || /^[A-Z]:\\~BUN\\/.test(Bun.main);
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

export default defineCommand({
  meta: { name: "cluster", description: "Run N broker processes on this machine as one cluster over Redis" },
  args: {
    nodes: { type: "string", description: "How many broker processes (one per core is a good start)", default: "2" },
    "base-port": { type: "string", description: "Port of the first node; node i listens on base-port + i", default: "10008" },
    redis: { type: "string", description: "Redis shared by the nodes: redis://host:port[/db]", default: "redis://127.0.0.1:6379" },
    host: { type: "string", description: 'Address every node listens on ("localhost": 127.0.0.1 and ::1 only)', default: "localhost" },
    verbose: { type: "boolean", alias: "v", description: "Nodes log every publish (debug)" },
  },
  async run({ args, rawArgs }) {
    setLogLevel({ verbose: args.verbose });
    const nodes = parseIntegerFlag("nodes", String(args.nodes), 1, 64);
    const basePort = parseIntegerFlag("base-port", String(args["base-port"]), 1, 65536 - nodes);
    const redisUrl = String(args.redis);
    try {
      parseRedisUrl(redisUrl);
    } catch (error) {
      throw new UsageError(`--redis: ${(error as Error).message}`);
    }

    const cluster = startLocalCluster({
      self: selfCommand(),
      nodes,
      basePort,
      host: String(args.host),
      redisUrl,
      // Whatever follows `--` goes to every node's broker (e.g. -- --password-file passwd --sys-interval 5s).
      brokerArgs: [...(args.verbose ? ["--verbose"] : []), ...(rawArgs.includes("--") ? rawArgs.slice(rawArgs.indexOf("--") + 1) : [])],
      onLine: (port, line, stream) => (stream === "stdout" ? process.stdout : process.stderr).write(`[${port}] ${line}\n`),
      onExit: (port, status) => log.warn(`Node on port ${port} exited with status ${status}; the others go on.`),
    });
    // Each node reloads its own files (they run in their own process group, so only we can tell them).
    onReloadSignal(() => log.info(`SIGHUP: sent to ${cluster.reload()} of ${nodes} nodes.`));
    let stopping = false;
    onShutdownSignal(async (signal) => {
      stopping = true;
      log.info(`${signal}: stopping ${nodes} nodes.`);
      await cluster.close();
      log.info("Cluster stopped.");
      process.exit(ExitCode.ok);
    });
    try {
      await cluster.ready;
    } catch (error) {
      if (!(error instanceof NodeStartError) || stopping) throw error;
      // One node could not start (port in use: 4, Redis unreachable: 5): stop the rest, exit as it did.
      await cluster.close();
      log.error(`${error.message}; stopped the other nodes.`);
      process.exit(error.status);
    }
    log.info(`Cluster of ${nodes} node${nodes === 1 ? "" : "s"} on ports ${cluster.ports[0]}-${cluster.ports.at(-1)} over Redis ${parseRedisUrl(redisUrl).display} is up.`);
  },
});
