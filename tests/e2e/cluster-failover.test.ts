import { describe, expect } from "bun:test";
import { freePort, pingpong, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";

const SUMMARY = /(\d+) probes transmitted, (\d+) received/;

describe("clients with several --url and --reconnect move to the next node", () => {
  testWithPrograms(["redis-server"], "ping --reconnect fails over when its node is killed, and reports the gap", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const echo = pingpong("echo", "--url", b.url, "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", a.url, "--url", b.url, "--reconnect", "--interval", "100ms", "--timeout", "2s");
    await ping.waitFor(/seq=5 /);
    expect(a.proc.output()).toMatch(/Client mqtt-pingpong-ping-\w+ connected/);

    a.proc.kill("SIGKILL");
    await ping.waitFor(new RegExp(`^warning: Connection to 127\\.0\\.0\\.1:${a.port} lost; reconnecting\\.$`));
    await ping.waitFor(new RegExp(`^Reconnected to 127\\.0\\.0\\.1:${b.port} after [\\d.]+ m?s; \\d+ probes? went out meanwhile\\.$`), 15_000);
    const back = await ping.waitFor(/^Echoes are back from seq=\d+\.$/, 15_000);
    const firstBack = Number(back.match(/seq=(\d+)/)![1]);
    await ping.waitFor(new RegExp(`seq=${firstBack + 3} `), 15_000);
    expect(ping.exitCode).toBeNull();

    ping.kill("SIGINT");
    const status = await ping.waitExit(10_000);
    // 0 when no probe fell into the gap, 1 when some did; never 3 (connection lost).
    expect([0, 1]).toContain(status);
    expect(ping.output()).toMatch(/^failover: 1 reconnect, [\d.]+ m?s without a broker, \d+ probes? sent meanwhile$/m);
    const [, transmitted, received] = ping.output().match(SUMMARY)!.map(Number);
    expect(received).toBeGreaterThanOrEqual(firstBack + 3 - 3);
    expect(status).toBe(received === transmitted ? 0 : 1);
    expect(ping.output()).toContain(`--- 127.0.0.1:${b.port} /ping → /pong ping statistics ---`);
  });

  testWithPrograms(["redis-server"], "echo --reconnect moves to the other node when its node dies; probes are answered again", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const echo = pingpong("echo", "--url", b.url, "--url", a.url, "--reconnect", "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", a.url, "--interval", "100ms", "--timeout", "2s");
    await ping.waitFor(/seq=3 /);

    b.proc.kill("SIGKILL");
    await echo.waitFor(new RegExp(`^Reconnected to 127\\.0\\.0\\.1:${a.port} after`), 15_000);
    // MQTT.js subscribes again on the new node's fresh session, so probes on A are echoed from A.
    await a.proc.waitFor(/Client mqtt-pingpong-echo-\w+ subscribed to \/ping/, 15_000);
    const answered = ping.lines.filter((line) => /^Got .* seq=\d+ rtt=/.test(line)).length;
    await ping.waitForCount(/^Got .* seq=\d+ rtt=/, answered + 3, 15_000);
    expect(echo.exitCode).toBeNull();
  });

  testWithPrograms(["redis-server"], "sub --reconnect moves to the other node and prints what is published after", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const sub = pingpong("sub", "--url", a.url, "--url", b.url, "--reconnect", "-t", "alerts/#", "-v", "-d");
    await sub.waitFor(/subscribed to alerts\/# \(QoS 0\)/);
    a.proc.kill("SIGKILL");
    await sub.waitFor(new RegExp(`Reconnected to 127\\.0\\.0\\.1:${b.port} after`), 15_000);
    await b.proc.waitFor(/Client mqtt-pingpong-sub-\w+ subscribed to alerts\/#/, 15_000);
    const pub = pingpong("pub", "--url", b.url, "-t", "alerts/door", "-m", "open");
    expect(await pub.waitExit(10_000)).toBe(0);
    await sub.waitFor(/^alerts\/door open$/, 10_000);
    expect(sub.exitCode).toBeNull();
  });

  testWithPrograms(["redis-server"], "without --reconnect, several --url still help to connect: a dead first node is skipped", async () => {
    const redis = await startRedis();
    const b = await startNode(redis.url, "b");
    const dead = `mqtt://127.0.0.1:${await freePort()}`;
    const echo = pingpong("echo", "--url", dead, "--url", b.url);
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", dead, "--url", b.url, "--count", "2", "--interval", "100ms");
    expect(await ping.waitExit(20_000)).toBe(0);
    expect(ping.output()).toContain("2 probes transmitted, 2 received");
  });
});
