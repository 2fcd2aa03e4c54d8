// Keep-alive [MQTT-3.1.2-24] on the broker's one deadline timer (aedes patch, lib/deadlines.js):
// a client that keeps talking stays, one that falls silent is closed after 1.5 times its keep-alive.
import { describe, expect, test } from "bun:test";
import { startBroker } from "./harness";
import { RawClient } from "./mqtt-raw";

describe("broker keep-alive", () => {
  test("a client that sends within its keep-alive stays connected; once silent it is closed after 1.5 times it", async () => {
    const { port } = await startBroker();
    const connect = (clientId: string) => ({ cmd: "connect" as const, protocolId: "MQTT" as const, protocolVersion: 4 as const, clientId, clean: true, keepalive: 1 });
    const talker = await RawClient.open(port, 4);
    const silent = await RawClient.open(port, 4);
    talker.send(connect("talker"));
    silent.send(connect("silent"));
    await talker.waitFor((p) => p.cmd === "connack");
    await silent.waitFor((p) => p.cmd === "connack");
    const silentSince = Date.now();

    // 3.5 s of a PINGREQ every 400 ms: more than twice the 1.5 s deadline, so the talker's deadline
    // must have moved on with its packets, while the silent one's passed.
    let lastSentAt = Date.now();
    while (Date.now() - silentSince < 3_500) {
      talker.send({ cmd: "pingreq" });
      lastSentAt = Date.now();
      await Bun.sleep(400); // pacing the stream, not waiting for something
    }
    expect(talker.closed).toBe(false);
    expect(talker.received.filter((p) => p.cmd === "pingresp").length).toBeGreaterThanOrEqual(7);
    expect(silent.closed).toBe(true);

    await talker.waitClosed(6_000);
    const silentForMs = Date.now() - lastSentAt;
    expect(silentForMs).toBeGreaterThanOrEqual(1_400);
    expect(silentForMs).toBeLessThan(5_000);
  }, 20_000);
});
