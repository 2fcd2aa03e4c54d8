/** Where --persistence keeps the broker's state. No I/O here: the command opens it. */
export type PersistenceTarget = { kind: "memory" } | { kind: "sqlite"; path: string };

/**
 * "memory" (the default), a file path, `sqlite:PATH`, `sqlite://PATH` or `file:PATH` / `file:///PATH`:
 * an SQLite file. Anything else that looks like a URL (redis://, mongodb://) is refused by name.
 */
export function parsePersistenceTarget(text: string): PersistenceTarget {
  const value = text.trim();
  if (value === "") throw new RangeError("needs a file path (or sqlite:PATH)");
  if (value === "memory") return { kind: "memory" };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  // A Windows drive letter ("C:\...") is a path, not a scheme.
  if (!scheme || /^[a-zA-Z]:[\\/]/.test(value)) return { kind: "sqlite", path: value };
  if (scheme === "sqlite" || scheme === "file") {
    let rest = value.slice(scheme.length + 1);
    if (rest.startsWith("//")) {
      rest = rest.slice(2);
      // file://host/path: only the local host is meaningful.
      const slash = rest.indexOf("/");
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (scheme === "file" && host !== "" && host !== "localhost") throw new RangeError(`"${text}" names another host; use a local path`);
      if (scheme === "file") rest = slash < 0 ? "" : rest.slice(slash);
    }
    let path: string;
    try {
      path = decodeURIComponent(rest);
    } catch {
      throw new RangeError(`"${text}" is not a valid URL (bad %-escape)`);
    }
    if (path === "") throw new RangeError(`"${text}" has no file path`);
    return { kind: "sqlite", path };
  }
  throw new RangeError(`unsupported scheme "${scheme}:" in "${text}" (use a file path, sqlite:PATH or file:PATH)`);
}
