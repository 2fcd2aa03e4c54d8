// Binding one listener on every address its host stands for, shared by TCP, TLS, WebSocket and HTTP.
import net from "node:net";
import { formatHostPort, listenAddresses } from "../../core/address";
import { log } from "../../log";

/** A listener could not bind: the command turns this into one line and exit status 4. */
export class ListenError extends Error {
  constructor(
    readonly address: string,
    readonly code: string,
  ) {
    super(`cannot listen on ${address}: ${describeListenCode(code)}`);
  }
}

function describeListenCode(code: string): string {
  switch (code) {
    case "EADDRINUSE":
      return "address already in use";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EADDRNOTAVAIL":
      return "address not available on this machine";
    default:
      return code;
  }
}

/** Address families this machine may simply lack (no IPv6): skipped when the user said "localhost". */
const MISSING_FAMILY_CODES = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT", "EPROTONOSUPPORT"]);

export interface Bound {
  /** The port actually bound (the system's choice for port 0). */
  port: number;
  close(): Promise<void>;
}

/** A running listener: where it listens, and how to stop it. */
export interface Listener {
  /** Every address bound, e.g. 127.0.0.1:10008 and [::1]:10008 (with a scheme for non-TCP listeners). */
  readonly addresses: string[];
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds `bindOne` on each address `host` stands for ("localhost": 127.0.0.1 and ::1), all on one port:
 * the first bind picks it when `port` is 0. A machine without IPv6 loses only the optional ::1.
 * Throws ListenError after undoing what was bound.
 */
export async function bindAll(
  host: string,
  port: number,
  bindOne: (host: string, port: number) => Promise<Bound>,
  /** How an address is shown, e.g. with its scheme: ws://127.0.0.1:8083/mqtt. */
  describe = (hostPort: string) => hostPort,
): Promise<Listener> {
  const bound: Bound[] = [];
  const addresses: string[] = [];
  try {
    for (const [index, address] of listenAddresses(host).entries()) {
      const optional = host === "localhost" && index > 0;
      try {
        const one = await bindOne(address, port);
        port = one.port;
        bound.push(one);
        addresses.push(describe(formatHostPort(address, port)));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
        if (optional && MISSING_FAMILY_CODES.has(code)) {
          log.debug(`not listening on ${formatHostPort(address, port)}: ${code}`);
          continue;
        }
        throw new ListenError(describe(formatHostPort(address, port)), code);
      }
    }
  } catch (error) {
    await Promise.all(bound.map((one) => one.close()));
    throw error;
  }
  return { addresses, port, close: async () => void (await Promise.all(bound.map((one) => one.close()))) };
}

/** Binds a node:net (or node:tls) server; resolves with the bound port and a close that waits for it. */
export function listenNet(server: net.Server, host: string, port: number): Promise<Bound> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
