import { describe, expect, test } from "bun:test";
import { freePort, pingpong, testWithPrograms } from "./harness";
import { accepts, freePortRange, startRedis } from "./cluster-harness";

describe("cluster --nodes N: N broker processes over one Redis", () => {
  testWithPrograms(["redis-server"], "three nodes start, route between each other, and all stop on Ctrl-C", async () => {
    const redis = await startRedis();
    const base = await freePortRange(3);
    const cluster = pingpong("cluster", "--nodes", "3", "--base-port", String(base), "--redis", redis.url);
    await cluster.waitFor(new RegExp(`Cluster of 3 nodes on ports ${base}-${base + 2} over Redis 127\\.0\\.0\\.1:${redis.port}/0 is up\\.`), 20_000);
    for (let i = 0; i < 3; i++) expect(cluster.output()).toContain(`[${base + i}] Broker listening on 127.0.0.1:${base + i}`);

    const echo = pingpong("echo", "--port", String(base + 2));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--port", String(base), "--count", "3", "--interval", "100ms");
    expect(await ping.waitExit(20_000)).toBe(0);
    expect(ping.output()).toContain("3 probes transmitted, 3 received");

    cluster.kill("SIGINT");
    expect(await cluster.waitExit(15_000)).toBe(0);
    expect(cluster.output()).toContain("Cluster stopped.");
    expect(cluster.lines.filter((line) => /^\[\d+\] Broker stopped\.$/.test(line))).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(await accepts(base + i)).toBe(false);
  });

  testWithPrograms(["redis-server"], "flags after -- go to every node's broker", async () => {
    const redis = await startRedis();
    const base = await freePortRange(1);
    const httpPort = await freePort();
    const cluster = pingpong("cluster", "--nodes", "1", "--base-port", String(base), "--redis", redis.url, "--", "--http-port", String(httpPort));
    await cluster.waitFor(/Cluster of 1 node on ports/, 20_000);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/mqtt_pingpong_cluster_node_info\{node="node-\d+-[0-9a-f]{6}"\} 1/);
    cluster.kill("SIGTERM");
    expect(await cluster.waitExit(15_000)).toBe(0);
  });

  test("Redis unreachable: the nodes say so, the others are stopped, exit status 5", async () => {
    const redisPort = await freePort();
    const base = await freePortRange(2);
    const cluster = pingpong("cluster", "--nodes", "2", "--base-port", String(base), "--redis", `redis://127.0.0.1:${redisPort}`);
    expect(await cluster.waitExit(20_000)).toBe(5);
    expect(cluster.output()).toMatch(new RegExp(`\\[(${base}|${base + 1})\\] error: cannot reach Redis at 127\\.0\\.0\\.1:${redisPort}/0: connect ECONNREFUSED`));
    expect(cluster.output()).toMatch(/error: node on port \d+ exited with status 5 before listening; stopped the other nodes\./);
    for (let i = 0; i < 2; i++) expect(await accepts(base + i)).toBe(false);
  });

  test.each([
    [["--nodes", "0"], /--nodes must be an integer from 1 to 64, not "0"/],
    [["--redis", "127.0.0.1:6379"], /--redis: "127\.0\.0\.1:6379" is not a URL/],
    [["--base-port", "65535", "--nodes", "2"], /--base-port must be an integer from 1 to 65534/],
  ])("bad flags %p are usage errors", async (args, message) => {
    const cluster = pingpong("cluster", ...args);
    expect(await cluster.waitExit()).toBe(2);
    expect(cluster.output()).toMatch(message);
  });
});
