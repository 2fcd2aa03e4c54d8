// Which browser pages may open a WebSocket to the broker (--ws-origin). Pure: no I/O.
// Browsers send Origin on every WebSocket upgrade and let any page connect anywhere, loopback
// included; programs (MQTT.js in Node or Bun, mosquitto's tools) send none.

/** The origins let in: "*" (any page) or exact origins such as "https://dash.example:8443". */
export type AllowedOrigins = "*" | ReadonlySet<string>;

export class OriginError extends Error {}

/** Reads --ws-origin's comma-separated list; throws OriginError naming a bad entry. */
export function parseAllowedOrigins(list: string | undefined): AllowedOrigins {
  const allowed = new Set<string>();
  for (const entry of (list ?? "").split(",").map((item) => item.trim()).filter(Boolean)) {
    if (entry === "*") return "*";
    allowed.add(normalizeOrigin(entry));
  }
  return allowed;
}

/** scheme://host[:port] in lower case with the default port left out; "null" (file:, sandboxed pages) as is. */
function normalizeOrigin(origin: string): string {
  if (origin === "null") return origin;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new OriginError(`"${origin}" is not an origin (scheme://host[:port], "null" or "*")`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username) {
    throw new OriginError(`"${origin}" is not an origin: give scheme://host[:port] without a path`);
  }
  return url.origin === "null" ? `${url.protocol}//${url.host}` : url.origin;
}

/** Whether an upgrade with this Origin header (null: none, a program) may proceed. */
export function originAllowed(origin: string | null, allowed: AllowedOrigins): boolean {
  if (origin === null) return true;
  if (allowed === "*") return true;
  try {
    return allowed.has(normalizeOrigin(origin));
  } catch {
    return false;
  }
}
