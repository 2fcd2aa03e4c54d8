import { describe, expect } from "bun:test";
import { freePort, pingpong, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";

const SUMMARY = /(\d+) probes transmitted, (\d+) received/;

describe("clients with several --url and --reconnect move to the next node", () => {
  testWithPrograms(["redis-server"], "ping --reconnect fails over when its node is killed, and reports the gap's probes as lost or recovered", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const echo = pingpong("echo", "--url", b.url, "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    const count = 40;
    const ping = pingpong("ping", "--url", a.url, "--url", b.url, "--reconnect", "--interval", "100ms", "--timeout", "1s", "--count", String(count));
    await ping.waitFor(/seq=5 /);
    expect(a.proc.output()).toMatch(/Client mqtt-pingpong-ping-\w+ connected/);

    a.proc.kill("SIGKILL");
    await ping.waitFor(new RegExp(`^warning: Connection to 127\\.0\\.0\\.1:${a.port} lost; reconnecting\\.$`));
    await ping.waitFor(new RegExp(`^Reconnected to 127\\.0\\.0\\.1:${b.port} after [\\d.]+ m?s; \\d+ probes? went out meanwhile\\.$`), 15_000);
    const back = await ping.waitFor(/^Echoes are back from seq=\d+\.$/, 15_000);
    const firstBack = Number(back.match(/seq=(\d+)/)![1]);
    // Once every probe of the gap has its echo or has timed out, one line says which.
    const gapLine = await ping.waitFor(/^The gap's \d+ probes? \(seq=[\d.]+\): \d+ lost, \d+ recovered \(answered late\)\.$|^No probe fell into the gap\.$/, 15_000);
    const [gapFirst, gapLast] = (gapLine.match(/seq=(\d+)(?:\.\.(\d+))?/) ?? [, firstBack, firstBack - 1]).slice(1).map((text, i, all) => Number(text ?? all[0]));
    const [gapLost, gapRecovered] = (gapLine.match(/(\d+) lost, (\d+) recovered/) ?? [, 0, 0]).slice(1).map(Number);
    expect(gapLast).toBe(firstBack - 1);
    expect(gapFirst).toBeGreaterThan(5); // seq=5 was answered before the kill
    expect(gapLost! + gapRecovered!).toBe(gapLast! - gapFirst! + 1);

    // 0 when no probe fell into the gap, 1 when one was lost; never 3 (connection lost).
    const status = await ping.waitExit(20_000);
    expect(ping.output()).toContain(`--- 127.0.0.1:${b.port} /ping → /pong ping statistics ---`);
    const [, transmitted, received] = ping.output().match(SUMMARY)!.map(Number);
    expect(transmitted).toBe(count);
    // Every probe outside the gap was answered: what the summary misses is exactly the gap's lost.
    expect(transmitted! - received!).toBe(gapLost!);
    expect(status).toBe(gapLost ? 1 : 0);
    expect(ping.output()).toMatch(new RegExp(`^failover: 1 reconnect, [\\d.]+ m?s without a broker, \\d+ probes? sent meanwhile; probes of the gaps: ${gapLost} lost, ${gapRecovered} recovered$`, "m"));
  }, 30_000);

  testWithPrograms(["redis-server"], "ping --reconnect --json: a gap object and the gap's counts in the summary", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const echo = pingpong("echo", "--url", b.url, "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "--url", a.url, "--url", b.url, "--reconnect", "--interval", "100ms", "--timeout", "1s", "--count", "30", "--json");
    await ping.waitFor(/"seq":5,/);
    a.proc.kill("SIGKILL");
    const status = await ping.waitExit(30_000);
    const objects = ping.stdoutLines.filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, any>);
    const gaps = objects.filter((object) => object.type === "gap");
    expect(gaps).toHaveLength(1);
    const gap = gaps[0]!;
    expect(gap.lost + gap.recovered).toBe(gap.lastSeq - gap.firstSeq + 1);
    const lostSeqs = objects.filter((object) => object.type === "lost").map((object) => object.seq);
    expect(lostSeqs).toHaveLength(gap.lost);
    for (const seq of lostSeqs) expect(seq >= gap.firstSeq && seq <= gap.lastSeq).toBe(true);
    const summary = objects.at(-1)!;
    expect(summary.type).toBe("summary");
    expect(summary.transmitted - summary.received).toBe(gap.lost);
    expect(summary.failover).toMatchObject({ reconnects: 1, gapProbesLost: gap.lost, gapProbesRecovered: gap.recovered });
    expect(status).toBe(gap.lost ? 1 : 0);
  }, 30_000);

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
