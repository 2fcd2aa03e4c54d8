// The broker's flags (citty definitions): `broker` declares them, --config reads the same names,
// and options.ts turns their values into the broker's options.
import { DEFAULT_PROTOCOL_LIMITS as limitDefaults } from "../protocol-options";
import { identityArgs } from "./identity-args";
import { DEFAULT_RESOURCE_LIMITS as resourceDefaults } from "../resource-limits";

/** Protocol limits (MQTT 3.1.1 and 5.0); see src/broker/protocol-options.ts. */
export const protocolLimitArgs = {
  "max-connections": { type: "string", description: "Clients connected at once; more are refused (0: no limit)", default: String(limitDefaults.maxConnections) },
  "max-packet-size": { type: "string", description: "Largest packet accepted, bytes (told to MQTT 5 clients)", default: String(limitDefaults.maxPacketSize) },
  "max-inflight": { type: "string", description: "Unacknowledged QoS 1/2 messages per client, each way (MQTT 5 Receive Maximum)", default: String(limitDefaults.maxInflight) },
  "idle-timeout": { type: "string", description: "Close a socket that sends no CONNECT within this long", default: `${limitDefaults.connectTimeoutMs / 1000}s` },
  "max-keepalive": { type: "string", description: "Largest keep-alive, seconds; MQTT 5 clients are told it (0: no cap)", default: String(limitDefaults.maxKeepaliveSec) },
  "max-topic-alias": { type: "string", description: "MQTT 5 topic aliases per connection, each way (0: none)", default: String(limitDefaults.maxTopicAlias) },
} as const;

/** Durability, slow consumers and shutdown; see docs/operations.md. */
export const reliabilityArgs = {
  persistence: { type: "string", description: "Keep retained messages, subscriptions and sessions in this SQLite file (or sqlite:PATH, file:PATH); default: memory only", valueHint: "path" },
  "max-queued": { type: "string", description: "Messages waiting for one client; beyond it QoS 0 is dropped for it and QoS 1/2 publishers wait; an offline session keeps no more (0: no limit)", default: "1000" },
  "max-queued-bytes": { type: "string", description: "Bytes waiting for one client, or kept for an offline session; beyond it the same as --max-queued (0: no limit)", default: String(16 * 1024 * 1024) },
  "slow-consumer-timeout": { type: "string", description: "Disconnect a client whose queue or socket stays full this long", default: "30s" },
  "drain-timeout": { type: "string", description: "On SIGTERM or Ctrl-C, time to deliver the messages in flight before closing", default: "5s" },
} as const;

/** What one client can make the broker keep (src/broker/resource-limits.ts, docs/security.md "Limits"). */
export const resourceLimitArgs = {
  "max-subscriptions": { type: "string", description: "Subscriptions per client; more are refused in the SUBACK (0x97; 3.1.1: 0x80) (0: no limit)", default: String(resourceDefaults.maxSubscriptions) },
  "max-retained": { type: "string", description: "Retained messages kept; a new retained topic beyond it is delivered but not kept (0: no limit)", default: String(resourceDefaults.maxRetained) },
  "max-retained-bytes": { type: "string", description: "Payload bytes of all retained messages kept (0: no limit)", default: String(resourceDefaults.maxRetainedBytes) },
  "retained-max-size": { type: "string", description: "Largest retained payload kept, bytes; a larger one is delivered but not kept (0: no limit)", default: String(resourceDefaults.retainedMaxSize) },
} as const;

/** Joining a cluster over Redis (see docs/cluster.md). */
export const clusterArgs = {
  cluster: { type: "string", description: "Join a cluster: Redis at redis://host:port[/db] routes messages and holds sessions", valueHint: "url" },
  "node-name": { type: "string", description: "With --cluster: readable part of this node's id (default: host name)" },
  "redis-timeout": { type: "string", description: "With --cluster: give up reaching Redis at start after this long", default: "5s" },
} as const;

/** Security, listeners, $SYS and metrics (docs/security.md, docs/operations.md). */
export const accessAndListenerArgs = {
  config: { type: "string", description: "Read flags from FILE (one `name value` a line); flags given here win", valueHint: "file" },
  "password-file": { type: "string", description: "user:hash lines (make them with `mqtt-pingpong passwd`); clients must log in", valueHint: "file" },
  "acl-file": { type: "string", description: "mosquitto-style access rules (user, topic, pattern)", valueHint: "file" },
  "allow-anonymous": { type: "boolean", description: "Let clients without a user name in (needed off loopback without --password-file)" },
  ...identityArgs,
  "tls-port": { type: "string", description: "Also listen for MQTT over TLS on this port (needs --cert and --key)" },
  cert: { type: "string", description: "TLS certificate chain (PEM)", valueHint: "file" },
  key: { type: "string", description: "TLS private key (PEM)", valueHint: "file" },
  cafile: { type: "string", description: "CA certificates (PEM) that client certificates must chain to", valueHint: "file" },
  "require-certificate": { type: "boolean", description: "TLS clients must present a certificate signed by --cafile" },
  "ws-port": { type: "string", description: "Also listen for MQTT over WebSocket on this port (path /mqtt)" },
  "ws-origin": { type: "string", description: "Browser pages that may use --ws-port: comma-separated origins (https://host:port), or * for any; default: none (programs, which send no Origin, always may)", valueHint: "origins" },
  "sys-interval": { type: "string", description: "Publish $SYS/broker/... topics this often (0: never)", default: "10s" },
  "http-port": { type: "string", description: "Serve the web console at /, GET /healthz and GET /metrics (Prometheus) on this port" },
  "http-host": { type: "string", description: "Address the HTTP endpoint binds; off loopback it needs --password-file (then /metrics asks for a user) or --http-allow-anonymous", default: "localhost" },
  "http-allow-anonymous": { type: "boolean", description: "Serve /metrics without asking for a user, even off loopback or with --password-file" },
  "console-admins": { type: "string", description: "Users of --password-file who may publish, disconnect and delete in the web console, comma-separated; the others only look (default: every user)", valueHint: "users" },
} as const;

export const brokerArgs = {
  host: { type: "string", description: 'Address every MQTT listener binds ("localhost": 127.0.0.1 and ::1 only)', default: "localhost" },
  port: { type: "string", alias: "p", description: "TCP port", default: "10008" },
  verbose: { type: "boolean", alias: "v", description: "Log every publish (debug)" },
  ...protocolLimitArgs,
  ...reliabilityArgs,
  ...resourceLimitArgs,
  ...clusterArgs,
  ...accessAndListenerArgs,
} as const;

/** The broker flags' values as citty gives them (all optional: a script may set only some). */
export type BrokerArgValues = { -readonly [K in keyof typeof brokerArgs]?: string | boolean };
