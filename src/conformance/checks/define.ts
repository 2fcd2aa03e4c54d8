/** Declaring checks tersely, and the scenarios many checks share. */
import type { Check, CheckContext, Expectations } from "../check";
import { connect, type ConnectFields } from "../codec/encode";
import type { Packet } from "../codec/decode";
import type { Connection } from "../connection";
import { CheckFailed, expect, fail } from "../verdict";

type Run = Check["run"];

/** "MQTT-3.1.2-4" is in section 3.1. */
function sectionOf(id: string): string {
  const [major, minor] = id.replace(/^MQTT-/, "").split(".");
  return `${major}.${minor}`;
}

export function v311(id: string, title: string, run: Run, needs?: keyof Expectations): Check {
  return { id, protocol: "3.1.1", section: sectionOf(id), title, run, needs };
}

export function v5(id: string, title: string, run: Run, needs?: keyof Expectations): Check {
  return { id, protocol: "5", section: sectionOf(id), title, run, needs };
}

/**
 * One statement that both versions make (often under different ids): the same scenario runs under
 * each protocol version, `t.level` telling which.
 */
export function both(ids: { v311: string; v5: string }, title: string, run: Run, needs?: keyof Expectations): Check[] {
  return [v311(ids.v311, title, run, needs), v5(ids.v5, title, run, needs)];
}

export const sameId = (id: string) => ({ v311: id, v5: id });

/** Connects, then sends `bytes`; the server must close the connection. Returns how it closed. */
export async function closesAfter(t: CheckContext, bytes: Buffer, why: string): Promise<string> {
  const { connection } = await t.connect();
  connection.write(bytes);
  return t.closedBy(connection, why);
}

/** Sends a CONNECT built from `bytes`; the server must not accept it (no CONNACK 0) and must close. */
export async function refusesConnect(t: CheckContext, bytes: Buffer, why: string): Promise<string> {
  const connection = await t.open();
  connection.write(bytes);
  const closedHow = await t.closedBy(connection, why);
  const connack = connection.received.find((packet) => packet.name === "CONNACK");
  expect(!connack || connack.reasonCode !== 0, `${why} was accepted (CONNACK 0)`);
  return connack ? `CONNACK ${hex(connack.reasonCode)}, ${closedHow}` : `no CONNACK, ${closedHow}`;
}

/** A CONNECT with this check's fresh client id (and the user's credentials), as bytes. */
export function connectBytes(t: CheckContext, fields: Partial<ConnectFields> = {}): Buffer {
  return connect(t.level, t.connectFields(fields));
}

/** A subscriber on `filter` (granted QoS `qos`) and a separate publisher, both connected. */
export async function pair(t: CheckContext, filter: string, qos = 0): Promise<{ subscriber: Connection; publisher: Connection; suback: Packet }> {
  const { connection: subscriber } = await t.connect();
  const suback = await t.subscribed(subscriber, [{ filter, qos }]);
  const { connection: publisher } = await t.connect();
  return { subscriber, publisher, suback };
}

/** Whether a new subscriber to `topic` is sent a retained message there; returns it if so. */
export async function retainedFor(t: CheckContext, topic: string, waitMs = t.quietMs): Promise<Packet | undefined> {
  const { connection } = await t.connect();
  await t.subscribed(connection, [{ filter: topic, qos: 1 }]);
  return connection.poll((packet) => packet.name === "PUBLISH" && packet.topic === topic, waitMs);
}

/** Publishes a retained message and waits until a new subscriber sees it (the broker has stored it). */
export async function storeRetained(t: CheckContext, topic: string, payload: string, qos = 1): Promise<void> {
  const { connection } = await t.connect();
  await t.publish(connection, { topic, payload, qos, retain: true });
  const retained = await retainedFor(t, topic, t.replyMs);
  expect(retained?.payload?.toString() === payload, `a new subscriber to ${topic} did not get the retained "${payload}"`);
}

export const hex = (code: number | undefined) => (code === undefined ? "none" : `0x${code.toString(16).padStart(2, "0")}`);

/** Runs every part even when one fails, so a check reports all that is wrong; fails if any part did. */
export async function everyPart(parts: Record<string, () => Promise<string | void>>): Promise<string> {
  const failures: string[] = [];
  const details: string[] = [];
  for (const [name, part] of Object.entries(parts)) {
    try {
      const detail = await part();
      details.push(detail ? `${name}: ${detail}` : `${name}: ok`);
    } catch (error) {
      if (!(error instanceof CheckFailed)) throw error;
      failures.push(`${name}: ${error.message}`);
    }
  }
  if (failures.length) fail(failures.join("; "));
  return details.join("; ");
}
