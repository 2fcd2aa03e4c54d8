/** Pure rules of the Redis cluster: which Redis URL, which node id, which nodes are alive. No I/O here. */
import { urlHost } from "./address";

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** host:port/db without credentials, for messages and $SYS. */
  display: string;
}

/** Parses --cluster: redis://[user:password@]host[:port][/db] or rediss:// for TLS. */
export function parseRedisUrl(text: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new RangeError(`"${text}" is not a URL (use redis://host:port[/db])`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new RangeError(`unsupported scheme "${parsed.protocol}" (use redis:// or rediss://)`);
  }
  if (!parsed.hostname) throw new RangeError(`"${text}" has no host`);
  const dbText = parsed.pathname.replace(/^\//, "");
  if (dbText !== "" && !/^\d+$/.test(dbText)) throw new RangeError(`database "${dbText}" must be a number, as in redis://host:6379/0`);
  const port = parsed.port ? Number(parsed.port) : 6379;
  const db = dbText === "" ? 0 : Number(dbText);
  const host = urlHost(parsed);
  return {
    host,
    port,
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === "rediss:",
    display: `${parsed.hostname}:${port}/${db}`,
  };
}

/**
 * A node id names one broker process for one run. aedes keys Redis entries by it (packet:<id>:<counter>
 * with a counter that restarts at 1), so a restarted process must never reuse an old id: the random
 * suffix sees to that. ':' splits aedes-persistence-redis keys and '/', '+', '#' split $SYS topics.
 */
export function makeNodeId(name: string, randomHex: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "node";
  return `${safe}-${randomHex}`;
}

/** aedes's own liveness rule: a broker is gone once three heartbeats were missed. */
export function aliveNodes(lastSeenMs: ReadonlyMap<string, number>, nowMs: number, heartbeatMs: number): string[] {
  const alive: string[] = [];
  for (const [id, seenMs] of lastSeenMs) if (nowMs - seenMs <= 3 * heartbeatMs) alive.push(id);
  return alive.sort();
}
