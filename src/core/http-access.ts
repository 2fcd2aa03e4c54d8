/**
 * Who may use the HTTP listener (--http-port), from --http-host, --password-file and
 * --http-allow-anonymous: the MQTT listeners' rule (off loopback, authentication or an explicit
 * "anyone") applied to /metrics and to the web console. No I/O here.
 */
import { isLoopback } from "./address";

/** /metrics: open to anyone, for a user of the password file, or not served at all (the broker refuses to start). */
export function metricsAccess(host: string, hasPasswordFile: boolean, allowAnonymous: boolean): "open" | "login" | "refused" {
  if (allowAnonymous) return "open";
  if (hasPasswordFile) return "login";
  return isLoopback(host) ? "open" : "refused";
}

/**
 * The console publishes, disconnects and deletes, so --http-allow-anonymous never opens it: off
 * loopback it is served only behind a login.
 */
export function consoleAccess(host: string, hasPasswordFile: boolean): "open" | "login" | "none" {
  if (hasPasswordFile) return "login";
  return isLoopback(host) ? "open" : "none";
}
