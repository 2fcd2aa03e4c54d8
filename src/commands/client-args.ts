import type { ArgsDef } from "citty";
import { parsePort } from "../core/address";
import { parseChoiceFlag, parseIntegerFlag, UsageError } from "../core/usage-error";
import { DEFAULT_CONNECT_RETRY_MS, defaultClientId, type ConnectionOptions } from "../clients/connection";
import { durationFlag } from "./common-args";

/** Flags every client subcommand shares (mosquitto's client_shared.c is the model). */
export const connectionArgs = {
  url: { type: "string", description: "Broker URL: mqtt://host:port (overrides --host/--port)", valueHint: "url" },
  host: { type: "string", alias: "h", description: "Broker host", default: "localhost" },
  port: { type: "string", alias: "p", description: "Broker port", default: "10008" },
  "client-id": { type: "string", alias: "i", description: "Client id (default: unique per run)" },
  username: { type: "string", alias: "u", description: "User name" },
  password: { type: "string", alias: "P", description: "Password (or MQTT_PASSWORD in the environment)" },
  keepalive: { type: "string", alias: "k", description: "Keep-alive interval in seconds", default: "60" },
  protocol: { type: "string", alias: "V", description: "MQTT version: 5 (falls back to 3.1.1) or 3.1.1", default: "5" },
  "connect-timeout": { type: "string", description: "Give up connecting after this long (retries every 100ms)", default: "30s" },
  verbose: { type: "boolean", description: "Debug output" },
} as const satisfies ArgsDef;

type ConnectionArgValues = { [K in keyof typeof connectionArgs]?: string | boolean };

const PROTOCOLS = { "5": 5, "3.1.1": 4, "311": 4, "4": 4 } as const;

export function toConnectionOptions(args: ConnectionArgValues, role: string): ConnectionOptions {
  const url = args.url ? checkUrl(String(args.url)) : `mqtt://${bracketHost(String(args.host))}:${portFlag(args.port)}`;
  const protocol = parseChoiceFlag("protocol", String(args.protocol), Object.keys(PROTOCOLS) as (keyof typeof PROTOCOLS)[]);
  return {
    url,
    clientId: args["client-id"] ? String(args["client-id"]) : defaultClientId(role),
    username: args.username ? String(args.username) : undefined,
    password: args.password ? String(args.password) : process.env.MQTT_PASSWORD || undefined,
    keepaliveSec: parseIntegerFlag("keepalive", String(args.keepalive), 0, 65535),
    clean: true,
    protocolVersion: PROTOCOLS[protocol],
    connectTimeoutMs: durationFlag("connect-timeout", String(args["connect-timeout"])),
    connectRetryMs: DEFAULT_CONNECT_RETRY_MS,
  };
}

export function portFlag(value: unknown): number {
  try {
    return parsePort(String(value));
  } catch (error) {
    throw new UsageError(`--port: ${(error as Error).message}`);
  }
}

function bracketHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

const URL_SCHEMES = new Set(["mqtt:", "mqtts:", "ws:", "wss:", "tcp:", "ssl:"]);

function checkUrl(text: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new UsageError(`--url: "${text}" is not a URL (use mqtt://host:port)`);
  }
  if (!URL_SCHEMES.has(parsed.protocol)) {
    throw new UsageError(`--url: unsupported scheme "${parsed.protocol}" (use mqtt, mqtts, ws or wss)`);
  }
  if (!parsed.hostname) throw new UsageError(`--url: "${text}" has no host`);
  return text;
}
