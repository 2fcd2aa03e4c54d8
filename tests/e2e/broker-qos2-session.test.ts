// QoS 2 to a persistent session, packet by packet: a bare client holds its acknowledgements so the
// broker's stored state (PUBLISH replaced by PUBREL, then cleared by PUBCOMP) shows at reconnects.
// aedes-persistence once renumbered the PUBREL stored for one packet id when the next PUBREC came
// (both PUBRELs went out with the second id and the first message was never released), and a stored
// PUBREL was not resent at reconnect (patches/aedes-persistence/, lib/handlers/connect.js).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import mqttPacket, { type IPublishPacket, type Packet } from "mqtt-packet";
import { startBroker } from "./harness";
import { RawClient } from "./mqtt-raw";

const dir = mkdtempSync(join(tmpdir(), "qos2-session-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLIENT_ID = "qos2-held";

async function connectHeld(port: number): Promise<RawClient> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: CLIENT_ID, clean: false, keepalive: 60, properties: { sessionExpiryInterval: 60 } });
  await client.waitFor((p) => p.cmd === "connack");
  return client;
}

/** Resolves with the first `count` packets of kind `cmd` once that many have arrived. */
async function nextOf<T extends Packet>(client: RawClient, cmd: Packet["cmd"], count: number): Promise<T[]> {
  const of = () => client.received.filter((p) => p.cmd === cmd) as T[];
  await client.waitFor(() => of().length >= count);
  return of().slice(0, count);
}

const after = (messageId: number) => (messageId % 65535) + 1;
const ids = (packets: Packet[]) => packets.map((p) => (p as { messageId?: number }).messageId);
const payloads = (client: RawClient) => client.received.filter((p) => p.cmd === "publish").map((p) => (p as IPublishPacket).payload.toString());

for (const store of ["memory", "sqlite"] as const) {
  describe(`QoS 2 to a persistent session (${store} persistence)`, () => {
    test("two PUBRECs in one segment get a PUBREL each; unfinished ones are resent at reconnect, finished ones never", async () => {
      const { port, url, proc: broker } = await startBroker(...(store === "sqlite" ? ["--persistence", join(dir, "held.db")] : []));
      const disconnected = (count: number) => broker.waitForCount(new RegExp(`Client ${CLIENT_ID} disconnected\\.`), count);
      let held = await connectHeld(port);
      held.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "held/#", qos: 2 }] });
      await held.waitFor((p) => p.cmd === "suback");
      const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      await publisher.publishAsync("held/a", "one", { qos: 2 });
      await publisher.publishAsync("held/b", "two", { qos: 2 });

      const published = ids(await nextOf(held, "publish", 2));
      expect(new Set(published).size).toBe(2);
      // Both PUBRECs in one write: the broker handles them in one batch.
      const pubrecs = published.map((messageId) => mqttPacket.generate({ cmd: "pubrec", messageId }, { protocolVersion: 5 }));
      held.sendBytes([...Buffer.concat(pubrecs)]);
      expect(ids(await nextOf(held, "pubrel", 2)).sort()).toEqual([...published].sort());

      // Gone before PUBCOMP: at reconnect the broker resends both PUBRELs, with their own ids
      // [MQTT-4.4.0-1], and not the PUBLISHes.
      held.close();
      await disconnected(1);
      held = await connectHeld(port);
      expect(ids(await nextOf(held, "pubrel", 2))).toEqual(published);
      for (const messageId of published) held.send({ cmd: "pubcomp", messageId });
      // A live message after the replay: it is the only PUBLISH.
      await publisher.publishAsync("held/marker", "marker", { qos: 2 });
      const [marker] = await nextOf<IPublishPacket>(held, "publish", 1);
      expect(payloads(held)).toEqual(["marker"]);
      // New packet ids go on from the last connection's rather than from a random one, which could
      // be the id of a stored message being resent [MQTT-2.2.1-3].
      expect(marker!.messageId).toBe(after(published[1]!));
      held.send({ cmd: "pubrec", messageId: marker!.messageId });
      await held.waitFor((p) => p.cmd === "pubrel" && p.messageId === marker!.messageId);
      held.send({ cmd: "pubcomp", messageId: marker!.messageId });
      // PINGRESP: the broker has handled what came before it.
      held.send({ cmd: "pingreq" });
      await held.waitFor((p) => p.cmd === "pingresp");

      // Everything completed: the next reconnect has nothing to resend.
      held.close();
      await disconnected(2);
      held = await connectHeld(port);
      await publisher.publishAsync("held/marker", "marker 2", { qos: 2 });
      const [marker2] = await nextOf<IPublishPacket>(held, "publish", 1);
      expect(payloads(held)).toEqual(["marker 2"]);
      expect(marker2!.messageId).toBe(after(marker!.messageId!));
      expect(held.received.filter((p) => p.cmd === "pubrel")).toEqual([]);
      await publisher.endAsync();
    });
  });
}
