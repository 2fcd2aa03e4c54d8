/** Where the suite connects: parsed from --url. No I/O. */
import { urlHost, urlPort } from "../core/address";

export interface Target {
  url: string;
  host: string;
  port: number;
  tls: boolean;
  /** ws:// or wss://: MQTT over WebSocket, at this path (the URL's, "/mqtt" when it has none, as MQTT.js). */
  webSocketPath?: string;
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
    throw new TargetError(`"${url}" is not a URL (mqtt://, mqtts://, ws:// or wss://host:port)`);
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (!["mqtt", "mqtts", "tcp", "ssl", "ws", "wss"].includes(scheme)) {
    throw new TargetError(`"${url}": the conformance suite speaks mqtt://, mqtts://, ws:// or wss://, not ${scheme}://`);
  }
  const tls = scheme === "mqtts" || scheme === "ssl" || scheme === "wss";
  const port = urlPort(parsed);
  const host = urlHost(parsed);
  if (!host) throw new TargetError(`"${url}" has no host`);
  const webSocket = scheme === "ws" || scheme === "wss";
  return { url, host, port, tls, insecure, ca, ...(webSocket && { webSocketPath: parsed.pathname && parsed.pathname !== "/" ? parsed.pathname : "/mqtt" }) };
}
