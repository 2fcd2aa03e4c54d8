// Durable aedes persistence on bun:sqlite: aedes-persistence's own in-memory implementation answers
// every read (topic matching, streams), and each change is also written to an SQLite file, from
// which the memory is rebuilt at start. A single file, no server, nothing native outside the binary.
import { Database, type Statement } from "bun:sqlite";
import { Readable } from "node:stream";
import MemoryPersistence from "aedes-persistence/asyncPersistence.js";
import { restoreUserPropertyOrder, withUserPropertyOrder } from "mqtt-packet/userPropertyOrder.js";

type Packet = Record<string, any> & { messageId?: number; brokerId?: string; brokerCounter?: number; topic?: string; payload?: Buffer };
type ClientRef = { id: string };
type Subscription = { topic: string; qos: number; rh?: number; rap?: boolean; nl?: boolean; subscriptionIdentifier?: number };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, packet TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, topic TEXT NOT NULL, options TEXT NOT NULL, PRIMARY KEY (client_id, topic));
  CREATE TABLE IF NOT EXISTS outgoing (seq INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, broker_id TEXT, broker_counter INTEGER, message_id INTEGER, packet TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS outgoing_client ON outgoing (client_id, message_id);
  CREATE TABLE IF NOT EXISTS incoming (client_id TEXT NOT NULL, message_id INTEGER NOT NULL, packet TEXT NOT NULL, routed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (client_id, message_id));
  CREATE TABLE IF NOT EXISTS wills (client_id TEXT PRIMARY KEY, broker_id TEXT NOT NULL, packet TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY);
`;

/** Packets hold Buffers (payload, correlation data): JSON with base64 for those, and User Properties' order. */
export function encodePacket(packet: object): string {
  return JSON.stringify(withUserPropertyOrder(packet), function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Uint8Array ? { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64") } : value;
  });
}

export function decodePacket(text: string): Packet {
  return restoreUserPropertyOrder(
    JSON.parse(text, (_key, value) =>
      value !== null && typeof value === "object" && typeof value.$b === "string" && Object.keys(value).length === 1 ? Buffer.from(value.$b, "base64") : value,
    ),
  );
}

const incomingKey = (clientId: string, messageId: number) => `${clientId}\0${messageId}`;
const routedAs = (packet: Packet) => `${packet.brokerId}\0${packet.brokerCounter}`;

export class SqlitePersistence extends MemoryPersistence {
  private readonly db: Database;
  private readonly sql: Record<string, Statement>;

  /** Opens (or creates) the database file; throws when it cannot be opened or is not SQLite. */
  constructor(readonly path: string) {
    super();
    this.db = new Database(path, { create: true, strict: true });
    // WAL: a commit is one append, and survives the process being killed (the OS has it).
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    this.db.exec(SCHEMA);
    const q = (text: string) => this.db.query(text);
    this.sql = {
      putRetained: q("INSERT OR REPLACE INTO retained (topic, packet) VALUES ($topic, $packet)"),
      delRetained: q("DELETE FROM retained WHERE topic = $topic"),
      putSub: q("INSERT OR REPLACE INTO subscriptions (client_id, topic, options) VALUES ($client, $topic, $options)"),
      delSub: q("DELETE FROM subscriptions WHERE client_id = $client AND topic = $topic"),
      delSubs: q("DELETE FROM subscriptions WHERE client_id = $client"),
      enqueue: q("INSERT INTO outgoing (client_id, broker_id, broker_counter, packet) VALUES ($client, $brokerId, $brokerCounter, $packet)"),
      setMessageId: q("UPDATE outgoing SET message_id = $messageId, packet = $packet WHERE client_id = $client AND broker_id = $brokerId AND broker_counter = $brokerCounter"),
      replaceByMessageId: q(
        "UPDATE outgoing SET packet = $packet, broker_id = NULL, broker_counter = NULL WHERE seq = (SELECT seq FROM outgoing WHERE client_id = $client AND message_id = $messageId ORDER BY seq LIMIT 1)",
      ),
      clearMessageId: q("DELETE FROM outgoing WHERE seq = (SELECT seq FROM outgoing WHERE client_id = $client AND message_id = $messageId ORDER BY seq LIMIT 1)"),
      putIncoming: q("INSERT OR REPLACE INTO incoming (client_id, message_id, packet) VALUES ($client, $messageId, $packet)"),
      routedIncoming: q("UPDATE incoming SET routed = 1 WHERE client_id = $client AND message_id = $messageId"),
      delIncoming: q("DELETE FROM incoming WHERE client_id = $client AND message_id = $messageId"),
      putWill: q("INSERT OR REPLACE INTO wills (client_id, broker_id, packet) VALUES ($client, $brokerId, $packet)"),
      getWill: q("SELECT packet FROM wills WHERE client_id = $client"),
      delWill: q("DELETE FROM wills WHERE client_id = $client"),
      putSession: q("INSERT OR IGNORE INTO sessions (client_id) VALUES ($client)"),
      delSession: q("DELETE FROM sessions WHERE client_id = $client"),
    };
  }

  override async setup(broker: { id: string }): Promise<void> {
    await super.setup(broker);
    await this.restore();
  }

  /** Rebuilds the in-memory state from the file, in the order it was written. */
  private async restore(): Promise<void> {
    for (const row of this.db.query("SELECT packet FROM retained").all() as Array<{ packet: string }>) {
      await super.storeRetained(decodePacket(row.packet));
    }
    const subscriptions = new Map<string, Subscription[]>();
    for (const row of this.db.query("SELECT client_id, topic, options FROM subscriptions").all() as Array<{ client_id: string; topic: string; options: string }>) {
      const list = subscriptions.get(row.client_id) ?? [];
      list.push({ topic: row.topic, ...JSON.parse(row.options) });
      subscriptions.set(row.client_id, list);
    }
    for (const [id, subs] of subscriptions) await super.addSubscriptions({ id }, subs);
    for (const row of this.db.query("SELECT client_id FROM sessions").all() as Array<{ client_id: string }>) await super.storeSession(row.client_id);
    const rows = this.db.query("SELECT seq, client_id, broker_id, broker_counter, message_id, packet FROM outgoing ORDER BY seq").all() as Array<{
      seq: number;
      client_id: string;
      broker_id: string | null;
      broker_counter: number | null;
      message_id: number | null;
      packet: string;
    }>;
    for (const row of this.db.query("SELECT client_id, message_id, packet, routed FROM incoming").all() as Array<{ client_id: string; message_id: number; packet: string; routed: number }>) {
      const packet = { ...decodePacket(row.packet), messageId: row.message_id };
      await super.incomingStorePacket({ id: row.client_id }, packet);
      if (!row.routed) {
        this.unrouted.add(incomingKey(row.client_id, row.message_id));
        this.noteRouting(row.client_id, packet);
      }
    }
    for (const row of rows) {
      const packet = decodePacket(row.packet);
      // A PUBREL that replaced its PUBLISH has no broker id; give it one so it can be found again.
      const brokerId = row.broker_id ?? `restored-${row.seq}`;
      const brokerCounter = row.broker_counter ?? row.seq;
      await super.outgoingEnqueueCombi([{ clientId: row.client_id }], { ...packet, brokerId, brokerCounter });
      if (row.message_id !== null) {
        await super.outgoingUpdate({ id: row.client_id }, { ...packet, brokerId, brokerCounter, messageId: row.message_id });
      }
    }
  }

  override async storeRetained(packet: Packet): Promise<void> {
    await super.storeRetained(packet);
    if (!packet.payload || packet.payload.length === 0) this.sql.delRetained!.run({ topic: packet.topic! });
    else this.sql.putRetained!.run({ topic: packet.topic!, packet: encodePacket(packet) });
  }

  override async addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void> {
    await super.addSubscriptions(client, subs);
    this.db.transaction(() => {
      for (const { topic, ...options } of subs) this.sql.putSub!.run({ client: client.id, topic, options: JSON.stringify(options) });
    })();
  }

  override async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await super.removeSubscriptions(client, topics);
    this.db.transaction(() => {
      for (const topic of topics) this.sql.delSub!.run({ client: client.id, topic });
    })();
  }

  /** A session that outlives its connection, recorded even while it holds nothing [MQTT-3.2.2-2]. */
  override async storeSession(clientId: string): Promise<void> {
    await super.storeSession(clientId);
    this.sql.putSession!.run({ client: clientId });
  }

  override async cleanSubscriptions(client: ClientRef): Promise<void> {
    await super.cleanSubscriptions(client);
    this.db.transaction(() => {
      this.sql.delSubs!.run({ client: client.id });
      this.sql.delSession!.run({ client: client.id });
    })();
  }

  override async outgoingEnqueue(sub: { clientId: string }, packet: Packet): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet);
  }

  override async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: Packet): Promise<void> {
    await super.outgoingEnqueueCombi(subs, packet);
    const text = encodePacket({ ...packet, messageId: undefined });
    const source = this.routing.size > 0 && subs.length > 0 ? this.routing.get(routedAs(packet)) : undefined;
    this.db.transaction(() => {
      for (const sub of subs) {
        this.sql.enqueue!.run({ client: sub.clientId, brokerId: packet.brokerId ?? null, brokerCounter: packet.brokerCounter ?? null, packet: text });
      }
      if (source) this.sql.routedIncoming!.run({ client: source.clientId, messageId: source.messageId });
    })();
    if (source) {
      this.routing.delete(routedAs(packet));
      this.unrouted.delete(incomingKey(source.clientId, source.messageId));
    }
  }

  override async outgoingUpdate(client: ClientRef, packet: Packet): Promise<void> {
    await super.outgoingUpdate(client, packet); // throws "no such packet" as the memory one does
    const text = encodePacket(packet);
    const updated = this.sql.setMessageId!.run({
      client: client.id,
      brokerId: packet.brokerId ?? null,
      brokerCounter: packet.brokerCounter ?? null,
      messageId: packet.messageId ?? null,
      packet: text,
    });
    if (updated.changes === 0) this.sql.replaceByMessageId!.run({ client: client.id, messageId: packet.messageId ?? null, packet: text });
  }

  override async outgoingClearMessageId(client: ClientRef, packet: Packet): Promise<Packet | undefined> {
    const cleared = await super.outgoingClearMessageId(client, packet);
    this.sql.clearMessageId!.run({ client: client.id, messageId: packet.messageId ?? null });
    return cleared;
  }

  override async incomingStorePacket(client: ClientRef, packet: Packet): Promise<void> {
    await super.incomingStorePacket(client, packet);
    this.sql.putIncoming!.run({ client: client.id, messageId: packet.messageId!, packet: encodePacket(packet) });
    this.noteRouting(client.id, packet);
  }

  /**
   * Stored QoS 2 PUBLISH not yet routed, by the broker id and counter the patched aedes routes them
   * under. The queue entries made for one are written in one transaction with its `routed` mark:
   * a broker killed after queueing it for a persistent session, but before the PUBREC, used to
   * route it again when the sender sent it again, and the session got it twice. (A message with no
   * persistent subscriber is marked once routed, by incomingRouted.)
   */
  private readonly routing = new Map<string, { clientId: string; messageId: number }>();

  private noteRouting(clientId: string, packet: Packet): void {
    if (packet.brokerId !== undefined && packet.brokerCounter !== undefined) this.routing.set(routedAs(packet), { clientId, messageId: packet.messageId! });
  }

  /**
   * QoS 2 PUBLISH stored before the last stop but never routed to subscribers (the broker stopped in
   * between). The patched aedes asks (incomingGetPacket's `unrouted`) and routes them when the sender
   * sends them again, so a message that was stored is never lost.
   */
  private readonly unrouted = new Set<string>();

  override async incomingGetPacket(client: ClientRef, packet: Packet): Promise<Packet> {
    const stored = await super.incomingGetPacket(client, packet);
    return this.unrouted.has(incomingKey(client.id, packet.messageId!)) ? { ...stored, unrouted: true } : stored;
  }

  /** Called by the patched aedes once a stored QoS 2 PUBLISH has been routed. */
  async incomingRouted(client: ClientRef, packet: Packet): Promise<void> {
    this.routing.delete(routedAs(packet));
    this.unrouted.delete(incomingKey(client.id, packet.messageId!));
    this.sql.routedIncoming!.run({ client: client.id, messageId: packet.messageId! });
  }

  override async incomingDelPacket(client: ClientRef, packet: Packet): Promise<void> {
    await super.incomingDelPacket(client, packet);
    this.unrouted.delete(incomingKey(client.id, packet.messageId!));
    this.sql.delIncoming!.run({ client: client.id, messageId: packet.messageId! });
  }

  // Wills live only in the file, so a will stored by an earlier run keeps that run's broker id and
  // is published by this one (aedes publishes the wills of brokers that are gone).
  override async putWill(client: ClientRef, packet: Packet): Promise<void> {
    // Marked in place, as the memory persistence does: aedes reads these fields back off the packet.
    packet.brokerId = this.broker.id;
    packet.clientId = client.id;
    this.sql.putWill!.run({ client: client.id, brokerId: packet.brokerId!, packet: encodePacket(packet) });
  }

  override async getWill(client: ClientRef): Promise<Packet | undefined> {
    const row = this.sql.getWill!.get({ client: client.id }) as { packet: string } | null;
    return row ? decodePacket(row.packet) : undefined;
  }

  override async delWill(client: ClientRef): Promise<Packet | undefined> {
    const will = await this.getWill(client);
    this.sql.delWill!.run({ client: client.id });
    return will;
  }

  override streamWill(brokers: Record<string, unknown> = {}): Readable {
    const rows = this.db.query("SELECT broker_id, packet FROM wills").all() as Array<{ broker_id: string; packet: string }>;
    return Readable.from(rows.filter((row) => !brokers[row.broker_id]).map((row) => decodePacket(row.packet)));
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    this.db.close();
  }
}
