// The broker skips replaying the stored queue on a clean session when nothing can be queued for
// that client id (aedes patch, lib/handlers/connect.js emptyQueue). These pin down that a clean start
// still discards what an earlier persistent session had queued, and a resumed session still gets it.
import { describe, expect, test } from "bun:test";
import { startBroker } from "./harness";
import { connectV5, Inbox } from "./mqtt5-client";

describe("queued messages and clean sessions", () => {
  test("a clean start discards what was queued for the old persistent session (MQTT-3.1.2-4)", async () => {
    const { url, proc: broker } = await startBroker();
    // Publish only once the broker has seen a session go offline, or the message meets it live.
    const offline = (count: number) => broker.waitForCount(/Client queue-owner disconnected\./, count);
    const persistent = { clientId: "queue-owner", clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connectV5(url, persistent);
    await first.client.subscribeAsync("queue/#", { qos: 1 });
    await first.client.endAsync();
    await offline(1);
    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("queue/t", "stale", { qos: 1 });

    // Clean start, same id: the queue must not be delivered...
    const fresh = await connectV5(url, { ...persistent, clean: true });
    expect(fresh.connack.sessionPresent).toBe(false);
    const inbox = new Inbox(fresh.client);
    await fresh.client.subscribeAsync("queue/#", { qos: 1 });
    await publisher.publishAsync("queue/marker", "marker", { qos: 1 });
    expect((await inbox.waitFor(1)).map((m) => m.payload.toString())).toEqual(["marker"]);
    await fresh.client.endAsync();
    await offline(2);

    // ...nor kept: the next resumed session gets only what came after.
    await publisher.publishAsync("queue/t", "after", { qos: 1 });
    let resumedInbox!: Inbox;
    const resumed = await connectV5(url, persistent, (client) => (resumedInbox = new Inbox(client)));
    expect(resumed.connack.sessionPresent).toBe(true);
    await publisher.publishAsync("queue/marker", "marker 2", { qos: 1 });
    expect((await resumedInbox.waitFor(2)).map((m) => m.payload.toString())).toEqual(["after", "marker 2"]);
  });

  test("MQTT 3.1.1: a session resumed with clean session off gets its queue, in order", async () => {
    const { url, proc: broker } = await startBroker();
    const session = { clientId: "queue-311", clean: false, protocolVersion: 4 as const };
    const first = await connectV5(url, session);
    await first.client.subscribeAsync("q311/t", { qos: 1 });
    await first.client.endAsync();
    await broker.waitFor(/Client queue-311 disconnected\./);
    const { client: publisher } = await connectV5(url);
    for (const text of ["one", "two", "three"]) await publisher.publishAsync("q311/t", text, { qos: 1 });
    let inbox!: Inbox;
    const back = await connectV5(url, session, (client) => (inbox = new Inbox(client)));
    expect(back.connack.sessionPresent).toBe(true);
    expect((await inbox.waitFor(3)).map((m) => m.payload.toString())).toEqual(["one", "two", "three"]);
  });
});
