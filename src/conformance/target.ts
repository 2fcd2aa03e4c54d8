/** Where the suite connects: parsed from --url. No I/O. */
import { urlHost, urlPort } from "../core/address";

export interface Target {
  url: string;
  host: string;
  port: number;
  tls: boolean;
  /** TLS: accept a certificate that does not verify (self-signed test brokers). */
  insecure: boolean;
  /** TLS: CA certificates (PEM) the server's certificate must chain to, instead of the system's. */
  ca?: Buffer;
}

export class TargetError extends Error {}

export function parseTarget(url: string, insecure = false, ca?: Buffer): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError(`"${url}" is not a URL (mqtt://host:port or mqtts://host:port)`);
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (scheme !== "mqtt" && scheme !== "mqtts" && scheme !== "tcp" && scheme !== "ssl") {
    throw new TargetError(`"${url}": the conformance suite speaks mqtt:// or mqtts://, not ${scheme}://`);
  }
  const tls = scheme === "mqtts" || scheme === "ssl";
  const port = urlPort(parsed);
  const host = urlHost(parsed);
  if (!host) throw new TargetError(`"${url}" has no host`);
  return { url, host, port, tls, insecure, ca };
}
