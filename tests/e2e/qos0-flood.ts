// The QoS 0 flood both slow-consumer test files send to a stuck subscriber, and the broker's
// /metrics read while it runs.
import type { MqttClient } from "mqtt";
import { rssMb } from "./harness";

/** The broker's /metrics, as name -> value (labels left out). */
export async function scrape(httpPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const values = new Map<string, number>();
  for (const match of text.matchAll(/^(mqtt_pingpong_\w+) (\S+)$/gm)) values.set(match[1]!, Number(match[2]));
  return values;
}

export interface FloodResult {
  /** The broker's RSS before the flood and after each round, MB. */
  rss: number[];
  /** The most seen in /metrics during the flood: bytes queued on connections, and JS heap (MB). */
  maxBytesQueued: number;
  maxHeapMb: number;
}

/**
 * Three rounds of 6000 × 16 KiB (94 MiB each) of QoS 0 on bulk/data, far beyond what a stuck
 * subscriber reads: kept, rounds 2 and 3 would add 188 MiB; dropped, only garbage-collector slack.
 * Each round ends with a QoS 1 publish, so the broker has taken it in before its RSS is read.
 */
export async function floodThreeRounds(publisher: MqttClient, brokerPid: number, httpPort: number): Promise<FloodResult> {
  const payload = Buffer.alloc(16 * 1024, 7);
  const result: FloodResult = { rss: [rssMb(brokerPid)], maxBytesQueued: 0, maxHeapMb: 0 };
  let flooding = true;
  const sampling = (async () => {
    while (flooding) {
      const metrics = await scrape(httpPort);
      result.maxBytesQueued = Math.max(result.maxBytesQueued, metrics.get("mqtt_pingpong_bytes_queued")!);
      result.maxHeapMb = Math.max(result.maxHeapMb, metrics.get("mqtt_pingpong_memory_heap_used_bytes")! / 2 ** 20);
      await Bun.sleep(25); // a sampling pace, not a wait for something
    }
  })();
  for (let round = 0; round < 3; round++) {
    for (let n = 0; n < 6000; n++) {
      publisher.publish("bulk/data", payload, { qos: 0 });
      if (n % 200 === 0) await Bun.sleep(1); // pacing the stream
    }
    await publisher.publishAsync("bulk/data", payload, { qos: 1 }); // the round has been taken in
    result.rss.push(rssMb(brokerPid));
  }
  flooding = false;
  await sampling;
  return result;
}
