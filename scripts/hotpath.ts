// The broker's own CPU cost for one message, in process and without the kernel: a broker set up
// as `mqtt-pingpong broker` sets it up (same flags and defaults, so the protocol guard, the
// slow-consumer limits and the metrics are all in), one connection subscribed to its own topic,
// and the PUBLISH bytes handed to its SocketStream as a socket read would hand them. Each round
// waits for the broker to write the delivery, as the round-trip bench does. No send(2), no epoll:
// what is left is the JavaScript between a read and the write, which is what the round trip pays
// on top of a bare echo server. Far less noisy than `npm run bench` on a shared machine.
//
// With --gap-us N the thread sleeps N µs before each message, as a broker waiting in epoll does
// between round trips, and the median single message is reported: a message after a sleep costs
// more than one in a busy loop (caches gone cold), and that cold cost is what a round trip pays.
// --spin waits the same time busily instead.
//
//   bun scripts/hotpath.ts [--qos 0|1] [--messages N] [--rounds R] [--size BYTES] [--protocol 4|5] [--gap-us N [--spin] [--warm N]] [--no-warm-up] [-- broker flags]
import type { Duplex } from "node:stream";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseArgs as parseCommandArgs } from "citty";
import mqttPacket from "mqtt-packet";
import { LoopbackConnection } from "../src/broker/warm-up";
import { startBroker } from "../src/broker/server";
import { brokerArgs } from "../src/broker/setup/flags";
import { brokerSetupOf } from "../src/broker/setup/options";
import { setLogLevel } from "../src/log";
import { debugShim } from "./shims/debug-plugin";
import { median, quantile } from "./lib/stats";

// Run as the binary is built: bundled, with its `debug` shim (mqtt-packet's debug calls, cheap to
// skip in the binary, would otherwise be measured too). This file bundles itself once and runs the bundle.
if (!process.env.HOTPATH_BUNDLED) {
  const outdir = mkdtempSync(join(tmpdir(), "hotpath-"));
  const built = await Bun.build({ entrypoints: [import.meta.path], outdir, target: "bun", minify: !process.env.HOTPATH_PROFILE, plugins: [debugShim] });
  if (!built.success) throw new AggregateError(built.logs, "bundling the hot-path bench failed");
  const profile = process.env.HOTPATH_PROFILE ? ["--cpu-prof-md", "--cpu-prof-interval=50", `--cpu-prof-dir=${process.env.HOTPATH_PROFILE}`] : [];
  const child = Bun.spawn([process.execPath, ...profile, built.outputs[0]!.path, ...process.argv.slice(2)], {
    env: { ...process.env, HOTPATH_BUNDLED: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(await child.exited);
}

const { values: flags, positionals } = parseArgs({
  options: {
    qos: { type: "string", default: "0" },
    messages: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
    size: { type: "string", default: "16" },
    protocol: { type: "string", default: "5" },
    "gap-us": { type: "string", default: "0" },
    spin: { type: "boolean", default: false },
    alloc: { type: "boolean", default: false },
    warm: { type: "string", default: "0" },
    "no-warm-up": { type: "boolean", default: false },
  },
  allowPositionals: true,
});
const qos = Number(flags.qos) as 0 | 1;
const messages = Number(flags.messages);
const rounds = Number(flags.rounds);
const protocolVersion = Number(flags.protocol) as 4 | 5;
const gapMs = Number(flags["gap-us"]) / 1000;
const idle = new Int32Array(new SharedArrayBuffer(4));
/** --spin: the same gap without leaving the CPU, to tell the cost of sleeping from that of time. */
const spinFor = (ms: number) => {
  const until = Bun.nanoseconds() + ms * 1e6;
  while (Bun.nanoseconds() < until);
};
setLogLevel({ quiet: true });

// The broker as its command builds it, on an ephemeral loopback port nothing connects to.
const settings = parseCommandArgs(["--host", "127.0.0.1", "--port", "0", ...positionals], brokerArgs as never) as never;
const { options } = brokerSetupOf(settings);
let accept!: (stream: Duplex) => void;
const broker = await startBroker({
  ...options,
  listeners: [
    async (acceptConnection) => {
      accept = acceptConnection;
      return { port: 0, addresses: [], close: async () => {} };
    },
  ],
  warmUp: !flags["no-warm-up"],
});
// Measured as a broker runs once its start-up warm-up (src/broker/warm-up.ts) is over; --no-warm-up: without it.
await broker.warmedUp;

const connection = new LoopbackConnection();
const stream = connection.stream;
accept(stream as unknown as Duplex);
const exchange = (packet: Uint8Array, expectType: number) => connection.exchange(packet, expectType);

const encode = (packet: object) => mqttPacket.generate(packet as never, { protocolVersion });
await exchange(encode({ cmd: "connect", protocolId: "MQTT", protocolVersion, clientId: "hotpath", clean: true, keepalive: 0 }), 2);
const topic = "bench/hotpath/rtt/0";
await exchange(encode({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos }] }), 9);

const payload = Buffer.alloc(Number(flags.size), 0x61);
const publishes = [1, 2].map((messageId) => encode({ cmd: "publish", topic, payload, qos, messageId: qos > 0 ? messageId : undefined, retain: false, dup: false }));

/** One round trip: the PUBLISH in; at QoS 1 the broker writes its PUBACK and the delivery (maybe in one write), then takes our PUBACK for the delivery. */
async function once(k: number): Promise<void> {
  const delivered = new Promise<Uint8Array>((resolve) => {
    connection.onWrite = function onWrite(bytes) {
      // The delivery is the PUBLISH (type 3) in the write, alone or after the PUBACK.
      if (bytes[0]! >> 4 === 3 || (bytes.length > 4 && bytes[bytes[1]! + 2]! >> 4 === 3)) resolve(bytes);
      else connection.onWrite = onWrite;
    };
  });
  stream.onData(Buffer.from(publishes[k & 1]!));
  const bytes = await delivered;
  if (qos > 0) {
    const start = bytes[0]! >> 4 === 3 ? 0 : bytes[1]! + 2;
    // Fixed header (small packet: 2 bytes), topic length and topic, then the packet id.
    const topicLength = (bytes[start + 2]! << 8) | bytes[start + 3]!;
    const id = (bytes[start + 4 + topicLength]! << 8) | bytes[start + 5 + topicLength]!;
    stream.onData(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
  }
}

/** Cold rounds' single messages, for the tail: a round trip's p99 is made of these. */
const singles: number[] = [];

/** Back to back: ns per message over a round. */
async function warmRound(): Promise<number> {
  const started = Bun.nanoseconds();
  for (let k = 0; k < messages; k++) await once(k);
  return (Bun.nanoseconds() - started) / messages;
}

/** Cold: the thread sleeps before each message (as a broker waiting in epoll does between round
 * trips), so each starts with whatever the caches kept; the median single message. */
async function coldRound(): Promise<number> {
  const each: number[] = [];
  for (let k = 0; k < messages; k++) {
    if (flags.spin) spinFor(gapMs);
    else Atomics.wait(idle, 0, 0, gapMs);
    const started = Bun.nanoseconds();
    await once(k);
    each.push(Bun.nanoseconds() - started);
  }
  singles.push(...each);
  return median(each);
}

// --warm N: N messages back to back first, so the cold rounds run the code the JIT has optimized
// (as in a broker that has carried traffic), not the interpreter's.
for (let k = 0; k < Number(flags.warm); k++) await once(k);
const results: number[] = [];
for (let round = 0; round <= rounds; round++) {
  const nsPerMessage = gapMs > 0 ? await coldRound() : await warmRound();
  if (round > 0) results.push(nsPerMessage); // round 0 warms the JIT up
  else singles.length = 0;
}
const typical = median(results);
console.log(
  `hot path, QoS ${qos}, MQTT ${protocolVersion === 5 ? 5 : "3.1.1"}${gapMs > 0 ? `, ${flags["gap-us"]} µs idle before each` : ""}: ${(typical / 1000).toFixed(2)} µs per message (median of ${rounds} rounds of ${messages}; rounds ${results.map((ns) => (ns / 1000).toFixed(2)).join(", ")})`,
);
if (flags.alloc) {
  // What one message leaves on the heap, by type: between two full collections, the cells the
  // heap holds (garbage included, until the next collection sweeps it) grow by this much.
  const { heapStats, fullGC } = await import("bun:jsc");
  const sample = Math.min(messages, 1000);
  fullGC();
  const before = heapStats().objectTypeCounts as Record<string, number>;
  for (let k = 0; k < sample; k++) await once(k);
  const after = heapStats().objectTypeCounts as Record<string, number>;
  const perMessage = Object.entries(after)
    .map(([type, count]) => [type, (count - (before[type] ?? 0)) / sample] as const)
    .filter(([, n]) => n >= 0.5)
    .sort((x, y) => y[1] - x[1]);
  console.log(`heap cells per message (${sample} messages): ` + perMessage.map(([type, n]) => `${type} ${n.toFixed(1)}`).join(", "));
}
if (singles.length > 0) {
  const us = (q: number) => (quantile(singles, q) / 1000).toFixed(1);
  console.log(`single messages after idle: p50 ${us(0.5)} µs, p99 ${us(0.99)} µs, p99.9 ${us(0.999)} µs, max ${us(1)} µs (${singles.length} messages)`);
}
await broker.close();
process.exit(0);
