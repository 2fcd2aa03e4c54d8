/** What a check is, and the context it runs in: fresh client ids and topics, tracked connections. */
import { acknowledgement, connect, disconnect, pingreq, publish, subscribe, unsubscribe, type ConnectFields, type PublishFields, type Subscription, type Text } from "./codec/encode";
import type { Packet } from "./codec/decode";
import { PacketType, type ProtocolLevel } from "./codec/packet-types";
import { Prop, type Property } from "./codec/properties";
import { Connection, type PacketMatch } from "./connection";
import type { Target } from "./target";
import { expect, fail } from "./verdict";

export type Protocol = "3.1.1" | "5";

/** What the user says about the broker, so statements that depend on a setting can be checked. */
export interface Expectations {
  /** A CONNECT without credentials is refused. */
  authRequired?: boolean;
  /** A topic this client may neither publish nor subscribe to (an ACL). */
  deniedTopic?: string;
  /** The broker's Maximum QoS (below 2 when it does not support QoS 2 or 1). */
  maxQos?: number;
  /** The broker does not support retained messages. */
  retainUnavailable?: boolean;
}

export interface Check {
  /** The normative statement's id, e.g. MQTT-3.1.2-4. */
  id: string;
  protocol: Protocol;
  /** Spec section, e.g. "3.1" or "4.7". */
  section: string;
  title: string;
  /** Run only when the user described this broker setting. */
  needs?: keyof Expectations;
  /** Passes by returning (optionally a detail), fails or skips by throwing (see verdict.ts). */
  run(t: CheckContext): Promise<string | void>;
}

export interface SuiteSettings {
  target: Target;
  username?: string;
  password?: string;
  expectations: Expectations;
  /** How long to wait for a reply the server owes. */
  replyMs: number;
  /** How long to watch for something the server must not send. */
  quietMs: number;
}

/** A keep-alive every broker accepts (a check that needs another one says so). */
export const KEEP_ALIVE_S = 30;


export class CheckContext {
  readonly level: ProtocolLevel;
  private readonly connections: Connection[] = [];
  private packetId = 0;
  private clientCount = 0;
  /** Client ids that asked for a session outliving their connection: ended when the check is done. */
  private readonly lastingSessions = new Set<string>();

  constructor(
    readonly settings: SuiteSettings,
    protocol: Protocol,
    /** Unique to this check in this run: keeps topics and client ids apart. */
    private readonly unique: string,
  ) {
    this.level = protocol === "5" ? 5 : 4;
  }

  get replyMs(): number {
    return this.settings.replyMs;
  }

  get quietMs(): number {
    return this.settings.quietMs;
  }

  /** A topic no other check (or run) uses. */
  topic(name = "t"): string {
    return `conformance/${this.unique}/${name}`;
  }

  /** A fresh client id: letters and digits only, at most 23 characters [MQTT-3.1.3-5]. */
  clientId(): string {
    return `cf${this.unique.replace(/[^0-9a-zA-Z]/g, "")}${this.clientCount++}`.slice(0, 23);
  }

  /** A Packet Identifier not used before in this check. */
  id(): number {
    return ++this.packetId;
  }

  /** A TCP (or TLS) connection with nothing sent. */
  async open(level: ProtocolLevel = this.level): Promise<Connection> {
    const connection = await Connection.open(this.settings.target, level, this.replyMs);
    this.connections.push(connection);
    return connection;
  }

  /** CONNECT fields completed with a fresh client id, the usual Keep Alive and the user's credentials; `fields` win. */
  connectFields(fields: Partial<ConnectFields> = {}): ConnectFields {
    const credentials = fields.username === undefined && this.settings.username !== undefined ? { username: this.settings.username, password: this.settings.password } : {};
    const given = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    return { clientId: this.clientId(), keepAlive: KEEP_ALIVE_S, ...credentials, ...given };
  }

  /** Sends a CONNECT and returns the connection and whatever CONNACK came (none when it closed first). */
  async tryConnect(fields: Partial<ConnectFields> = {}, level: ProtocolLevel = this.level): Promise<{ connection: Connection; connack?: Packet }> {
    const connection = await this.open(level);
    const complete = this.connectFields(fields);
    const expiry = complete.properties?.find((property) => property.id === Prop.sessionExpiryInterval)?.value;
    if (typeof complete.clientId === "string" && (complete.cleanStart === false || (level === 5 && Number(expiry) > 0))) this.lastingSessions.add(complete.clientId);
    connection.write(connect(level, complete));
    return { connection, connack: await connection.poll("CONNACK", this.replyMs) };
  }

  /** Connects and requires success (Reason Code 0). */
  async connect(fields: Partial<ConnectFields> = {}, level: ProtocolLevel = this.level): Promise<{ connection: Connection; connack: Packet }> {
    const { connection, connack } = await this.tryConnect(fields, level);
    if (!connack) fail(`no CONNACK to a valid CONNECT within ${this.replyMs} ms${connection.closed ? " (connection closed)" : ""}`);
    expect(connack.reasonCode === 0, `a valid CONNECT was refused: CONNACK code 0x${connack.reasonCode!.toString(16)}`);
    return { connection, connack };
  }

  /** Subscribes and returns the SUBACK, checking only that one came with our Packet Identifier. */
  async subscribe(connection: Connection, subscriptions: Subscription[] | Text, properties: Property[] = []): Promise<Packet> {
    const list = typeof subscriptions === "string" || Buffer.isBuffer(subscriptions) ? [{ filter: subscriptions, qos: 0 }] : subscriptions;
    const packetId = this.id();
    connection.write(subscribe(connection.level, packetId, list, properties));
    const suback = await connection.take((packet) => packet.name === "SUBACK" && packet.packetId === packetId, this.replyMs, `SUBACK for packet ${packetId}`);
    return suback;
  }

  /** Subscribes and requires every subscription granted (a code below 0x80). */
  async subscribed(connection: Connection, subscriptions: Subscription[] | Text, properties: Property[] = []): Promise<Packet> {
    const suback = await this.subscribe(connection, subscriptions, properties);
    const refused = suback.reasonCodes?.find((code) => code >= 0x80);
    expect(refused === undefined, `subscription refused: SUBACK code 0x${refused?.toString(16)}`);
    return suback;
  }

  async unsubscribe(connection: Connection, filters: Text[]): Promise<Packet> {
    const packetId = this.id();
    connection.write(unsubscribe(connection.level, packetId, filters));
    return connection.take((packet) => packet.name === "UNSUBACK" && packet.packetId === packetId, this.replyMs, `UNSUBACK for packet ${packetId}`);
  }

  /** Publishes and completes the QoS flow (PUBACK, or PUBREC-PUBREL-PUBCOMP); returns the last acknowledgement. */
  async publish(connection: Connection, fields: PublishFields): Promise<Packet | undefined> {
    const qos = fields.qos ?? 0;
    const packetId = qos > 0 ? (fields.packetId ?? this.id()) : undefined;
    connection.write(publish(connection.level, { ...fields, packetId }));
    if (qos === 0) return undefined;
    const forUs = (name: string) => (packet: Packet) => packet.name === name && packet.packetId === packetId;
    if (qos === 1) return connection.take(forUs("PUBACK"), this.replyMs, `PUBACK for packet ${packetId}`);
    const pubrec = await connection.take(forUs("PUBREC"), this.replyMs, `PUBREC for packet ${packetId}`);
    if ((pubrec.reasonCode ?? 0) >= 0x80) return pubrec;
    connection.write(acknowledgement(connection.level, PacketType.PUBREL, packetId!));
    return connection.take(forUs("PUBCOMP"), this.replyMs, `PUBCOMP for packet ${packetId}`);
  }

  /** The next PUBLISH on `topic`, failing when none comes in time. */
  message(connection: Connection, topic: string, what = `a PUBLISH on ${topic}`): Promise<Packet> {
    return connection.take((packet) => packet.name === "PUBLISH" && packet.topic === topic, this.replyMs, what);
  }

  /** PINGREQ, then its PINGRESP: the server answers in order, so by then it has read all sent before. */
  pinged(connection: Connection, what = "PINGRESP"): Promise<Packet> {
    connection.write(pingreq());
    return connection.take("PINGRESP", this.replyMs, what);
  }

  /** Fails if a matching packet arrives within the quiet time. */
  async nothing(connection: Connection, match: PacketMatch, what: string, quietMs = this.quietMs): Promise<void> {
    const found = await connection.poll(match, quietMs);
    if (found) fail(`${what}: got ${describe(found)}`);
  }

  /** The server must close the connection (after a DISCONNECT, under MQTT 5, if it sends one). */
  async closedBy(connection: Connection, why: string): Promise<string> {
    if (!(await connection.waitClosed(this.replyMs))) fail(`the server kept the connection open after ${why}`);
    const disconnect = connection.received.find((packet) => packet.name === "DISCONNECT");
    return disconnect ? `closed, DISCONNECT 0x${disconnect.reasonCode!.toString(16).padStart(2, "0")}` : "closed";
  }

  /** Closes every connection the check opened (also when it failed or timed out). */
  closeAll(): void {
    for (const connection of this.connections) connection.destroy();
  }

  /** Ends the sessions the check left on the server (a shared broker keeps no litter): Clean Start 1, then DISCONNECT. */
  async endSessions(): Promise<void> {
    await Promise.all(
      [...this.lastingSessions].map(async (clientId) => {
        try {
          const connection = await Connection.open(this.settings.target, this.level, this.replyMs);
          connection.write(connect(this.level, this.connectFields({ clientId, cleanStart: true })));
          if (await connection.poll("CONNACK", this.replyMs)) connection.write(disconnect(this.level));
          await connection.waitClosed(500);
          connection.destroy();
        } catch {
          // Best effort: the verdict is already made.
        }
      }),
    );
  }
}

export function describe(packet: Packet): string {
  if (packet.name === "PUBLISH") return `PUBLISH ${JSON.stringify(packet.topic)} qos ${packet.qos}${packet.retain ? " retain" : ""} "${packet.payload!.toString("utf8").slice(0, 40)}"`;
  if (packet.reasonCode !== undefined) return `${packet.name} 0x${packet.reasonCode.toString(16)}`;
  return packet.name;
}

