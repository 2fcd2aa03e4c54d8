// Ports on loopback, for the scripts and the tests: one free-port finder, one readiness check.
import { createServer } from "node:net";

/** Whether nothing listens on `port` on 127.0.0.1 and ::1 (a machine without ::1 counts as free there). */
export async function isPortFree(port: number): Promise<boolean> {
  const free = await Promise.all(
    ["127.0.0.1", "::1"].map(
      (host) =>
        new Promise<boolean>((resolve) => {
          const server = createServer();
          server.once("error", (error: NodeJS.ErrnoException) => resolve(host === "::1" && error.code !== "EADDRINUSE"));
          server.listen({ host, port }, () => server.close(() => resolve(true)));
        }),
    ),
  );
  return free.every(Boolean);
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1 and ::1 (our broker binds both for "localhost").
 * Taken at random below Linux's ephemeral range (32768 and up), where the kernel also hands out the
 * source ports of outgoing connections and the "port 0" of every other test process running beside
 * this one, so a port picked here is not taken again by either before it is bound.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = FIRST_PORT + Math.floor(Math.random() * PORT_COUNT);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await isPortFree(port)) return port;
  }
}

/**
 * The first of `count` consecutive ports, each free a moment ago on 127.0.0.1 and ::1 (for
 * `cluster --base-port`), from the same range as freePort and never handed out twice either.
 */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = FIRST_PORT + Math.floor(Math.random() * (PORT_COUNT - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    for (const port of ports) handedOut.add(port);
    const free = await Promise.all(ports.map(isPortFree));
    if (free.every(Boolean)) return base;
  }
}

const FIRST_PORT = 20_000;
const PORT_COUNT = 12_000;
/** Ports this process has already handed out: never twice, even after their listener closed. */
const handedOut = new Set<number>();

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.end();
          resolve(true);
        },
        connectError: () => resolve(false),
        data() {},
      },
    }).catch(() => resolve(false));
  });
}

/**
 * Polls until something accepts on 127.0.0.1:port and returns when it did (performance.now());
 * throws at the deadline.
 */
export async function waitForPort(port: number, { timeoutMs = 10_000, pollMs = 10 } = {}): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await accepts(port)) return performance.now();
    if (performance.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await Bun.sleep(pollMs);
  }
}
