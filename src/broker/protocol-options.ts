import type { Aedes, AedesOptions, Client } from "aedes";
import { log } from "../log";

/** The broker's protocol limits, per connection unless said otherwise. */
export interface ProtocolLimits {
  /** Connected clients at once; a CONNECT beyond it is refused (0 = no limit). */
  maxConnections: number;
  /** Largest MQTT packet accepted, in bytes; advertised to MQTT 5 clients in CONNACK. */
  maxPacketSize: number;
  /**
   * Unacknowledged QoS 1/2 PUBLISH the broker sends a client at once (the client's own Receive
   * Maximum lowers it), and the Receive Maximum it advertises: a client with more QoS 2 PUBLISH
   * unreleased than this is disconnected with 0x93.
   */
  maxInflight: number;
  /** A socket that has not sent CONNECT after this long is closed. */
  connectTimeoutMs: number;
  /** Largest keep-alive, seconds, a client may ask for; MQTT 5 clients get it as Server Keep Alive (0 = no cap). */
  maxKeepaliveSec: number;
  /** Topic aliases per connection, each way (0 = none). */
  maxTopicAlias: number;
}

// mosquitto's defaults where it has one (max_inflight_messages 20, max_topic_alias 10); packets up to
// 16 MiB leave room for large ping payloads while bounding what one client can make us buffer.
export const DEFAULT_PROTOCOL_LIMITS: ProtocolLimits = {
  maxConnections: 1024,
  maxPacketSize: 16 * 1024 * 1024,
  maxInflight: 20,
  connectTimeoutMs: 10_000,
  maxKeepaliveSec: 0,
  maxTopicAlias: 10,
};

/** MQTT's own ceilings for the limits above. */
export const PROTOCOL_LIMIT_MAXIMUM = {
  maxPacketSize: 268_435_460,
  maxInflight: 65_535,
  maxKeepaliveSec: 65_535,
  maxTopicAlias: 65_535,
} as const;

/** An error a preConnect hook returns to refuse a CONNECT with a CONNACK (see patches/aedes/). */
interface ConnectRefusal extends Error {
  returnCode: number;
  reasonCode: number;
}

const SERVER_UNAVAILABLE = 3; // MQTT 3.1.1 CONNACK return code
const QUOTA_EXCEEDED = 0x97; // MQTT 5 CONNACK reason code

/** What the hooks read of aedes beyond its typings. */
type RunningBroker = Aedes & { clients: Record<string, Client> };

/** Turns the limits into aedes options; hooks for access control are added by the caller. */
export function protocolOptions(limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS): AedesOptions {
  let broker: RunningBroker | undefined;
  /** Connections let in by --max-connections and not yet closed. */
  // The connections let in, by their stream: one 'close' listener function for all of them (the
  // stream is `this`), not a closure per connection.
  const admitted = new Set<NodeJS.EventEmitter>();
  const forgetAdmitted = function (this: NodeJS.EventEmitter) {
    admitted.delete(this);
  };
  return {
    maximumPacketSize: limits.maxPacketSize,
    receiveMaximum: limits.maxInflight,
    outboundInflightLimit: limits.maxInflight,
    connectTimeout: limits.connectTimeoutMs,
    keepaliveLimit: limits.maxKeepaliveSec,
    topicAliasMaximum: limits.maxTopicAlias,
    preConnect(client: Client, packet, callback) {
      broker ??= (client as Client & { broker: RunningBroker }).broker;
      // Counted from here, not from aedes's connectedClients: in a burst, hundreds of CONNECTs pass
      // this hook before the first one is registered, and all would get in.
      // A client taking over its own session does not add a connection.
      const takeover = Boolean(broker.clients[packet.clientId]);
      if (limits.maxConnections > 0 && !takeover && admitted.size >= limits.maxConnections) {
        const refusal = new Error(`connection limit reached (--max-connections ${limits.maxConnections})`) as ConnectRefusal;
        refusal.returnCode = SERVER_UNAVAILABLE;
        refusal.reasonCode = QUOTA_EXCEEDED;
        callback(refusal, false);
        return;
      }
      if (limits.maxConnections > 0) {
        const conn = (client as Client & { conn: NodeJS.EventEmitter }).conn;
        admitted.add(conn); // a takeover's old connection leaves the set as it closes
        conn.on("close", forgetAdmitted);
      }
      callback(null, true);
    },
  } as AedesOptions;
}

/** Logs, once per client, why a limit closed its connection, and MQTT 5 session ends. */
export function logLimitEvents(aedes: Aedes): void {
  aedes.on("sessionExpired" as "client", (client: Client) => log.info(`Session of client ${client.id} expired.`));
  aedes.on("connectionError", (client, error) => {
    if (/connection limit reached/.test(error.message)) log.warn(`Refused a connection: ${error.message}.`);
    else if (/connect did not arrive in time/.test(error.message)) log.info(`Closed a connection that sent no CONNECT in time.`);
  });
  aedes.on("clientError", (client, error) => {
    const size = (error as Error & { size?: number }).size;
    if (size !== undefined) log.warn(`Client ${client.id} sent a ${size}-byte packet, over --max-packet-size: disconnected.`);
    else if (/receive maximum exceeded/i.test(error.message)) log.warn(`Client ${client.id}: ${error.message}: disconnected.`);
  });
}
