// What a page may change: publish a message, delete retained messages, follow a topic filter live.
// Each is reached only by a POST that passed the console's origin and token checks (routes.ts).
import type { Aedes, AedesPublishPacket } from "aedes";
import { isUnderBranch } from "../../core/topic-stats";
import { filterProblem, topicMatches } from "../../core/topic-filter";
import type { BrokerConsole } from "./console";
import type { ConsoleSession } from "./session";
import { brokerInternals, type StoreInternals } from "../aedes-internals";

export class ActionError extends Error {}

function persistenceOf(aedes: Aedes): StoreInternals {
  return brokerInternals(aedes).persistence;
}

export interface PublishRequest {
  topic: string;
  /** Text, sent as UTF-8. */
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** Checks a page's publish: a topic name (no wildcards, not $SYS), QoS 0..2. */
export function checkPublish(body: Record<string, unknown>): PublishRequest {
  const topic = body.topic;
  if (typeof topic !== "string" || topic === "" || /[+#\u0000]/.test(topic)) throw new ActionError("topic: a topic name without + or #");
  if (topic.startsWith("$")) throw new ActionError("topic: topics starting with $ are the broker's own");
  const qos = Number(body.qos ?? 0);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new ActionError("qos: 0, 1 or 2");
  return { topic, payload: typeof body.payload === "string" ? body.payload : "", qos, retain: body.retain === true };
}

/** Publishes as the broker itself does ($SYS): through the same routing, to every subscriber. */
export function publish(aedes: Aedes, request: PublishRequest): Promise<void> {
  const packet = { cmd: "publish", topic: request.topic, payload: Buffer.from(request.payload, "utf8"), qos: request.qos, retain: request.retain, dup: false };
  return new Promise((resolve, reject) => aedes.publish(packet as AedesPublishPacket, (error?: Error) => (error ? reject(error) : resolve())));
}

/**
 * Deletes the retained message of `topic`, or with `recursive` every one under that branch, from the
 * store itself (no empty message is sent to subscribers). Returns the topics deleted.
 */
export async function deleteRetained(aedes: Aedes, topic: string, recursive: boolean): Promise<string[]> {
  if (typeof topic !== "string" || topic === "" || /[+#]/.test(topic)) throw new ActionError("topic: a topic name without + or #");
  const persistence = persistenceOf(aedes);
  const pattern = recursive ? `${topic.replace(/\/$/, "")}/#` : topic;
  const found: string[] = [];
  for await (const packet of persistence.createRetainedStream(pattern)) {
    if (recursive ? isUnderBranch(packet.topic, topic) : packet.topic === topic) found.push(packet.topic);
  }
  for (const name of found) {
    await persistence.storeRetained({ cmd: "publish", topic: name, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false } as AedesPublishPacket);
  }
  return found;
}

/** The live box's filter, by the MQTT rules (src/core/topic-filter.ts). */
export function checkFilter(filter: unknown): string {
  if (typeof filter !== "string") throw new ActionError("filter: a topic filter");
  const problem = filterProblem(filter);
  if (problem) throw new ActionError(`filter: ${problem}`);
  return filter;
}

const LIVE_MESSAGES_PER_SECOND = 50;

/** The page's live subscription box: one filter per session, its messages sent on the session's streams. */
export class LiveSubscriptions {
  private readonly bySession = new Map<ConsoleSession, { filter: string; handler: (packet: AedesPublishPacket, done: () => void) => void }>();

  constructor(private readonly console: BrokerConsole) {}

  follow(session: ConsoleSession, filter: string): void {
    const aedes = this.console.aedes;
    if (!aedes) throw new ActionError("the broker is not running");
    this.stop(session);
    let second = 0;
    let sent = 0;
    let skipped = 0;
    const handler = (packet: AedesPublishPacket, done: () => void) => {
      if (packet.topic.startsWith("$console/") || !topicMatches(filter, packet.topic)) return done();
      const now = Math.floor(Date.now() / 1000);
      if (now !== second) [second, sent] = [now, 0];
      if (++sent > LIVE_MESSAGES_PER_SECOND) skipped++;
      else {
        const payload = Buffer.from(packet.payload as Buffer).subarray(0, 2048).toString("base64");
        this.console.sendToSession(session, "message", { topic: packet.topic, payload, size: (packet.payload as Buffer).length, qos: packet.qos, retain: packet.retain, skipped });
      }
      done();
    };
    aedes.subscribe(filter, handler as never, () => {});
    this.bySession.set(session, { filter, handler });
  }

  stop(session: ConsoleSession): void {
    const live = this.bySession.get(session);
    if (!live) return;
    this.bySession.delete(session);
    this.console.aedes?.unsubscribe(live.filter, live.handler as never, () => {});
  }
}
