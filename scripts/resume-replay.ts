// A persistent session resumed with a stored queue, while live messages flow: how long the replay
// takes (CONNECT to CONNACK, to the last queued message) and whether a live message overtook it.
// Usage: bun scripts/resume-replay.ts PORT [QUEUED=1000] [ROUNDS=3] [PUBLISH_PORT=PORT]
// (against running brokers: PORT is where the session resumes, PUBLISH_PORT where messages come from,
// e.g. two --cluster nodes)
import mqtt from "mqtt";

const port = Number(process.argv[2]);
const queued = Number(process.argv[3] ?? 1000);
const rounds = Number(process.argv[4] ?? 3);
const publishPort = Number(process.argv[5] ?? port);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: bun scripts/resume-replay.ts PORT [QUEUED] [ROUNDS] [PUBLISH_PORT]");
  process.exit(2);
}
const tag = Math.random().toString(36).slice(2, 7);
const session = { protocolVersion: 5 as const, clientId: `resume-${tag}`, clean: false, properties: { sessionExpiryInterval: 600 }, reconnectPeriod: 0 };
const topic = `resume/${tag}`;
const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, session);
await first.subscribeAsync(topic, { qos: 1 });
await first.endAsync();
const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${publishPort}`, { protocolVersion: 5, reconnectPeriod: 0 });

for (let round = 1; round <= rounds; round++) {
  // In batches within the broker's Receive Maximum (--max-inflight, 20 by default).
  for (let n = 0; n < queued; n += 16) {
    const batch = Array.from({ length: Math.min(16, queued - n) }, (_, i) => publisher.publishAsync(topic, `queued-${n + i + 1}`, { qos: 1 }));
    await Promise.all(batch);
  }
  let streaming = true;
  let live = 0;
  const stream = (async () => {
    while (streaming) await publisher.publishAsync(topic, `live-${round}-${++live}`, { qos: 1 });
  })();
  const started = performance.now();
  let connackMs = 0;
  let lastQueuedMs = 0;
  let overtaken = 0;
  let queuedSeen = 0;
  // Live messages of an earlier round still in flight when that round's client left: resent first.
  let resent = 0;
  const back = mqtt.connect(`mqtt://127.0.0.1:${port}`, session);
  back.once("connect", () => (connackMs = performance.now() - started));
  const replayed = new Promise<void>((resolve) =>
    back.on("message", (_t, payload) => {
      const text = payload.toString();
      if (text.startsWith("queued-")) {
        if (++queuedSeen === queued) {
          lastQueuedMs = performance.now() - started;
          resolve();
        }
      } else if (queuedSeen < queued && text.startsWith(`live-${round}-`)) overtaken++;
      else if (!text.startsWith(`live-${round}-`)) resent++;
    }),
  );
  const stalled = setTimeout(() => {
    console.log(`round ${round}: ${queuedSeen} of ${queued} queued messages after 20 s (${overtaken} live ones); stopping`);
    process.exit(1);
  }, 20_000);
  await replayed;
  clearTimeout(stalled);
  streaming = false;
  await stream;
  await back.endAsync();
  console.log(`round ${round}: CONNACK ${connackMs.toFixed(1)} ms, ${queued} queued replayed in ${lastQueuedMs.toFixed(1)} ms, ${overtaken} live messages before the last queued one, ${resent} of an earlier round resent`);
}
await publisher.endAsync();
