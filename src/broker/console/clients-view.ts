// The console's table of clients: one row per connected client, read from aedes when the page asks.
// Who logged in and when is noted once per connection (not per message).
import type { Aedes } from "aedes";
import { loginOf } from "../auth/identity";
import { type AedesBroker, type AedesClient, brokerInternals, inboundUnacknowledged, keepaliveSeconds, outboundUnacknowledged, remoteAddressOf } from "../aedes-internals";
import { SocketStream } from "../listeners/socket-stream";
import { WebSocketDuplex } from "../listeners/ws";
import { queueStateOf } from "../slow-consumers";

export interface ClientRow {
  id: string;
  user: string | null;
  address: string;
  protocolVersion: number | null;
  transport: "tcp" | "tls" | "ws" | "other";
  keepaliveSec: number;
  subscriptions: number;
  inFlight: number;
  queued: number;
  dropped: number;
  bytesIn: number;
  bytesOut: number;
  connectedAt: number;
}

export interface ClientDetail extends ClientRow {
  subscriptionList: Array<{ topic: string; qos: number }>;
}

/** MQTT 5 DISCONNECT reason 0x98: Administrative action. */
const ADMINISTRATIVE_ACTION = 0x98;

export class ClientsView {
  private readonly users = new WeakMap<object, string | null>();
  private readonly connectedAt = new WeakMap<object, number>();
  private aedes: AedesBroker | undefined;

  /** Notes each client's user name (wrapping aedes's authenticate) and connect time. */
  attach(aedes: Aedes): void {
    this.aedes = brokerInternals(aedes);
    aedes.on("client", (client) => this.connectedAt.set(client, Date.now()));
    const authenticate = aedes.authenticate;
    aedes.authenticate = (client, username, password, done) =>
      authenticate.call(aedes, client, username, password, (error, ok) => {
        // Who access control says the client is (a certificate's CN, say), else the name it gave.
        const decided = loginOf(client);
        if (ok) this.users.set(client, decided !== undefined ? decided : (username ?? null));
        done(error, ok);
      });
  }

  rows(): ClientRow[] {
    return Object.values(this.aedes?.clients ?? {}).map((client) => this.rowOf(client));
  }

  /** Messages waiting for the connected clients, and QoS 0 messages dropped for them (--max-queued). */
  queueTotals(): { queued: number; dropped: number } {
    let queued = 0;
    let dropped = 0;
    for (const client of Object.values(this.aedes?.clients ?? {})) {
      const queue = queueStateOf(client);
      if (!queue) continue;
      queued += Math.round(queue.queued());
      dropped += queue.dropped;
    }
    return { queued, dropped };
  }

  detail(id: string): ClientDetail | undefined {
    const client = this.aedes?.clients[id];
    if (!client) return undefined;
    const subscriptionList = Object.entries(client.subscriptions ?? {}).map(([topic, sub]) => ({ topic, qos: typeof sub === "number" ? sub : sub.qos }));
    return { ...this.rowOf(client), subscriptionList };
  }

  /** Ends a client's connection (MQTT 5: DISCONNECT 0x98 first). False when no such client is connected. */
  disconnect(id: string): boolean {
    const client = this.aedes?.clients[id];
    if (!client) return false;
    if (client.version === 5) client.disconnect({ reasonCode: ADMINISTRATIVE_ACTION });
    else client.close();
    return true;
  }

  private rowOf(client: AedesClient): ClientRow {
    const queue = queueStateOf(client);
    return {
      id: client.id,
      user: this.users.get(client) ?? null,
      address: remoteAddressOf(client.conn) ?? "",
      protocolVersion: client.version,
      transport: transportOf(client.conn),
      keepaliveSec: keepaliveSeconds(client),
      subscriptions: Object.keys(client.subscriptions ?? {}).length,
      inFlight: outboundUnacknowledged(client) + inboundUnacknowledged(client),
      queued: Math.round(queue?.queued() ?? 0),
      dropped: queue?.dropped ?? 0,
      bytesIn: client.conn.bytesRead ?? 0,
      bytesOut: client.conn.bytesWritten ?? 0,
      connectedAt: this.connectedAt.get(client) ?? 0,
    };
  }
}

function transportOf(conn: AedesClient["conn"]): ClientRow["transport"] {
  if (conn instanceof SocketStream) return "tcp";
  if (conn instanceof WebSocketDuplex) return "ws";
  if (conn.encrypted) return "tls";
  return "other";
}
