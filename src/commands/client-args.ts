import type { ArgsDef } from "citty";
import { formatHostPort } from "../core/address";
import { UsageError } from "../core/usage-error";
import { DEFAULT_CONNECT_RETRY_MS, defaultClientId, type ConnectionOptions } from "../clients/connection";
import { durationFlag, parseChoiceFlag, parseIntegerFlag, portFlag, SESSION_NEVER_EXPIRES, sessionExpiryFlag } from "../core/flag-parsers";
import { readFlagFile } from "../flag-file";

/**
 * Flags every client subcommand shares (mosquitto's client_shared.c is the model), with mosquitto's
 * short forms where they exist: -h -p -i -u -P -k -V -x -d.
 */
export const connectionArgs = {
  url: { type: "string", description: "Broker URL: mqtt://, mqtts://, ws://, wss://host:port (overrides --host/--port); repeat it for the nodes of a cluster", valueHint: "url" },
  reconnect: { type: "boolean", description: "When the connection is lost, reconnect (to the next --url first) instead of exiting" },
  host: { type: "string", alias: "h", description: "Broker host", default: "localhost" },
  port: { type: "string", alias: "p", description: "Broker port", default: "10008" },
  "client-id": { type: "string", alias: "i", description: "Client id (default: unique per run)" },
  username: { type: "string", alias: "u", description: "User name" },
  password: { type: "string", alias: "P", description: "Password (better: MQTT_PASSWORD in the environment or --password-file)" },
  "password-file": { type: "string", description: "Read the password from this file (first line)", valueHint: "file" },
  keepalive: { type: "string", alias: "k", description: "Keep-alive interval in seconds", default: "60" },
  protocol: { type: "string", alias: "V", description: "MQTT version: 5 (falls back to 3.1.1 when refused) or 3.1.1", default: "5" },
  clean: { type: "boolean", description: "Start a clean session (--no-clean resumes a session kept under --client-id)", default: true },
  "session-expiry": { type: "string", alias: "x", description: "MQTT 5 session expiry: seconds, a duration, or 'never' (default with --no-clean: never)" },
  cafile: { type: "string", description: "TLS: trust the CA certificates in this PEM file (implies mqtts with --host)", valueHint: "file" },
  cert: { type: "string", description: "TLS: client certificate (PEM)", valueHint: "file" },
  key: { type: "string", description: "TLS: client private key (PEM)", valueHint: "file" },
  insecure: { type: "boolean", description: "TLS: do not verify the broker's certificate at all (like curl -k)" },
  "connect-timeout": { type: "string", description: "Give up connecting after this long (retries every 100ms)", default: "30s" },
  debug: { type: "boolean", alias: "d", description: "Debug output" },
  verbose: { type: "boolean", description: "Debug output (same as --debug)" },
} as const satisfies ArgsDef;

/** mosquitto_pub/mosquitto_sub's -c, for pub and sub (ping has its own -c, the count). */
export const keepSessionArg = {
  "disable-clean-session": { type: "boolean", description: "Keep the session for --client-id (same as --no-clean)" },
} as const satisfies ArgsDef;

type ConnectionArgValues = { [K in keyof typeof connectionArgs | keyof typeof keepSessionArg]?: string | boolean } & { url?: string | string[] };

/** citty keeps only the last of a repeated flag: give every --url (flagValues(rawArgs, args, "url")), in order. */
export function withEveryUrl<T extends ConnectionArgValues>(args: T, urls: string[]): T {
  return urls.length > 1 ? { ...args, url: urls } : args;
}

const PROTOCOLS = { "5": 5, "3.1.1": 4, mqttv5: 5, mqttv311: 4, "311": 4, "4": 4 } as const;

/** Turns the connection flags into options; reads the password and TLS files (unreadable: usage error). */
export function toConnectionOptions(args: ConnectionArgValues, role: string, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const tls = tlsOptions(args);
  const scheme = tls ? "mqtts" : "mqtt";
  const [url = `${scheme}://${formatHostPort(String(args.host), portFlag(args.port))}`, ...failoverUrls] = [args.url ?? []].flat().map((text) => checkUrl(String(text)));
  const protocol = parseChoiceFlag("protocol", String(args.protocol), Object.keys(PROTOCOLS) as (keyof typeof PROTOCOLS)[]);
  const clean = args.clean !== false && !args["disable-clean-session"];
  let sessionExpirySec = args["session-expiry"] === undefined ? undefined : sessionExpiryFlag(String(args["session-expiry"]));
  // As mosquitto's clients do: a session kept on purpose should outlive the connection under MQTT 5 too.
  if (!clean && sessionExpirySec === undefined) sessionExpirySec = SESSION_NEVER_EXPIRES;
  return {
    url,
    clientId: args["client-id"] ? String(args["client-id"]) : defaultClientId(role),
    username: args.username ? String(args.username) : undefined,
    password: passwordOf(args, env),
    keepaliveSec: parseIntegerFlag("keepalive", String(args.keepalive), 0, 65535),
    clean,
    sessionExpirySec,
    protocolVersion: PROTOCOLS[protocol],
    connectTimeoutMs: durationFlag("connect-timeout", String(args["connect-timeout"])),
    connectRetryMs: DEFAULT_CONNECT_RETRY_MS,
    tls,
    failoverUrls: failoverUrls.length > 0 ? failoverUrls : undefined,
    reconnect: args.reconnect === true,
  };
}

/** --password, else --password-file, else MQTT_PASSWORD: so a password need not be on a command line. */
function passwordOf(args: ConnectionArgValues, env: NodeJS.ProcessEnv): string | undefined {
  if (args.password) return String(args.password);
  if (args["password-file"]) return readFlagFile("password-file", String(args["password-file"])).toString("utf8").split(/\r?\n/)[0];
  return env.MQTT_PASSWORD || undefined;
}

function tlsOptions(args: ConnectionArgValues): ConnectionOptions["tls"] {
  const wanted = args.cafile || args.cert || args.key || args.insecure;
  const usesTlsUrl = [args.url ?? []].flat().some((url) => /^(mqtts|wss|ssl):/i.test(String(url)));
  if (!wanted && !usesTlsUrl) return undefined;
  if (Boolean(args.cert) !== Boolean(args.key)) throw new UsageError("--cert and --key go together");
  return {
    ca: args.cafile ? readFlagFile("cafile", String(args.cafile)) : undefined,
    cert: args.cert ? readFlagFile("cert", String(args.cert)) : undefined,
    key: args.key ? readFlagFile("key", String(args.key)) : undefined,
    rejectUnauthorized: !args.insecure,
  };
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
