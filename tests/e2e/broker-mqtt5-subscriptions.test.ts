// MQTT 5.0 subscriptions against the compiled broker: options, identifiers, shared subscriptions, acks.
import { describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { startNode, startRedis } from "./cluster-harness";
import { startBroker, testWithPrograms } from "./harness";
import { connectV5, Inbox, waitUntil } from "./mqtt5-client";

let markers = 0;

/**
 * Publishes a marker from `client` to itself and waits for it. The broker handles one client's
 * packets in order, so whatever that client's earlier packets made due has arrived by then.
 */
async function flush(client: MqttClient, inbox: Inbox): Promise<void> {
  const payload = `marker-${++markers}`;
  await client.subscribeAsync("marker", { qos: 1 });
  await client.publishAsync("marker", payload, { qos: 1 });
  await waitUntil(() => inbox.messages.some((m) => m.topic === "marker" && m.payload.toString() === payload));
}

const payloads = (inbox: Inbox, topic?: string) => inbox.messages.filter((m) => topic === undefined || m.topic === topic).map((m) => m.payload.toString());

describe("MQTT 5.0 subscriptions", () => {
  test("no-local: a client does not get its own messages back on a no-local subscription", async () => {
    const { url } = await startBroker();
    const { client } = await connectV5(url);
    const inbox = new Inbox(client);
    await client.subscribeAsync("nl/t", { qos: 1, nl: true });
    const { client: other } = await connectV5(url);
    await other.publishAsync("nl/t", "theirs", { qos: 1 });
    await waitUntil(() => payloads(inbox, "nl/t").includes("theirs"));
    await client.publishAsync("nl/t", "mine", { qos: 1 });
    await flush(client, inbox);
    expect(payloads(inbox, "nl/t")).toEqual(["theirs"]);
    // Without no-local it comes back.
    await client.subscribeAsync("nl/t", { qos: 1, nl: false });
    await client.publishAsync("nl/t", "mine again", { qos: 1 });
    await flush(client, inbox);
    expect(payloads(inbox, "nl/t")).toEqual(["theirs", "mine again"]);
  });

  test("retain-as-published keeps the RETAIN flag on live delivery; without it the flag is cleared", async () => {
    const { url } = await startBroker();
    const { client: keeps } = await connectV5(url);
    const { client: clears } = await connectV5(url);
    await keeps.subscribeAsync("rap/t", { qos: 1, rap: true });
    await clears.subscribeAsync("rap/t", { qos: 1, rap: false });
    const keepsInbox = new Inbox(keeps);
    const clearsInbox = new Inbox(clears);
    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("rap/t", "retained", { qos: 1, retain: true });
    expect((await keepsInbox.waitFor(1))[0]!.retain).toBe(true);
    expect((await clearsInbox.waitFor(1))[0]!.retain).toBe(false);
  });

  test("retain handling 0 sends retained messages on every subscribe, 1 only on a new one, 2 never", async () => {
    const { url } = await startBroker();
    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("rh/t", "kept", { qos: 1, retain: true });
    const { client } = await connectV5(url);
    const inbox = new Inbox(client);
    const retainedOnSubscribe = async (rh: 0 | 1 | 2, topic = "rh/t") => {
      const before = inbox.messages.length;
      await client.subscribeAsync(topic, { qos: 1, rh });
      await flush(client, inbox);
      return inbox.messages.slice(before).filter((m) => m.topic === topic && m.retain).length;
    };
    expect(await retainedOnSubscribe(0)).toBe(1);
    expect(await retainedOnSubscribe(0)).toBe(1); // again: rh 0 always sends
    expect(await retainedOnSubscribe(1)).toBe(0); // not new: rh 1 does not
    await client.unsubscribeAsync("rh/t");
    expect(await retainedOnSubscribe(1)).toBe(1); // new again: rh 1 sends
    await client.unsubscribeAsync("rh/t");
    expect(await retainedOnSubscribe(2)).toBe(0); // rh 2 never
  });

  test("subscription identifiers come back on the messages each subscription matches", async () => {
    const { url } = await startBroker();
    const { client } = await connectV5(url);
    const inbox = new Inbox(client);
    await client.subscribeAsync("si/a/#", { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await client.subscribeAsync("si/b", { qos: 1, properties: { subscriptionIdentifier: 268435455 } });
    await client.subscribeAsync("si/c", { qos: 1 });
    const { client: publisher } = await connectV5(url);
    for (const topic of ["si/a/x", "si/b", "si/c"]) await publisher.publishAsync(topic, topic, { qos: 1 });
    const messages = [...(await inbox.waitFor(3))].sort((x, y) => x.topic.localeCompare(y.topic));
    expect(messages.map((m) => [m.topic, m.properties?.subscriptionIdentifier])).toEqual([
      ["si/a/x", 7],
      ["si/b", 268435455],
      ["si/c", undefined],
    ]);
    // One copy for two matching subscriptions carries both identifiers [MQTT-3.3.4-4].
    await client.subscribeAsync("si/+/x", { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await publisher.publishAsync("si/a/x", "both", { qos: 1 });
    const both = (await inbox.waitFor(4))[3]!;
    expect(both.payload.toString()).toBe("both");
    expect([both.properties?.subscriptionIdentifier].flat().sort()).toEqual([7, 9]);
    // A retained message sent on subscribe carries the identifier too.
    await publisher.publishAsync("si/r", "retained", { qos: 1, retain: true });
    await client.subscribeAsync("si/r", { qos: 1, properties: { subscriptionIdentifier: 42 } });
    expect((await inbox.waitFor(5))[4]!.properties?.subscriptionIdentifier).toBe(42);
  });

  test("shared subscriptions: each message goes to one member of the group, plain subscribers get all", async () => {
    const { url } = await startBroker();
    const members = await Promise.all([connectV5(url), connectV5(url)]);
    for (const { connack } of members) expect(connack.properties?.sharedSubscriptionAvailable).not.toBe(false);
    const memberInboxes = members.map(({ client }) => new Inbox(client));
    for (const { client } of members) {
      const suback = await client.subscribeAsync("$share/workers/jobs/#", { qos: 1 });
      expect(suback[0]!.qos).toBe(1);
    }
    const { client: plain } = await connectV5(url);
    await plain.subscribeAsync("jobs/#", { qos: 1 });
    const plainInbox = new Inbox(plain);
    // Another group on the same filter gets its own copy of every message.
    const { client: auditor } = await connectV5(url);
    await auditor.subscribeAsync("$share/audit/jobs/#", { qos: 0 });
    const auditInbox = new Inbox(auditor);

    const { client: publisher } = await connectV5(url);
    const jobs = Array.from({ length: 10 }, (_, i) => `job${i}`);
    for (const job of jobs) await publisher.publishAsync(`jobs/${job}`, job, { qos: 1 });
    await plainInbox.waitFor(10);
    await auditInbox.waitFor(10);
    await waitForTotal(memberInboxes, 10);
    const delivered = memberInboxes.flatMap((inbox) => payloads(inbox));
    expect(delivered.sort()).toEqual([...jobs].sort());
    // Both members took a share.
    for (const inbox of memberInboxes) expect(inbox.messages.length).toBeGreaterThan(0);

    // A member that leaves stops getting messages; the other gets them all.
    await members[0]!.client.unsubscribeAsync("$share/workers/jobs/#");
    const before = memberInboxes.map((inbox) => inbox.messages.length);
    for (let i = 0; i < 4; i++) await publisher.publishAsync("jobs/late", `late${i}`, { qos: 1 });
    await memberInboxes[1]!.waitFor(before[1]! + 4);
    await flush(members[0]!.client, memberInboxes[0]!);
    expect(payloads(memberInboxes[0]!, "jobs/late")).toEqual([]);
  });

  testWithPrograms(["redis-server"], "shared subscriptions: a clustered broker says they are unavailable and refuses them with 0x9E", async () => {
    // Share groups live in one broker process; across nodes each would deliver its own copy.
    const redis = await startRedis();
    const node = await startNode(redis.url, "shared");
    const { client, connack } = await connectV5(node.url);
    expect(connack.properties?.sharedSubscriptionAvailable).toBe(false);
    const suback = new Promise<any>((resolve) => client.on("packetreceive", (packet) => packet.cmd === "suback" && resolve(packet)));
    await client.subscribeAsync({ "$share/g/clustered": { qos: 1 }, clustered: { qos: 1 } }).catch(() => undefined);
    expect((await suback).granted).toEqual([0x9e, 1]);
  });

  test("SUBACK reason codes: the granted QoS, 0x8F for a shared subscription without a filter", async () => {
    const { url } = await startBroker();
    const { client } = await connectV5(url);
    const suback = new Promise<any>((resolve) => client.on("packetreceive", (packet) => packet.cmd === "suback" && resolve(packet)));
    // MQTT.js turns a failure code into an error; the SUBACK itself is what is checked.
    await client
      .subscribeAsync({ "suback/0": { qos: 0 }, "suback/1": { qos: 1 }, "suback/2": { qos: 2 }, "$share/no-filter": { qos: 1 } })
      .catch(() => undefined);
    expect((await suback).granted).toEqual([0, 1, 2, 0x8f]);
  });

  test("UNSUBACK reason codes: 0x00 for a subscription that existed, 0x11 for one that did not", async () => {
    const { url } = await startBroker();
    const { client } = await connectV5(url);
    await client.subscribeAsync("unsuback/held", { qos: 1 });
    const unsuback: any = await client.unsubscribeAsync(["unsuback/held", "unsuback/never"]);
    expect(unsuback.reasonCode ?? unsuback.granted).toEqual([0x00, 0x11]);
  });
});

async function waitForTotal(inboxes: Inbox[], total: number): Promise<void> {
  await waitUntil(() => inboxes.reduce((sum, inbox) => sum + inbox.messages.length, 0) >= total);
}
