// bench retained: what one large SUBSCRIBE costs a broker holding many retained messages. A
// subscription should cost what it matches, not what is retained (docs/security.md, "Limits").
import { readdirSync, readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import { formatHostPort } from "../core/address";
import type { BenchTarget } from "./meter";

export interface RetainedBenchOptions {
  target: BenchTarget;
  /** Retained messages stored first, on bench/retained/<group>/<n>, 100 to a group. */
  retained: number;
  /** Filters in the one SUBSCRIBE: mostly exact topics and filters that match nothing, a few `group/+`. */
  filters: number;
  /** The broker's process id on this machine: its CPU time for the SUBSCRIBE is read from /proc. */
  brokerPid?: number;
}

export interface RetainedBenchResult {
  retained: number;
  filters: number;
  /** Retained messages the filters match (a message two filters match counts twice). */
  expected: number;
  received: number;
  /** From sending the SUBSCRIBE to its SUBACK, and to the last matching retained message. */
  subackMs: number;
  allRetainedMs: number;
  /** The broker's CPU (all its threads) from the SUBSCRIBE to the last retained message, when known;
   * measured on a second, identical SUBSCRIBE (the first warms the broker up). */
  brokerCpuMs?: number;
  /** Another client's longest QoS 0 round trip to itself meanwhile: whether the broker stalled. */
  bystanderMaxRttMs: number;
}

const GROUP = 100;
const WILDCARD_FILTERS = 10;

/** The SUBSCRIBE's filters and how many retained messages they match. */
export function retainedFilters(retained: number, filters: number): { filters: string[]; expected: number } {
  const groups = Math.ceil(retained / GROUP);
  const list: string[] = [];
  let expected = 0;
  const wildcards = Math.min(WILDCARD_FILTERS, groups, filters);
  for (let group = 0; group < wildcards; group++) {
    list.push(`bench/retained/${group}/+`);
    expected += Math.min(GROUP, retained - group * GROUP);
  }
  const exact = Math.floor((filters - wildcards) / 2);
  for (let i = 0; i < exact; i++) {
    const n = (i * 7919) % retained;
    list.push(`bench/retained/${Math.floor(n / GROUP)}/${n % GROUP}`);
    expected++;
  }
  for (let i = 0; list.length < filters; i++) list.push(`bench/none/${i}/#`);
  return { filters: list, expected };
}

/** CPU time of every thread of a process, ms (Linux schedstat: nanoseconds on the CPU). */
export function processCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

function connect(target: BenchTarget, role: string): Promise<MqttClient> {
  const scheme = target.tls ? "mqtts" : "mqtt";
  const client = mqtt.connect(`${scheme}://${formatHostPort(target.hostname, target.port)}`, {
    clientId: `${target.clientIdPrefix ?? "bench"}-${role}-${process.pid}`,
    protocolVersion: target.protocolVersion,
    username: target.username,
    password: target.password,
    reconnectPeriod: 0,
    connectTimeout: target.connectTimeoutMs,
    rejectUnauthorized: false,
  });
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("error", reject);
  });
}

export async function runRetained(options: RetainedBenchOptions): Promise<RetainedBenchResult> {
  const { target, retained } = options;
  const { filters, expected } = retainedFilters(retained, options.filters);
  const [publisher, bystander] = await Promise.all([connect(target, "publisher"), connect(target, "bystander")]);
  try {
    for (let n = 0; n < retained; n++) publisher.publish(`bench/retained/${Math.floor(n / GROUP)}/${n % GROUP}`, `retained ${n}`, { qos: 0, retain: true });
    // A QoS 1 message after them: its PUBACK means the broker has handled (and stored) all of them.
    await publisher.publishAsync("bench/retained-done", "", { qos: 1 });
    await bystander.subscribeAsync("bench/bystander", { qos: 0 });
    // Once to warm the broker up (a JIT compiles the path on its first use), then measured.
    await subscribeOnce(target, "warmup", filters, expected, bystander);
    const measured = await subscribeOnce(target, "subscriber", filters, expected, bystander, options.brokerPid);
    return { retained, filters: filters.length, expected, ...measured };
  } finally {
    await Promise.all([publisher, bystander].map((client) => client.endAsync(true)));
  }
}

type Measured = Omit<RetainedBenchResult, "retained" | "filters" | "expected">;

async function subscribeOnce(target: BenchTarget, role: string, filters: string[], expected: number, bystander: MqttClient, brokerPid?: number): Promise<Measured> {
  const subscriber = await connect(target, role);
  let stop = false;
  let bystanderMaxRttMs = 0;
  const pinging = (async () => {
    while (!stop) {
      const sent = performance.now();
      await new Promise<void>((resolve) => {
        bystander.once("message", () => resolve());
        bystander.publish("bench/bystander", "ping", { qos: 0 });
      });
      bystanderMaxRttMs = Math.max(bystanderMaxRttMs, performance.now() - sent);
    }
  })();
  try {
    let received = 0;
    let lastAt = 0;
    const allReceived = new Promise<void>((resolve) => {
      subscriber.on("message", (_topic, _payload, packet) => {
        if (!packet.retain) return;
        received++;
        lastAt = performance.now();
        if (received === expected) resolve();
      });
    });
    const cpuBefore = brokerPid === undefined ? undefined : processCpuMs(brokerPid);
    const sentAt = performance.now();
    await subscriber.subscribeAsync(Object.fromEntries(filters.map((filter) => [filter, { qos: 0 as const }])));
    const subackMs = performance.now() - sentAt;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${received} of ${expected} retained messages arrived within 30 s`)), 30_000);
    });
    await Promise.race([allReceived, deadline]).finally(() => clearTimeout(timer));
    const cpuAfter = brokerPid === undefined ? undefined : processCpuMs(brokerPid);
    return {
      received,
      subackMs,
      allRetainedMs: lastAt - sentAt,
      brokerCpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      bystanderMaxRttMs,
    };
  } finally {
    stop = true;
    await pinging;
    await subscriber.endAsync(true);
  }
}

export function formatRetained(result: RetainedBenchResult): string[] {
  const cpu = result.brokerCpuMs === undefined ? "" : `, broker CPU ${result.brokerCpuMs.toFixed(1)} ms`;
  return [
    `SUBACK in ${result.subackMs.toFixed(1)} ms, all ${result.received} of ${result.expected} matching retained messages in ${result.allRetainedMs.toFixed(1)} ms${cpu}`,
    `another client's longest round trip meanwhile: ${result.bystanderMaxRttMs.toFixed(1)} ms`,
  ];
}
