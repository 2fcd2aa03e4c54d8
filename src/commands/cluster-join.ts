import type { Cluster } from "../broker/cluster";
import type { clusterArgs } from "../broker/setup/flags";
import { ExitCode } from "../core/exit-codes";
import { parseRedisUrl } from "../core/cluster";
import { UsageError } from "../core/usage-error";
import { log } from "../log";
import { durationFlag } from "../core/flag-parsers";

type ClusterArgValues = { [K in keyof typeof clusterArgs]?: string | boolean };

/**
 * Joins the cluster named by --cluster, or returns undefined without it. A bad URL is a usage error (2);
 * Redis out of reach at start is one line and exit status 5.
 */
export async function joinClusterFromArgs(args: ClusterArgValues): Promise<Cluster | undefined> {
  // Checked even without --cluster: a wrong value is an error, not silently ignored.
  const connectTimeoutMs = durationFlag("redis-timeout", String(args["redis-timeout"]), 1);
  if (args.cluster === undefined) return undefined;
  const redisUrl = String(args.cluster);
  try {
    parseRedisUrl(redisUrl);
  } catch (error) {
    throw new UsageError(`--cluster: ${(error as Error).message}`);
  }
  const nodeName = args["node-name"] === undefined ? undefined : String(args["node-name"]);
  // Loaded only with --cluster: the Redis client is no start-up cost for a broker on its own.
  const { joinCluster, RedisUnreachableError } = await import("../broker/cluster");
  try {
    const cluster = await joinCluster({ redisUrl, nodeName, connectTimeoutMs });
    log.info(`Node ${cluster.nodeId} joined the cluster on Redis ${cluster.redis.display}.`);
    return cluster;
  } catch (error) {
    if (error instanceof RedisUnreachableError) {
      log.error(error.message);
      process.exit(ExitCode.clusterRedis);
    }
    throw error;
  }
}
