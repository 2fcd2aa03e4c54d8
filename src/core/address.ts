/** Which addresses a listener binds, and how to show host:port. No I/O here. */

/** "localhost" means loopback only: 127.0.0.1, and ::1 where the machine has it. */
export function listenAddresses(host: string): string[] {
  if (host === "localhost") return ["127.0.0.1", "::1"];
  return [host];
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** host:port, an IPv6 address in brackets (once: a host given bracketed stays as it is). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

const DEFAULT_PORTS: Record<string, number> = { "mqtt:": 1883, "tcp:": 1883, "mqtts:": 8883, "ssl:": 8883, "ws:": 80, "wss:": 443 };

/** A broker URL's port: the one it names, else its scheme's registered one (1883 for an unknown scheme). */
export function urlPort(url: URL): number {
  return url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 1883);
}

/** A URL's host as a socket takes it: an IPv6 address without the URL's brackets. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** Parses a TCP port: an integer 0..65535 (0 lets the system choose). */
export function parsePort(text: string | number): number {
  const port = typeof text === "number" ? text : Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || String(text).trim() === "") {
    throw new RangeError(`invalid port "${text}" (use 0..65535)`);
  }
  return port;
}
