// $SYS/broker/... topics, published (retained) every --sys-interval, with mosquitto's topic names;
// in a cluster, $SYS/<node-id>/broker/... and $SYS/broker/cluster/nodes.
import type { Aedes } from "aedes";
import { log } from "../log";
import { METRICS, type BrokerMetrics, type MetricsSample } from "./metrics";

/** A cluster's node list, the same from every node, so one retained topic serves them all. */
const CLUSTER_NODES_TOPIC = "$SYS/broker/cluster/nodes";

/** Topic -> how to read it off a sample: the version, then every counter that has a $SYS topic. */
const SYS_TOPICS: Array<[string, (sample: MetricsSample) => string | number]> = [
  ["$SYS/broker/version", (s) => `mqtt-pingpong version ${s.version}`],
  ...METRICS.filter((metric) => metric.sysTopic).map(({ sysTopic, sysText, read }): [string, (sample: MetricsSample) => string | number] => [sysTopic!, sysText ?? read]),
];
/** For BrokerOptions.services: publishes now, then every `intervalMs`, until closed. */
export function sysPublisher(metrics: BrokerMetrics, intervalMs: number) {
  return (aedes: Aedes): { close(): void } => {
    let stopped = false;
    const publishAll = async () => {
      let sample: MetricsSample;
      try {
        sample = await metrics.sample();
      } catch (error) {
        // e.g. Redis away under --cluster: skip this round rather than crash the broker.
        log.debug(`$SYS: no sample this round: ${(error as Error).message}`);
        return;
      }
      if (stopped) return;
      // In a cluster every node's figures would overwrite the others' on one topic: each node uses
      // $SYS/<node-id>/broker/..., not retained (node ids change with every start; retained copies
      // of gone nodes would pile up in Redis), next to the retained list of live nodes.
      const cluster = sample.cluster;
      const prefix = cluster ? `$SYS/${cluster.nodeId}/` : "$SYS/";
      for (const [topic, read] of SYS_TOPICS) {
        aedes.publish({ cmd: "publish", topic: prefix + topic.slice("$SYS/".length), payload: Buffer.from(String(read(sample))), qos: 0, retain: !cluster, dup: false }, () => {});
      }
      if (cluster) {
        aedes.publish({ cmd: "publish", topic: CLUSTER_NODES_TOPIC, payload: Buffer.from(JSON.stringify(cluster.nodes)), qos: 0, retain: true, dup: false }, () => {});
      }
    };
    // The first round goes out as soon as startup is done, not one whole interval later.
    const first = setTimeout(publishAll, 0);
    const timer = setInterval(publishAll, intervalMs);
    return {
      close() {
        stopped = true;
        clearTimeout(first);
        clearInterval(timer);
      },
    };
  };
}
