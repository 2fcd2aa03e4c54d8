// What $SYS and /metrics show of a cluster (broker --cluster). Kept apart from cluster.ts, which
// loads the Redis client, so a broker without --cluster does not load it.
import type { Aedes } from "aedes";

export interface ClusterView {
  /** This node's id: the readable name plus a random suffix (see src/core/cluster.ts). */
  readonly nodeId: string;
  /** Ids of the nodes heard from within three heartbeats, this one included, sorted. */
  nodes(): string[];
  readonly redisUp: boolean;
}

const views = new WeakMap<Aedes, ClusterView>();

export function setClusterView(aedes: Aedes, view: ClusterView): void {
  views.set(aedes, view);
}

/** The cluster this broker is a node of, or undefined for a broker on its own. */
export function clusterViewOf(aedes: Aedes): ClusterView | undefined {
  return views.get(aedes);
}
