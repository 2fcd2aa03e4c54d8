import { ConnectionError, type Connection, type FailoverEvent } from "../clients/connection";
import { formatMs } from "../core/duration";
import { ExitCode } from "../core/exit-codes";
import { log } from "../log";
import { onShutdownSignal } from "./shutdown-signal";

/** Runs a client role's start; a connection that cannot be made ends the process with status 3. */
export async function exitOnConnectionError<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ConnectionError) {
      log.error(error.message);
      process.exit(ExitCode.connection);
    }
    // MQTT.js fails a SUBSCRIBE still waiting for its SUBACK this way when the connection drops.
    if (error instanceof Error && error.message === "Connection closed") {
      log.error("connection lost before the broker acknowledged the subscription");
      process.exit(ExitCode.connection);
    }
    throw error;
  }
}

/**
 * --reconnect: one line when the connection drops and one when it is back, on whichever broker.
 * `detail` adds what the role knows about the gap (ping: the probes sent meanwhile).
 */
export function logFailover(connection: Connection, detail?: (event: FailoverEvent) => string): void {
  connection.onFailover((event) => {
    const more = detail?.(event) ?? "";
    if (event.kind === "lost") log.warn(lostLine(event.reason, more));
    else log.info(restoredLine(event.target, event.downMs, more));
  });
}

export const lostLine = (reason: string, more = "") => `${reason[0]!.toUpperCase()}${reason.slice(1)}; reconnecting${more}.`;
export const restoredLine = (target: string, downMs: number, more = "") => `Reconnected to ${target} after ${formatMs(downMs)}${more}.`;

/** How a client command ends; the defaults are what echo and pub do. */
export interface ClientEnding {
  /** The connection was lost for good; default: its one line, then exit status 3. */
  lost?(reason: string): void | Promise<void>;
  /** The first Ctrl-C or SIGTERM; default: close the role, then exit status 0. null: the command handles signals itself. */
  stop?: (() => void | Promise<void>) | null;
}

/** Ends a running client role on a lost connection or a signal, as every client command does. */
export function endOnLostOrSignal(role: { connection: Connection; close?(): Promise<void> }, ending: ClientEnding = {}): void {
  role.connection.onLost(
    ending.lost ??
      ((reason) => {
        log.error(reason);
        process.exit(ExitCode.connection);
      }),
  );
  if (ending.stop === null) return;
  onShutdownSignal(
    ending.stop ??
      (async () => {
        await role.close?.();
        process.exit(ExitCode.ok);
      }),
  );
}
