// The broker's counters, shared by $SYS topics and GET /metrics.
import type { Duplex } from "node:stream";
import type { Aedes } from "aedes";
import { version } from "../../package.json";
import { clusterViewOf } from "./cluster-view";
import { brokerInternals, connectedClients } from "./aedes-internals";
import type { TrafficCounters } from "../core/rate-history";
import type { LimitCounters, ResourceLimits } from "./resource-limits";

/** One reading of every counter. */
export interface MetricsSample {
  version: string;
  uptimeSec: number;
  clientsConnected: number;
  /** Connections accepted (CONNACK sent) since the broker started. */
  clientsTotal: number;
  subscriptions: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Bytes written to connections and not yet taken by the kernel: what slow consumers cost (--max-queued-bytes). */
  bytesQueued: number;
  retainedMessages: number;
  /** Payload bytes of the retained messages; undefined for a store that does not count them. */
  retainedBytes?: number;
  /** The configured limits, and what each turned away since the start. */
  limits?: ResourceLimits;
  refused?: LimitCounters;
  memoryRssBytes: number;
  memoryHeapUsedBytes: number;
  /** broker --cluster: this node's id, the live nodes (this one included), and whether Redis is up. */
  cluster?: { nodeId: string; nodes: string[]; redisUp: boolean };
}

/** Streams as net.Socket has them; the WebSocket adapter keeps the same two counts. */
type CountedStream = Duplex & { bytesRead?: number; bytesWritten?: number; writableLength?: number };

export class BrokerMetrics {
  private readonly startedAt = performance.now();
  private aedes: Aedes | undefined;
  private clientsTotal = 0;
  private messagesReceived = 0;
  private messagesSent = 0;
  private closedBytesReceived = 0;
  private closedBytesSent = 0;
  private readonly live = new Set<CountedStream>();

  constructor(private readonly resources: { limits: ResourceLimits; counters: LimitCounters } | undefined = undefined) {}

  /** For BrokerOptions.onConnection: counts the bytes of every MQTT connection, live and closed. */
  readonly countConnection = (stream: CountedStream): void => {
    this.live.add(stream);
    stream.on("close", this.countClosed);
  };

  /** One 'close' listener for every stream (it is `this`), not a closure per connection. */
  private readonly countClosed = ((metrics: BrokerMetrics) =>
    function (this: CountedStream) {
      if (!metrics.live.delete(this)) return;
      metrics.closedBytesReceived += this.bytesRead ?? 0;
      metrics.closedBytesSent += this.bytesWritten ?? 0;
    })(this);

  /** Starts counting on a broker; for BrokerOptions.services. */
  readonly attach = (aedes: Aedes): { close(): void } => {
    this.aedes = aedes;
    aedes.on("client", () => this.clientsTotal++);
    // One increment per message; the broker's own $SYS messages (client null) are not received ones.
    aedes.on("publish", (_packet, client) => {
      if (client) this.messagesReceived++;
    });
    // aedes asks authorizeForward once per message it delivers to a client: count those it lets through.
    const forward = aedes.authorizeForward;
    aedes.authorizeForward = (client, packet) => {
      const out = forward.call(aedes, client, packet);
      if (out) this.messagesSent++;
      return out;
    };
    return { close() {} };
  };

  /** Only the running totals: cheap enough to read every second with no page open (no store, no client walk). */
  counters(): TrafficCounters & { bytesQueued: number } {
    let bytesReceived = this.closedBytesReceived;
    let bytesSent = this.closedBytesSent;
    let bytesQueued = 0;
    for (const stream of this.live) {
      bytesReceived += stream.bytesRead ?? 0;
      bytesSent += stream.bytesWritten ?? 0;
      bytesQueued += stream.writableLength ?? 0;
    }
    return { messagesReceived: this.messagesReceived, messagesSent: this.messagesSent, bytesReceived, bytesSent, bytesQueued };
  }

  async sample(): Promise<MetricsSample> {
    const aedes = this.aedes && brokerInternals(this.aedes);
    let subscriptions = 0;
    let retainedMessages = 0;
    let retainedBytes: number | undefined;
    const { messagesReceived, messagesSent, bytesReceived, bytesSent, bytesQueued } = this.counters();
    if (aedes) {
      for (const client of connectedClients(aedes)) {
        subscriptions += Object.keys(client.subscriptions ?? {}).length;
      }
      // Every store counts as it stores: in process (memory, SQLite) or in Redis (--cluster).
      const store = aedes.persistence;
      if (store.retainedCount !== undefined) [retainedMessages, retainedBytes] = [store.retainedCount, store.retainedBytes];
      else if (store.retainedTotals) ({ count: retainedMessages, bytes: retainedBytes } = await store.retainedTotals());
    }
    const memory = process.memoryUsage();
    const cluster = aedes && clusterViewOf(aedes);
    return {
      version,
      uptimeSec: Math.floor((performance.now() - this.startedAt) / 1000),
      clientsConnected: aedes?.connectedClients ?? 0,
      clientsTotal: this.clientsTotal,
      subscriptions,
      messagesReceived,
      messagesSent,
      bytesReceived,
      bytesSent,
      bytesQueued,
      retainedMessages,
      retainedBytes,
      limits: this.resources?.limits,
      refused: this.resources?.counters,
      memoryRssBytes: memory.rss,
      memoryHeapUsedBytes: memory.heapUsed,
      cluster: cluster ? { nodeId: cluster.nodeId, nodes: cluster.nodes(), redisUp: cluster.redisUp } : undefined,
    };
  }
}

/**
 * Every counter, once: its Prometheus name, type and help, and its mosquitto-style $SYS topic where
 * mosquitto has one. GET /metrics and the $SYS publisher both read this list.
 */
export const METRICS: ReadonlyArray<{
  name: string;
  type: "gauge" | "counter";
  help: string;
  read: (sample: MetricsSample) => number;
  sysTopic?: string;
  sysText?: (sample: MetricsSample) => string;
}> = [
  { name: "uptime_seconds", type: "gauge", help: "Seconds since the broker started.", read: (s) => s.uptimeSec, sysTopic: "$SYS/broker/uptime", sysText: (s) => `${s.uptimeSec} seconds` },
  { name: "clients_connected", type: "gauge", help: "Clients connected now.", read: (s) => s.clientsConnected, sysTopic: "$SYS/broker/clients/connected" },
  { name: "clients_total", type: "counter", help: "Client connections accepted since start.", read: (s) => s.clientsTotal, sysTopic: "$SYS/broker/clients/total" },
  { name: "subscriptions", type: "gauge", help: "Subscriptions of the connected clients.", read: (s) => s.subscriptions, sysTopic: "$SYS/broker/subscriptions/count" },
  { name: "messages_received_total", type: "counter", help: "PUBLISH packets received from clients.", read: (s) => s.messagesReceived, sysTopic: "$SYS/broker/messages/received" },
  { name: "messages_sent_total", type: "counter", help: "PUBLISH packets sent to clients.", read: (s) => s.messagesSent, sysTopic: "$SYS/broker/messages/sent" },
  { name: "bytes_received_total", type: "counter", help: "Bytes received on MQTT connections.", read: (s) => s.bytesReceived, sysTopic: "$SYS/broker/bytes/received" },
  { name: "bytes_sent_total", type: "counter", help: "Bytes sent on MQTT connections.", read: (s) => s.bytesSent, sysTopic: "$SYS/broker/bytes/sent" },
  { name: "bytes_queued", type: "gauge", help: "Bytes written to MQTT connections and not yet taken by the kernel.", read: (s) => s.bytesQueued },
  { name: "retained_messages", type: "gauge", help: "Retained messages stored.", read: (s) => s.retainedMessages, sysTopic: "$SYS/broker/retained messages/count" },
  { name: "memory_rss_bytes", type: "gauge", help: "Resident set size of the process.", read: (s) => s.memoryRssBytes, sysTopic: "$SYS/broker/memory/rss" },
  { name: "memory_heap_used_bytes", type: "gauge", help: "JavaScript heap in use.", read: (s) => s.memoryHeapUsedBytes, sysTopic: "$SYS/broker/heap/current" },
];

/** The Prometheus text exposition format (version 0.0.4) of one sample. */
export function formatPrometheus(sample: MetricsSample): string {
  const lines: string[] = [];
  const metric = (name: string, type: "gauge" | "counter", help: string, value: number) => {
    lines.push(`# HELP mqtt_pingpong_${name} ${help}`, `# TYPE mqtt_pingpong_${name} ${type}`, `mqtt_pingpong_${name} ${value}`);
  };
  lines.push("# HELP mqtt_pingpong_info The broker's version.", "# TYPE mqtt_pingpong_info gauge", `mqtt_pingpong_info{version="${sample.version}"} 1`);
  for (const { name, type, help, read } of METRICS) metric(name, type, help, read(sample));
  if (sample.retainedBytes !== undefined) metric("retained_bytes", "gauge", "Payload bytes of the retained messages stored.", sample.retainedBytes);
  if (sample.limits) {
    lines.push("# HELP mqtt_pingpong_limit A configured limit (0: none); see docs/security.md.", "# TYPE mqtt_pingpong_limit gauge");
    for (const [name, value] of Object.entries(sample.limits)) lines.push(`mqtt_pingpong_limit{name="${snakeCase(name)}"} ${value}`);
  }
  if (sample.refused) {
    lines.push("# HELP mqtt_pingpong_limit_refusals_total What a limit turned away: subscriptions, retained messages not kept, messages not kept for offline sessions.", "# TYPE mqtt_pingpong_limit_refusals_total counter");
    for (const [name, value] of Object.entries(sample.refused)) lines.push(`mqtt_pingpong_limit_refusals_total{what="${snakeCase(name)}"} ${value}`);
  }
  if (sample.cluster) {
    const { nodeId, nodes, redisUp } = sample.cluster;
    lines.push("# HELP mqtt_pingpong_cluster_node_info This node's id in the cluster.", "# TYPE mqtt_pingpong_cluster_node_info gauge", `mqtt_pingpong_cluster_node_info{node="${nodeId}"} 1`);
    metric("cluster_nodes", "gauge", "Nodes heard from within three heartbeats, this one included.", nodes.length);
    lines.push("# HELP mqtt_pingpong_cluster_node A live node of the cluster.", "# TYPE mqtt_pingpong_cluster_node gauge");
    for (const node of nodes) lines.push(`mqtt_pingpong_cluster_node{node="${node}"} 1`);
    metric("cluster_redis_up", "gauge", "1 while this node's Redis connections are up.", redisUp ? 1 : 0);
  }
  return lines.join("\n") + "\n";
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
