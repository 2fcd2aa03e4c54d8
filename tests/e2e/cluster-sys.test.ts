import { describe, expect } from "bun:test";
import mqtt from "mqtt";
import { freePort, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";

const nodeIdOf = async (node: { proc: { waitFor(pattern: RegExp): Promise<string> } }) =>
  (await node.proc.waitFor(/^Node \S+ joined the cluster/)).split(" ")[1]!;

describe("$SYS and /metrics of a cluster node", () => {
  testWithPrograms(["redis-server"], "$SYS shows each node's figures under its id and the list of live nodes; /metrics the same", async () => {
    const redis = await startRedis();
    const httpPort = await freePort();
    const a = await startNode(redis.url, "a", "--sys-interval", "200ms", "--http-port", String(httpPort));
    const b = await startNode(redis.url, "b", "--sys-interval", "200ms");
    const [idA, idB] = [await nodeIdOf(a), await nodeIdOf(b)];
    expect(idA).toMatch(/^a-[0-9a-f]{6}$/);
    expect(idB).toMatch(/^b-[0-9a-f]{6}$/);

    const watcher = await mqtt.connectAsync(b.url, { protocolVersion: 5 });
    try {
      const seen = new Map<string, string>();
      let wake = () => {};
      watcher.on("message", (topic, payload) => {
        seen.set(topic, payload.toString());
        wake();
      });
      await watcher.subscribeAsync(["$SYS/broker/cluster/nodes", "$SYS/+/broker/clients/connected"]);
      const until = async (done: () => boolean, what: string) => {
        const deadline = Date.now() + 20_000;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`no ${what}; saw ${JSON.stringify([...seen])}`);
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 500);
          });
        }
      };
      // Node B learns of A from A's next heartbeat (every 5 s); A knew B from its birth.
      await until(() => seen.get("$SYS/broker/cluster/nodes") === JSON.stringify([idA, idB].sort()), "node list with both nodes");
      // A's own figures reach a subscriber on B, under A's id: A has no client, B has this one.
      await until(() => seen.has(`$SYS/${idA}/broker/clients/connected`) && seen.has(`$SYS/${idB}/broker/clients/connected`), "per-node figures");
      expect(seen.get(`$SYS/${idA}/broker/clients/connected`)).toBe("0");
      expect(seen.get(`$SYS/${idB}/broker/clients/connected`)).toBe("1");
    } finally {
      await watcher.endAsync();
    }

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain(`mqtt_pingpong_cluster_node_info{node="${idA}"} 1`);
    expect(metrics).toContain("mqtt_pingpong_cluster_nodes 2");
    expect(metrics).toContain(`mqtt_pingpong_cluster_node{node="${idB}"} 1`);
    expect(metrics).toContain("mqtt_pingpong_cluster_redis_up 1");
  });
});
