// Joins a broker to a cluster the way aedes is built for it: mqemitter-redis carries every publish
// between processes, aedes-persistence-redis keeps sessions, subscriptions, retained messages and
// QoS 1/2 state in Redis. This module only builds those two and watches the Redis connections.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Aedes, AedesOptions } from "aedes";
import Redis from "ioredis";
import mqemitterRedis from "mqemitter-redis";
import aedesPersistenceRedis from "aedes-persistence-redis";
import { aliveNodes, makeNodeId, parseRedisUrl, type RedisTarget } from "../core/cluster";
import { log } from "../log";
import { brokerInternals, connectedClients } from "./aedes-internals";
import { setClusterView, type ClusterView } from "./cluster-view";
import { ReasonCode } from "../core/reason-codes";

export interface ClusterOptions {
  /** redis://host:port[/db] (rediss:// for TLS). */
  redisUrl: string;
  /** Readable part of the node id (default: this host's name); a random suffix is added. */
  nodeName?: string;
  /** Give up reaching Redis at start after this long. */
  connectTimeoutMs: number;
  /** aedes's $SYS heartbeat; a node missing three is taken as gone (its clients' wills are then sent). */
  heartbeatMs?: number;
}

export interface Cluster extends ClusterView {
  readonly redis: RedisTarget;
  /** mq, persistence, id and heartbeat, for startBroker's `aedes` option. */
  readonly aedesOptions: AedesOptions;
  /** Watches the broker once it runs: node heartbeats, errors, and Redis loss. */
  attach(aedes: Aedes): void;
  /**
   * Stops the broker (`closeBroker`), then the Redis connections. With Redis away the broker gets
   * SHUTDOWN_WITHOUT_REDIS_MS (aedes would wait for ever on session writes); the caller then exits.
   */
  shutdown(closeBroker: () => Promise<void>): Promise<void>;
}

/** Redis could not be reached at start: the command prints this and exits with status 5. */
export class RedisUnreachableError extends Error {}

export const DEFAULT_CLUSTER_HEARTBEAT_MS = 5_000;
/** While Redis is away, reconnect this often (ioredis keeps retrying for ever). */
const REDIS_RETRY_MS = 250;
/** How long a shutdown waits for the broker to close while Redis is away. */
const SHUTDOWN_WITHOUT_REDIS_MS = 1_000;

export async function joinCluster(options: ClusterOptions): Promise<Cluster> {
  const redis = parseRedisUrl(options.redisUrl);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_CLUSTER_HEARTBEAT_MS;
  const nodeId = makeNodeId(options.nodeName ?? hostname(), randomBytes(3).toString("hex"));
  const connections = await connectRedis(redis, nodeId, options.connectTimeoutMs);
  const [command, publisher, subscriber] = connections;

  const mq = mqemitterRedis({ pubConn: publisher, subConn: subscriber, matchEmptyLevels: true, concurrency: 100 });
  // mqemitter-redis re-emits connection errors on `state`; unheard, they would end the process.
  // The connection listeners of RedisHealth already report a loss.
  (mq as unknown as { state: NodeJS.EventEmitter }).state.on("error", () => {});
  // maxSessionDelivery is the last index of the stored queue that a reconnecting session reads
  // (LRANGE 0..n). Its default, 1000, cut a longer queue short: the rest stayed in Redis until the
  // next connection, behind the live messages delivered meanwhile. -1 is Redis for "to the end".
  const persistence = aedesPersistenceRedis({ conn: command, maxSessionDelivery: -1 });

  // Every node's aedes publishes $SYS/<id>/birth once and $SYS/<id>/heartbeat each heartbeatMs.
  const lastSeen = new Map<string, number>([[nodeId, Date.now()]]);
  const seen = (packet: Record<string, unknown>, done: () => void) => {
    lastSeen.set(String(packet.payload), Date.now());
    done();
  };
  mq.on("$SYS/+/heartbeat", seen);
  mq.on("$SYS/+/birth", seen);

  const health = new RedisHealth(redis, connections);
  const aedesOptions: AedesOptions = {
    id: nodeId,
    mq,
    persistence,
    heartbeatInterval: heartbeatMs,
    // A client id connecting on another node must close its session here: aedes says so on $SYS.
    announceClients: true,
  } as AedesOptions;

  const cluster: Cluster = {
    nodeId,
    redis,
    aedesOptions,
    get redisUp() {
      return health.up;
    },
    nodes: () => aliveNodes(lastSeen, Date.now(), heartbeatMs),
    attach(aedes) {
      health.broker = aedes;
      setClusterView(aedes, cluster);
      // In front of the broker's own preConnect (limits, access): a CONNECT while Redis is away is
      // closed unanswered, so the client retries or moves to another node.
      const running = brokerInternals(aedes);
      const preConnect = running.preConnect;
      running.preConnect = (client, packet, callback) => {
        if (health.up) preConnect.call(aedes, client, packet, callback);
        else callback(new Error(`Redis at ${redis.display} is unavailable`), false);
      };
      // Without a listener an 'error' event would end the process; a failed Redis write is logged instead.
      (aedes as unknown as NodeJS.EventEmitter).on("error", (error: Error) => {
        if (!health.closing) log.warn(`cluster: ${error.message}`);
      });
    },
    async shutdown(closeBroker) {
      health.closing = true;
      if (!health.up) {
        // aedes would wait for ever on the Redis writes of closing sessions: give it a moment, no
        // more, and leave the connections as they are (dropping them would fail those writes with
        // errors on the way out); the process ends right after.
        await Promise.race([closeBroker(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WITHOUT_REDIS_MS))]);
        return;
      }
      await closeBroker();
      for (const connection of connections) connection.disconnect();
    },
  };
  return cluster;
}

/**
 * The three Redis connections a node needs (commands, publish, subscribe), retrying until
 * `connectTimeoutMs`; then RedisUnreachableError.
 */
async function connectRedis(redis: RedisTarget, nodeId: string, connectTimeoutMs: number): Promise<[Redis, Redis, Redis]> {
  // At start a failed attempt is final (retryStrategy null), so the command can say so and exit;
  // once connected, Redis going away means reconnecting until it is back.
  let starting = true;
  // The parts, not the URL: ioredis parses a URL string with the deprecated url.parse(), which warns.
  const command = new Redis({
    host: redis.host,
    port: redis.port,
    db: redis.db,
    username: redis.username,
    password: redis.password,
    tls: redis.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: Math.max(1, connectTimeoutMs),
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    connectionName: nodeId,
    retryStrategy: () => (starting ? null : REDIS_RETRY_MS),
  });
  let lastError = "";
  const noteError = (error: Error) => (lastError = error.message);
  command.on("error", noteError);
  const deadline = performance.now() + connectTimeoutMs;
  for (;;) {
    try {
      await command.connect();
      break;
    } catch (error) {
      const reason = lastError || (error as Error).message;
      if (performance.now() + REDIS_RETRY_MS >= deadline) {
        command.disconnect();
        throw new RedisUnreachableError(`cannot reach Redis at ${redis.display}: ${reason}`);
      }
      await new Promise((resolve) => setTimeout(resolve, REDIS_RETRY_MS));
    }
  }
  starting = false;
  command.off("error", noteError);
  const publisher = command.duplicate();
  const subscriber = command.duplicate();
  // Ready before the first SUBSCRIBE: a subscriber whose ready check (INFO) comes after SUBSCRIBE is refused.
  await Promise.all([publisher.connect(), subscriber.connect()]);
  return [command, publisher, subscriber];
}

/**
 * Whether the node can serve: a node without Redis cannot route a single message, so on losing any
 * connection it disconnects its clients (MQTT 5: Server busy) until all are ready again.
 */
class RedisHealth {
  up = true;
  closing = false;
  broker: Aedes | undefined;
  private lastError = "";

  constructor(
    private readonly redis: RedisTarget,
    private readonly connections: Redis[],
  ) {
    for (const connection of connections) {
      connection.on("error", (error: Error) => (this.lastError = error.message));
      connection.on("close", () => this.down(this.lastError || "connection closed"));
      connection.on("ready", () => this.ready());
    }
  }

  private down(reason: string): void {
    if (!this.up || this.closing) return;
    this.up = false;
    log.warn(`Lost Redis at ${this.redis.display} (${reason}); refusing clients until it is back.`);
    if (!this.broker) return;
    for (const client of connectedClients(this.broker)) {
      client.disconnect({ reasonCode: ReasonCode.serverBusy }, () => {});
      // aedes finishes a close only after its Redis writes; end the socket now so the client knows.
      setImmediate(() => client.conn.end());
    }
  }

  private ready(): void {
    if (this.up || this.closing) return;
    if (this.connections.some((connection) => connection.status !== "ready")) return;
    this.up = true;
    this.lastError = "";
    log.info(`Redis at ${this.redis.display} is back; accepting clients.`);
  }
}
