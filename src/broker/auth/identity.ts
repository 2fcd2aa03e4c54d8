// Who a client is, for access control: the certificate's CN (--use-identity-as-username), the parts
// of an aedes client read while it connects, and the identity a will is stored with.
import type { TLSSocket } from "node:tls";
import type { AedesClient } from "../aedes-internals";

/** What access control reads and sets on an aedes client while it connects (lib/handlers/connect.js):
 * its id, connection, the CONNECT's will (set before authenticate, stored after) and, for MQTT 5, the
 * id aedes made up when the CONNECT had none (CONNACK tells it to the client). */
export type ConnectingClient = Pick<AedesClient, "id" | "conn" | "_will" | "_assignedClientId">;

/** The CN of the verified client certificate of a TLS connection; undefined for any other connection. */
export function certificateCommonName(conn: unknown): string | undefined {
  const socket = conn as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== "function" || socket.authorized !== true) return undefined;
  const commonName = socket.getPeerCertificate()?.subject?.CN;
  // Several CNs come as an array: which one would be the user is anyone's guess, so none is.
  return typeof commonName === "string" && commonName !== "" ? commonName : undefined;
}

/** The user each client logged in as, by access control's decision: a certificate's CN, a checked
 * name, or null (anonymous). Read by the rules and by the console's client table. */
const loggedInAs = new WeakMap<object, string | null>();

export function recordLogin(client: object, user: string | undefined): void {
  loggedInAs.set(client, user ?? null);
}

/** The user a client logged in as; undefined when no access control decided it (an open broker). */
export function loginOf(client: object): string | null | undefined {
  return loggedInAs.get(client);
}

/** Who a will was accepted from; kept on the will packet, so the persistence stores it with it. */
export interface WillIdentity {
  /** null: an anonymous client (undefined would be lost in JSON and msgpack). */
  username: string | null;
  clientId: string;
}

type StampedPacket = { acceptedFrom?: unknown };

export function stampWill(will: object, username: string | undefined, clientId: string): void {
  (will as StampedPacket).acceptedFrom = { username: username ?? null, clientId } satisfies WillIdentity;
}

/**
 * The identity a packet was stamped with (wills only: a PUBLISH from the wire never carries one);
 * read from a store, so its shape is checked.
 */
export function stampedIdentity(packet: object): { username: string | undefined; clientId: string } | undefined {
  const stamp = (packet as StampedPacket).acceptedFrom as Partial<WillIdentity> | undefined;
  if (stamp === null || typeof stamp !== "object" || typeof stamp.clientId !== "string") return undefined;
  if (stamp.username !== null && typeof stamp.username !== "string") return undefined;
  return { username: stamp.username ?? undefined, clientId: stamp.clientId };
}
