// MQTT 5.0 sessions against the compiled broker: expiry, message expiry, will delay, client ids, CONNACK.
import { describe, expect, test } from "bun:test";
import { startBroker } from "./harness";
import { connackOf, connectV5, disconnectFromBroker, Inbox } from "./mqtt5-client";

describe("MQTT 5.0 sessions", () => {
  test("session expiry: a session outlives its connection until the interval, then is gone", async () => {
    const { proc: broker, url } = await startBroker();
    const session = { clientId: "expiring", clean: false, properties: { sessionExpiryInterval: 1 } };
    const first = await connectV5(url, session);
    expect(first.connack.sessionPresent).toBe(false);
    await first.client.subscribeAsync("session/t", { qos: 1 });
    await first.client.endAsync();

    // Offline, the subscription still collects QoS 1 messages...
    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("session/t", "while away", { qos: 1 });
    let inbox!: Inbox;
    const back = await connectV5(url, session, (client) => (inbox = new Inbox(client)));
    expect(back.connack.sessionPresent).toBe(true);
    expect((await inbox.waitFor(1))[0]!.payload.toString()).toBe("while away");
    await back.client.endAsync();

    // ...until the Session Expiry Interval has passed with no connection.
    await broker.waitFor(/Session of client expiring expired\./);
    await publisher.publishAsync("session/t", "after expiry", { qos: 1 });
    const late = await connectV5(url, session);
    expect(late.connack.sessionPresent).toBe(false);
  });

  test("session expiry 0 (the default) ends the session with the connection", async () => {
    const { url } = await startBroker();
    const first = await connectV5(url, { clientId: "ephemeral", clean: false });
    await first.client.subscribeAsync("session/e", { qos: 1 });
    await first.client.endAsync();
    const again = await connectV5(url, { clientId: "ephemeral", clean: false });
    expect(again.connack.sessionPresent).toBe(false);
  });

  test("message expiry: an expired queued message is dropped, others arrive with the remaining interval", async () => {
    const { url } = await startBroker();
    const session = { clientId: "expiry-reader", clean: false, properties: { sessionExpiryInterval: 60 } };
    const reader = await connectV5(url, session);
    await reader.client.subscribeAsync("expiry/#", { qos: 1 });
    await reader.client.endAsync();

    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("expiry/short", "short-lived", { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publisher.publishAsync("expiry/long", "long-lived", { qos: 1, properties: { messageExpiryInterval: 60 } });
    // What is tested is the passage of time itself: the 1 s message must outlive its interval.
    await Bun.sleep(1_500);

    let inbox!: Inbox;
    const back = await connectV5(url, session, (client) => (inbox = new Inbox(client)));
    await back.client.publishAsync("expiry/marker", "marker", { qos: 1 });
    // The queue and the marker may interleave; what matters is that the expired message is not there.
    const messages = await inbox.waitFor(2);
    expect(messages.map((m) => m.payload.toString()).sort()).toEqual(["long-lived", "marker"]);
    const remaining = messages.find((m) => m.topic === "expiry/long")!.properties?.messageExpiryInterval;
    expect(remaining).toBeLessThan(60);
    expect(remaining).toBeGreaterThanOrEqual(50);
  });

  test("message expiry: a live message is forwarded with its interval", async () => {
    const { url } = await startBroker();
    const { client: reader } = await connectV5(url);
    await reader.subscribeAsync("expiry/live", { qos: 1 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("expiry/live", "x", { qos: 1, properties: { messageExpiryInterval: 30 } });
    const [message] = await inbox.waitFor(1);
    expect(message!.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(29);
    expect(message!.properties?.messageExpiryInterval).toBeLessThanOrEqual(30);
  });

  test("will delay interval: the will waits for the delay, and a reconnect within it cancels the will", async () => {
    const { url } = await startBroker();
    const { client: watcher } = await connectV5(url);
    await watcher.subscribeAsync("will/#", { qos: 1 });
    const inbox = new Inbox(watcher);
    const options = (payload: string) => ({
      clientId: "testator",
      clean: false,
      properties: { sessionExpiryInterval: 30 },
      will: { topic: "will/gone", payload: Buffer.from(payload), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } },
    });

    // Dropped, then back within the delay: the will is not sent.
    const first = await connectV5(url, options("first"));
    first.client.stream.destroy();
    await connectV5(url, options("second"));
    // Dropped for good: the will comes, but not before its delay.
    const second = await connectV5(url, options("third"));
    const droppedAt = Date.now();
    second.client.stream.destroy();
    const [will] = await inbox.waitFor(1, 15_000);
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(1_500);
    expect(will!.payload.toString()).toBe("third");
    // The cancelled one never came: the marker is right behind the one will.
    await watcher.publishAsync("will/marker", "marker", { qos: 1 });
    expect((await inbox.waitFor(2)).map((m) => m.payload.toString())).toEqual(["third", "marker"]);
  });

  test("DISCONNECT 0x04 sends the will at once, a normal DISCONNECT (0x00) discards it", async () => {
    const { url } = await startBroker();
    const { client: watcher } = await connectV5(url);
    await watcher.subscribeAsync("lastwill/#", { qos: 1 });
    const inbox = new Inbox(watcher);
    const will = (payload: string) => ({ will: { topic: "lastwill/t", payload: Buffer.from(payload), qos: 1 as const, retain: false } });
    const normal = await connectV5(url, will("discarded"));
    await normal.client.endAsync(false, { reasonCode: 0x00 });
    const withWill = await connectV5(url, will("sent"));
    await withWill.client.endAsync(false, { reasonCode: 0x04 });
    expect((await inbox.waitFor(1))[0]!.payload.toString()).toBe("sent");
    // The discarded will never comes: a marker sent after both disconnects arrives next.
    await watcher.publishAsync("lastwill/marker", "marker", { qos: 1 });
    expect((await inbox.waitFor(2)).map((m) => m.payload.toString())).toEqual(["sent", "marker"]);
  });

  test("assigned client identifier: an empty client id gets one in CONNACK, and the broker uses it", async () => {
    const { proc: broker, url } = await startBroker();
    const { connack } = await connectV5(url, { clientId: "" });
    const assigned = connack.properties?.assignedClientIdentifier as string;
    expect(assigned).toMatch(/^\S{8,}$/);
    await broker.waitFor(new RegExp(`Client ${assigned} connected`));
    // A client that chose its id is not given another.
    expect((await connectV5(url, { clientId: "chosen" })).connack.properties?.assignedClientIdentifier).toBeUndefined();
  });

  test("CONNACK reason codes: 0x00 with session present, 0x8C for an authentication method, 0x97 over the limit", async () => {
    const { url } = await startBroker("--max-connections", "2");
    const persistent = { clientId: "connack", clean: false, properties: { sessionExpiryInterval: 30 } };
    const first = await connectV5(url, persistent);
    await first.client.subscribeAsync("connack/t", { qos: 1 });
    await first.client.endAsync();
    const resumed = await connackOf(url, persistent);
    expect(resumed.reasonCode).toBe(0x00);
    expect((await connectV5(url, { ...persistent, clientId: "connack" })).connack.sessionPresent).toBe(true);
    // Enhanced authentication (AUTH) is not offered.
    expect((await connackOf(url, { properties: { authenticationMethod: "SCRAM-SHA-1" } })).reasonCode).toBe(0x8c);
    await connectV5(url, { clientId: "filler" });
    expect((await connackOf(url, { clientId: "one-too-many" })).reasonCode).toBe(0x97);
  });

  test("DISCONNECT reason codes from the broker: 0x8E session taken over, 0x8B server shutting down", async () => {
    const { proc: broker, url } = await startBroker();
    const { client: original } = await connectV5(url, { clientId: "twin" });
    const takenOver = disconnectFromBroker(original);
    const { client: twin } = await connectV5(url, { clientId: "twin" });
    expect((await takenOver).reasonCode).toBe(0x8e);
    const shutdown = disconnectFromBroker(twin);
    broker.kill("SIGTERM");
    expect((await shutdown).reasonCode).toBe(0x8b);
    expect(await broker.waitExit()).toBe(0);
  });
});
