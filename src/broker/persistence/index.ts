import type { PersistenceTarget } from "../../core/persistence-target";
import { SqlitePersistence } from "./sqlite";

/** The persistence could not be opened: the command turns this into one line and exit status 2. */
export class PersistenceError extends Error {}

/** Opens the store --persistence names; undefined means aedes's default, in memory. */
export function openPersistence(target: PersistenceTarget): SqlitePersistence | undefined {
  if (target.kind === "memory") return undefined;
  try {
    const persistence = new SqlitePersistence(target.path);
    return persistence;
  } catch (error) {
    const reason = (error as Error).message.replace(/^SQLITE_\w+: /, "");
    throw new PersistenceError(`cannot open ${target.path} as an SQLite database: ${reason}`);
  }
}
