// The live web console (docs/console.md) on the HTTP listener: its state, its routes, and the line
// that tells where it is.
import { consoleAccess } from "../../core/http-access";
import { log } from "../../log";
import { httpListener, type HttpListenerOptions } from "../listeners/http";
import type { BrokerMetrics } from "../metrics";
import type { BrokerOptions, ListenerStarter } from "../server";
import { BrokerConsole } from "./console";
import { consoleRoutes } from "./routes";
import { ConsoleSessions, type ConsoleUsers } from "./session";

export interface ConsoleSetup {
  /** --http-host and --http-port: /healthz, /metrics and the console. */
  host: string;
  port: number;
  metrics: BrokerMetrics;
  /** The access-control options: with `users`, a user of the password file must log in. */
  access: ConsoleUsers;
  /** --console-admins: the users who may act; undefined: every user of the password file. */
  operators?: ReadonlySet<string>;
  /** /metrics' HTTP Basic check (src/broker/setup/options.ts), when it has one. */
  checkLogin?: HttpListenerOptions["checkLogin"];
  /** The topics `ping` and `echo` use: their round trips are charted while a page is open. */
  pingTopic?: string;
  pongTopic?: string;
}

/**
 * The HTTP listener with the console on it, the service that attaches the console to aedes, and the
 * address line. Off loopback without a password file (--http-allow-anonymous) there is no console:
 * it publishes, disconnects and deletes, so it is never open to anyone.
 */
export function httpWithConsole(setup: ConsoleSetup): { listener: ListenerStarter; service?: NonNullable<BrokerOptions["services"]>[number]; onListening: (addresses: string[]) => void } {
  if (consoleAccess(setup.host, setup.access.users !== undefined) === "none") {
    return {
      listener: httpListener({ host: setup.host, port: setup.port, metrics: setup.metrics, checkLogin: setup.checkLogin }),
      onListening: () => log.warn(`No web console on ${setup.host}: off loopback it needs --password-file.`),
    };
  }
  const console = new BrokerConsole({ metrics: setup.metrics, pingTopic: setup.pingTopic ?? "/ping", pongTopic: setup.pongTopic ?? "/pong" });
  const routes = consoleRoutes(console, new ConsoleSessions(setup.access, setup.operators), setup.host);
  return {
    listener: httpListener({ host: setup.host, port: setup.port, metrics: setup.metrics, checkLogin: setup.checkLogin, console: routes }),
    service: console.attach,
    onListening(addresses) {
      console.listeners = addresses;
      const http = addresses.find((address) => address.startsWith("http://"));
      if (http) log.info(`Web console: ${http}/`);
    },
  };
}
