// Shared subscriptions [MQTT-4.8.2] on one broker process: the members of '$share/{name}/{filter}'
// get its messages in turn, one member each (round robin). aedes checks the SUBSCRIBE (a malformed
// one gets 0x8F) and grants it when its option sharedSubscriptionsAvailable is on; it then hands
// the topic as it is to subscribe() and unsubscribe(), which this module wraps. A group lives in
// this process, so a cluster (whose nodes share an mq) would deliver once per node: there the
// option stays off and aedes refuses them with 0x9E.
import type { Aedes, AedesPublishPacket } from "aedes";
import { brokerInternals } from "./aedes-internals";

const SHARE_PREFIX = "$share/";

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;
/** aedes's delivery function for one client's subscription; aedes marks a shared one with its client. */
type MemberDeliver = Deliver & { client?: { id: string; clean: boolean } };

/** '$share/{name}/{filter}' → '{filter}' (aedes has checked the form). */
export function sharedFilter(shareTopic: string): string {
  return shareTopic.slice(shareTopic.indexOf("/", SHARE_PREFIX.length) + 1);
}

/** The members of one share group and whose turn is next. */
export class ShareGroup {
  readonly members: MemberDeliver[] = [];
  private next = 0;
  /** [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with '$'. */
  private readonly skipsDollarTopics: boolean;

  constructor(readonly filter: string) {
    this.skipsDollarTopics = filter.startsWith("#") || filter.startsWith("+");
  }

  /** The member whose turn it is for a message on `topic`; undefined when there is none. */
  take(topic: string): MemberDeliver | undefined {
    if (this.members.length === 0 || (this.skipsDollarTopics && topic.startsWith("$"))) return undefined;
    if (this.next >= this.members.length) this.next = 0;
    return this.members[this.next++];
  }
}

export function serveSharedSubscriptions(aedes: Aedes): void {
  const broker = brokerInternals(aedes);
  const subscribe = aedes.subscribe;
  const unsubscribe = aedes.unsubscribe;
  const groups = new Map<string, { group: ShareGroup; deliver: Deliver }>();

  aedes.subscribe = function subscribeShared(topic, member, done) {
    if (!topic.startsWith(SHARE_PREFIX)) return subscribe.call(aedes, topic, member, done);
    const existing = groups.get(topic);
    if (existing) {
      existing.group.members.push(member);
      return done();
    }
    const group = new ShareGroup(sharedFilter(topic));
    group.members.push(member);
    const deliver: Deliver = (packet, delivered) => {
      const chosen = group.take(packet.topic);
      if (!chosen) return delivered();
      const client = chosen.client;
      // A persistent session keeps the message until it is acknowledged, as for its own subscriptions.
      if (packet.qos > 0 && client && !client.clean) {
        broker.persistence.outgoingEnqueue({ clientId: client.id }, packet).then(
          () => chosen(packet, delivered),
          () => chosen(packet, delivered),
        );
      } else {
        chosen(packet, delivered);
      }
    };
    groups.set(topic, { group, deliver });
    subscribe.call(aedes, group.filter, deliver, done);
  };

  aedes.unsubscribe = function unsubscribeShared(topic, member, done) {
    if (!topic.startsWith(SHARE_PREFIX)) return unsubscribe.call(aedes, topic, member, done);
    const entry = groups.get(topic);
    const index = entry ? entry.group.members.indexOf(member) : -1;
    if (!entry || index < 0) return done();
    entry.group.members.splice(index, 1);
    if (entry.group.members.length > 0) return done();
    groups.delete(topic);
    unsubscribe.call(aedes, entry.group.filter, entry.deliver, done);
  };
}
