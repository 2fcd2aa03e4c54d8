import net from "node:net";
import { Aedes, type AedesOptions, type Client } from "aedes";
import { formatHostPort, listenAddresses } from "../core/address";
import { describePayload } from "../core/payload";
import { logLimitEvents, protocolOptions, type ProtocolLimits } from "./protocol-options";
import { isDebugEnabled, log } from "../log";
import { guardProtocol } from "./protocol-guard";

export interface BrokerOptions {
  host: string;
  port: number;
  /** Protocol limits (defaults: DEFAULT_PROTOCOL_LIMITS). */
  limits?: ProtocolLimits;
  /** Extra aedes options (limits, hooks); the broker role owns the listeners. */
  aedes?: AedesOptions;
}

export interface BrokerHandle {
  readonly aedes: Aedes;
  /** Every address actually bound, e.g. 127.0.0.1:10008 and [::1]:10008. */
  readonly addresses: string[];
  readonly port: number;
  /** Stops accepting, closes every client, and resolves when all is shut. */
  close(): Promise<void>;
}

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

export async function startBroker(options: BrokerOptions): Promise<BrokerHandle> {
  const aedes = await Aedes.createBroker({ ...protocolOptions(options.limits), ...options.aedes });
  attachLogging(aedes);
  logLimitEvents(aedes);

  const servers: net.Server[] = [];
  const addresses: string[] = [];
  const sockets = new Set<net.Socket>();
  let port = options.port;
  try {
    const hosts = listenAddresses(options.host);
    for (const [index, host] of hosts.entries()) {
      const optional = options.host === "localhost" && index > 0;
      const server = net.createServer({ noDelay: true }, (socket) => {
        // Nagle would hold small MQTT packets back ~40 ms; every round trip pays for it.
        socket.setNoDelay(true);
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        guardProtocol(aedes.handle(socket));
      });
      try {
        port = await listen(server, host, port);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
        if (optional && MISSING_FAMILY_CODES.has(code)) {
          log.debug(`not listening on ${formatHostPort(host, port)}: ${code}`);
          continue;
        }
        throw new ListenError(formatHostPort(host, port), code);
      }
      servers.push(server);
      addresses.push(formatHostPort(host, port));
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await new Promise((resolve) => aedes.close(() => resolve(undefined)));
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const stopped = Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      await new Promise((resolve) => aedes.close(() => resolve(undefined)));
      // Sockets that never sent CONNECT are not aedes clients yet; close them too.
      for (const socket of sockets) socket.destroy();
      await stopped;
    })());

  return { aedes, addresses, port, close };
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function clientName(client: Client | null): string {
  return client ? client.id : "(broker)";
}

function attachLogging(aedes: Aedes): void {
  aedes.on("client", (client) => log.info(`Client ${client.id} connected.`));
  aedes.on("clientDisconnect", (client) => log.info(`Client ${client.id} disconnected.`));
  aedes.on("subscribe", (subscriptions, client) => {
    for (const subscription of subscriptions) {
      log.info(`Client ${clientName(client)} subscribed to ${subscription.topic} (QoS ${subscription.qos}).`);
    }
  });
  aedes.on("unsubscribe", (topics, client) => {
    // aedes also "unsubscribes" a clean session as it closes; only log what the client asked for.
    if (client && !client.closed) log.info(`Client ${client.id} unsubscribed from ${topics.join(", ")}.`);
  });
  aedes.on("clientError", (client, error) => log.debug(`Client ${client.id}: ${error.message}`));
  aedes.on("connectionError", (_client, error) => log.debug(`Connection error: ${error.message}`));
  // The per-message listener exists only with --verbose, so the message path pays nothing otherwise.
  if (isDebugEnabled()) {
    aedes.on("publish", (packet, client) => {
      if (!client) return; // the broker's own $SYS heartbeats
      log.debug(`Client ${client.id} published ${describePayload(packet.payload as Buffer)} on ${packet.topic} (QoS ${packet.qos}).`);
    });
  }
}
