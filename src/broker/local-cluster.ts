import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** N broker processes of this same executable on one machine, joined over one Redis. */
export interface LocalClusterOptions {
  /** How to run this executable: [binary] when compiled, [bun, script] from source. */
  self: string[];
  nodes: number;
  basePort: number;
  host: string;
  redisUrl: string;
  /** Extra broker flags for every node (e.g. --verbose). */
  brokerArgs?: string[];
  /** Each output line of a node, stdout or stderr, as it comes. */
  onLine(port: number, line: string, stream: "stdout" | "stderr"): void;
  /** A node ended by itself (not by close()). */
  onExit(port: number, status: number): void;
}

export interface LocalClusterHandle {
  readonly ports: number[];
  /** Resolves once every node listens; rejects with the first node that exited before. */
  readonly ready: Promise<void>;
  /** SIGTERM to every node (SIGKILL after killAfterMs); resolves when all have exited. */
  close(killAfterMs?: number): Promise<void>;
  /** SIGHUP to every node that listens (each reloads its files); how many got it. */
  reload(): number;
}

/** A node exited before it listened (port in use: 4, Redis unreachable: 5, ...). */
export class NodeStartError extends Error {
  constructor(
    readonly port: number,
    readonly status: number,
  ) {
    super(`node on port ${port} exited with status ${status} before listening`);
  }
}

export function startLocalCluster(options: LocalClusterOptions): LocalClusterHandle {
  const ports = Array.from({ length: options.nodes }, (_, i) => options.basePort + i);
  let closing = false;
  const children: ChildProcess[] = [];
  // A node handles SIGHUP once it listens; before, the signal would end it.
  const listeningChildren = new Set<ChildProcess>();
  const exits: Promise<void>[] = [];
  const listening: Promise<void>[] = [];

  for (const port of ports) {
    const args = ["broker", "--host", options.host, "--port", String(port), "--cluster", options.redisUrl, "--node-name", `node-${port}`, ...(options.brokerArgs ?? [])];
    // Own process group: a terminal's Ctrl-C reaches only this supervisor, which stops the nodes once.
    const child = spawn(options.self[0]!, [...options.self.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.push(child);
    let started = false;
    listening.push(
      new Promise<void>((resolve, reject) => {
        for (const stream of ["stdout", "stderr"] as const) {
          createInterface({ input: child[stream]! }).on("line", (line) => {
            if (!started && /^Broker listening on /.test(line)) {
              started = true;
              listeningChildren.add(child);
              resolve();
            }
            options.onLine(port, line, stream);
          });
        }
        child.once("exit", (code, signal) => {
          const status = code ?? (signal ? 128 : 1);
          if (!started) reject(new NodeStartError(port, status));
          else if (!closing) options.onExit(port, status);
        });
      }),
    );
    exits.push(new Promise((resolve) => child.once("close", () => resolve())));
  }

  const close = async (killAfterMs = 10_000) => {
    closing = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }, killAfterMs);
    await Promise.all(exits);
    clearTimeout(timer);
  };

  const reload = () => {
    let sent = 0;
    for (const child of listeningChildren) {
      if (child.exitCode === null && child.signalCode === null && child.kill("SIGHUP")) sent++;
    }
    return sent;
  };

  const ready = Promise.all(listening).then(() => undefined);
  // Unheard rejections would end the process before the command can report them.
  ready.catch(() => {});
  return { ports, ready, close, reload };
}
