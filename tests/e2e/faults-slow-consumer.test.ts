import { expect, test } from "bun:test";
import mqtt from "mqtt";
import mqttPacket from "mqtt-packet";
import { freePort, pingpong, startBroker, waitUntil } from "./harness";
import { floodThreeRounds, type FloodResult } from "./qos0-flood";
import { stuckSubscriber } from "./support/stuck-subscriber";

/** Floods a stuck QoS 0 subscriber with 3 rounds of 94 MiB while a ping/echo pair runs beside it. */
async function floodStuckQoS0Subscriber(...brokerFlags: string[]): Promise<FloodResult> {
  const httpPort = await freePort();
  const { proc: broker, port, url } = await startBroker("--http-port", String(httpPort), "--sys-interval", "0", ...brokerFlags);
  const echo = pingpong("echo", "--port", String(port), "--quiet");
  await echo.waitFor(/Subscribed/);
  const stuck = await stuckSubscriber(port, "bulk/#", 0);
  const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  const ping = pingpong("ping", "--port", String(port), "--count", "40", "--interval", "50ms");
  const result = await floodThreeRounds(publisher, broker.pid, httpPort);
  await broker.waitFor(/Client stuck-0 is not keeping up: \d+ QoS 0 message\(s\) dropped for it \(--max-queued\)\./, 20_000);
  expect(await ping.waitExit(20_000)).toBe(0); // the ping/echo pair lost nothing meanwhile
  console.log(
    `slow QoS 0 consumer (${brokerFlags.join(" ")}): broker RSS ${result.rss.map((r) => r.toFixed(0)).join(" → ")} MB over three 94 MiB rounds; ` +
      `at most ${result.maxBytesQueued} bytes queued, JS heap at most ${result.maxHeapMb.toFixed(0)} MB`,
  );
  stuck.destroy();
  await publisher.endAsync();
  return result;
}

test("--max-queued: QoS 0 for a subscriber that stops reading is dropped for it; others are served", async () => {
  const { maxBytesQueued } = await floodStuckQoS0Subscriber("--max-queued", "100");
  // 100 messages of 16 KiB at most wait for the stuck subscriber, plus what the connection takes
  // below its 64 KiB write high-water mark (written as far as aedes can tell).
  expect(maxBytesQueued).toBeLessThan(100 * 16_500 + 64 * 1024);
}, 60_000);

test("--max-queued-bytes: a stuck QoS 0 subscriber does not grow the broker's memory by a round per round", async () => {
  const CAP = 256 * 1024;
  const { rss, maxBytesQueued, maxHeapMb } = await floodStuckQoS0Subscriber("--max-queued", "1000", "--max-queued-bytes", String(CAP));
  // The byte cap binds before the message count (1000 × 16 KiB): the queue fills up to it, one message over at most.
  expect(maxBytesQueued).toBeGreaterThan(CAP / 2);
  expect(maxBytesQueued).toBeLessThan(CAP + 17_000);
  // Before input back-pressure and copies of kept slices, the heap reached 60-150 MB and RSS grew
  // 40-130 MB from round 1 to round 3; now about 15-25 MB of heap and 5-15 MB of growth.
  expect(maxHeapMb).toBeLessThan(64);
  expect(rss[3]! - rss[1]!).toBeLessThan(47);
}, 60_000);

test("--max-queued: QoS 1 to a subscriber that does not acknowledge holds publishers back, then it is disconnected", async () => {
  const { proc: broker, port, url } = await startBroker("--max-queued", "50", "--slow-consumer-timeout", "2s");
  const stuck = await stuckSubscriber(port, "orders", 1);
  const closed = new Promise((resolve) => stuck.once("close", resolve));
  stuck.on("error", () => {});

  const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  let accepted = 0;
  const TOTAL = 400;
  // At most the broker's Receive Maximum (20) unacknowledged at once, which MQTT.js does not keep to
  // by itself: a PUBACK held back still counts, and one more would be disconnected with 0x93.
  let sent = 0;
  const publishMore = () => {
    while (sent < TOTAL && sent - accepted < 20) {
      publisher.publish("orders", `o-${sent++}`, { qos: 1 }, (error) => {
        if (!error) accepted++;
        publishMore();
      });
    }
  };
  publishMore();

  // Back-pressure: once the stuck subscriber's queue is full, the publisher's messages wait for it.
  const held = await broker.waitFor(/Client stuck-1 is not keeping up: \d+ message\(s\) queued for it; QoS 1\/2 publishers wait \(--max-queued\)\./, 10_000);
  const heldAt = accepted;
  expect(heldAt).toBeLessThan(TOTAL);
  expect(Number(/up: (\d+) message/.exec(held)![1])).toBeGreaterThanOrEqual(50);
  // After --slow-consumer-timeout the subscriber is dropped and everything else goes through.
  await broker.waitFor(/Client stuck-1 has had \d+ messages queued for too long \(--slow-consumer-timeout\); disconnecting it\./, 10_000);
  // Read again to see how it ended: a DISCONNECT with reason 0x97 (Quota exceeded), then the close.
  const tail: Buffer[] = [];
  stuck.on("data", (chunk: Buffer) => tail.push(chunk));
  stuck.resume();
  await closed;
  const packets: Array<{ cmd: string; reasonCode?: number }> = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on("packet", (packet) => packets.push(packet as { cmd: string; reasonCode?: number }));
  parser.parse(Buffer.concat(tail));
  expect(packets.at(-1)).toMatchObject({ cmd: "disconnect", reasonCode: 0x97 });
  await waitUntil(() => accepted === TOTAL, 10_000, () => `all ${TOTAL} accepted once the consumer was dropped (${accepted} were)`, 20);
  console.log(`slow QoS 1 consumer: ${heldAt} of ${TOTAL} accepted when the broker began to hold them back, ${accepted} after the consumer was dropped`);
  expect(accepted).toBe(TOTAL);
  await publisher.endAsync();
}, 60_000);
