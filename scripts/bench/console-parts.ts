// What the console adds on the message path, by parts, in this process: the per-topic table's
// record() over 1,000 topics, a second 'publish' listener on an EventEmitter, and one tick.
//   bun scripts/bench/console-parts.ts [--messages N]
import { EventEmitter } from "node:events";
import { parseArgs } from "node:util";
import { TopicStats } from "../../src/core/topic-stats";

const { values } = parseArgs({ options: { messages: { type: "string", default: "2000000" } } });
const messages = Number(values.messages);
// Topic names arrive as new strings with every packet: make them the same way.
const topicBytes = Array.from({ length: 1000 }, (_, i) => Buffer.from(`bench/abc123/rtt/${i}`));
const payload = Buffer.alloc(16);
const nsPerMessage = (ms: number) => ((ms / messages) * 1e6).toFixed(0);

const stats = new TopicStats(10_000, 0);
let started = performance.now();
for (let i = 0; i < messages; i++) topicBytes[i % 1000]!.toString("latin1");
const decodeOnly = performance.now() - started;
started = performance.now();
for (let i = 0; i < messages; i++) stats.record(topicBytes[i % 1000]!.toString("latin1"), payload, 0, false);
console.log(`TopicStats.record: ${nsPerMessage(performance.now() - started - decodeOnly)} ns a message over 1,000 topics`);

const one = new EventEmitter();
one.on("publish", () => {});
const two = new EventEmitter();
two.on("publish", () => {});
two.on("publish", () => {});
started = performance.now();
for (let i = 0; i < messages; i++) one.emit("publish", payload, null);
const oneMs = performance.now() - started;
started = performance.now();
for (let i = 0; i < messages; i++) two.emit("publish", payload, null);
console.log(`emit('publish'): ${nsPerMessage(oneMs)} ns with one listener, ${nsPerMessage(performance.now() - started)} ns with two`);

started = performance.now();
const changed = stats.tick(1000);
console.log(`tick over ${changed.length} changed topics: ${(performance.now() - started).toFixed(2)} ms`);
