import { ConnectionError } from "../clients/connection";
import { ExitCode } from "../core/exit-codes";
import { log } from "../log";

/** Runs a client role's start; a connection that cannot be made ends the process with status 3. */
export async function exitOnConnectionError<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ConnectionError) {
      log.error(error.message);
      process.exit(ExitCode.connection);
    }
    throw error;
  }
}
