// QoS 2 to a persistent-session subscriber, without faults: how many messages are lost or repeated,
// and what the broker still holds for the session afterwards (resent at a reconnect: should be nothing).
// Usage: bun scripts/qos2-persistent.ts PORT [COUNT=300] [INTERVAL_MS=5]   (against a running broker)
// With WIRE=1, prints the subscriber's packets around each missing message.
import mqtt from "mqtt";

const port = Number(process.argv[2]);
const total = Number(process.argv[3] ?? 300);
const intervalMs = Number(process.argv[4] ?? 5);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: bun scripts/qos2-persistent.ts PORT [COUNT] [INTERVAL_MS]");
  process.exit(2);
}
const url = `mqtt://127.0.0.1:${port}`;
const tag = Math.random().toString(36).slice(2, 7);
const session = { protocolVersion: 5 as const, clientId: `qos2-sub-${tag}`, clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 };

const sub = await mqtt.connectAsync(url, session);
const wire: string[] = [];
sub.on("packetsend", (p) => wire.push(`> ${p.cmd} ${"messageId" in p ? p.messageId : ""}`));
sub.on("packetreceive", (p) => wire.push(`< ${p.cmd} ${"messageId" in p ? p.messageId : ""} ${p.cmd === "publish" ? p.payload.toString() : ""}`));
await sub.subscribeAsync(`qos2/${tag}`, { qos: 2 });
const seen = new Map<string, number>();
sub.on("message", (_t, payload) => seen.set(payload.toString(), (seen.get(payload.toString()) ?? 0) + 1));

const pub = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `qos2-pub-${tag}`, reconnectPeriod: 0 });
const accepted = new Set<string>();
for (let n = 1; n <= total; n++) {
  const payload = `m-${n}`;
  pub.publish(`qos2/${tag}`, payload, { qos: 2 }, (error) => error || accepted.add(payload));
  await Bun.sleep(intervalMs);
}
const deadline = Date.now() + 10_000;
while ((accepted.size < total || [...accepted].some((p) => !seen.has(p))) && Date.now() < deadline) await Bun.sleep(50);
const missing = [...accepted].filter((p) => !seen.has(p));
const repeated = [...seen].filter(([, times]) => times > 1).map(([p]) => p);

await sub.endAsync();
const again = await mqtt.connectAsync(url, session);
let resent = 0;
again.on("packetreceive", (p) => (p.cmd === "publish" || p.cmd === "pubrel") && resent++);
await Bun.sleep(1000); // what a reconnect gets comes right behind the CONNACK
console.log(`${accepted.size} of ${total} accepted, ${seen.size} delivered, ${missing.length} missing, ${repeated.length} repeated, ${resent} resent at reconnect`);
if (missing.length > 0 && process.env.WIRE) {
  for (const m of missing) {
    const at = wire.findIndex((line) => line.endsWith(` ${m}`));
    console.log(wire.slice(Math.max(0, at - 10), at + 30).join("\n"));
  }
}
again.end(true);
pub.end(true);
process.exit(missing.length > 0 || repeated.length > 0 || resent > 0 ? 1 : 0);
