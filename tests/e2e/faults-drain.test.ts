import { expect, test } from "bun:test";
import net from "node:net";
import mqtt from "mqtt";
import { startBroker, waitUntil } from "./harness";
import { RawClient } from "./mqtt-raw";

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

test("SIGTERM while QoS 1 messages flow: no new connections, every accepted message delivered, exit 0", async () => {
  const { proc: broker, port, url } = await startBroker("--drain-timeout", "20s");

  // A subscriber slow to acknowledge (100 ms each), so messages are still in flight at SIGTERM.
  const received = new Set<string>();
  const subscriber = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    customHandleAcks: (_topic, payload, _packet, ack) => {
      received.add(payload.toString());
      setTimeout(() => ack(0), 100);
    },
  });
  await subscriber.subscribeAsync("flow", { qos: 1 });

  const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  const accepted = new Set<string>();
  let stop = false;
  const publishing = (async () => {
    for (let n = 1; !stop; n++) {
      const payload = `m-${n}`;
      publisher.publish("flow", payload, { qos: 1 }, (error) => error || accepted.add(payload));
      await Bun.sleep(2);
    }
  })();
  await waitUntil(() => accepted.size >= 30, 15_000, () => `30 messages accepted before SIGTERM (${accepted.size} were)`);

  broker.kill("SIGTERM");
  await broker.waitFor(/SIGTERM: stopping the broker/);
  // The listener closes at once, while the broker is still delivering. Bun closes a stopped
  // listener's socket on its next loop turn, so allow that turn (a deadline, not a sleep).
  await waitUntil(async () => !(await accepts(port)), 2_000, "the listener closed", 20);
  expect(broker.exitCode).toBeNull();

  expect(await broker.waitExit(25_000)).toBe(0);
  stop = true;
  await publishing;
  expect(broker.output()).toContain("Broker stopped.");
  expect(broker.output()).not.toMatch(/still in flight after/);
  const lost = [...accepted].filter((payload) => !received.has(payload));
  console.log(`drain: ${accepted.size} accepted before and during SIGTERM, ${received.size} delivered, ${lost.length} lost`);
  expect(lost).toEqual([]);
  subscriber.end(true);
  publisher.end(true);
}, 60_000);

test("a drain that cannot finish gives up after --drain-timeout, says how much was left, and exits 0", async () => {
  const { proc: broker, url } = await startBroker("--drain-timeout", "1s");
  // This subscriber never acknowledges: its QoS 1 messages stay in flight.
  const subscriber = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, customHandleAcks: () => {} });
  await subscriber.subscribeAsync("stuck", { qos: 1 });
  const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  for (let n = 0; n < 5; n++) await publisher.publishAsync("stuck", `s-${n}`, { qos: 1 });

  const started = Date.now();
  broker.kill("SIGTERM");
  expect(await broker.waitExit(10_000)).toBe(0);
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  expect(broker.output()).toMatch(/\d+ message\(s\) still in flight after the 1 s drain timeout\./);
  subscriber.end(true);
  publisher.end(true);
}, 30_000);

/** An MQTT 5 sender whose QoS 2 PUBLISH the broker has answered with PUBREC, its PUBREL not yet sent. */
async function unreleasedQoS2(port: number): Promise<RawClient> {
  const sender = await RawClient.open(port, 5);
  sender.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "drain-qos2", clean: true, keepalive: 0 });
  await sender.waitFor((packet) => packet.cmd === "connack");
  sender.send({ cmd: "publish", topic: "drain/qos2", payload: Buffer.from("held"), qos: 2, messageId: 7, retain: false, dup: false });
  await sender.waitFor((packet) => packet.cmd === "pubrec");
  return sender;
}

test("the drain counts an inbound QoS 2 message whose PUBREL has not come: it waits, then says 1 is left", async () => {
  const { proc: broker, port } = await startBroker("--drain-timeout", "1s");
  await unreleasedQoS2(port);
  const started = Date.now();
  broker.kill("SIGTERM");
  expect(await broker.waitExit(10_000)).toBe(0);
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  expect(broker.output()).toMatch(/1 message\(s\) still in flight after the 1 s drain timeout\./);
}, 30_000);

test("a PUBREL sent during the drain completes the QoS 2 flow (PUBCOMP), then the broker exits 0", async () => {
  const { proc: broker, port } = await startBroker("--drain-timeout", "20s");
  const sender = await unreleasedQoS2(port);
  broker.kill("SIGTERM");
  await broker.waitFor(/SIGTERM: stopping the broker/);
  sender.send({ cmd: "pubrel", messageId: 7 });
  await sender.waitFor((packet) => packet.cmd === "pubcomp");
  expect(await broker.waitExit(10_000)).toBe(0);
  expect(broker.output()).not.toMatch(/still in flight/);
}, 30_000);
