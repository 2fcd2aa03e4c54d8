// pub with several --url and --reconnect: when its node dies between repeats, the rest go to the next node.
import { describe, expect } from "bun:test";
import { pingpong, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";

describe("pub with several --url and --reconnect", () => {
  testWithPrograms(["redis-server"], "its node killed between repeats, pub reconnects to the next and the later messages go there", async () => {
    const redis = await startRedis();
    // --verbose on B: its log then names each publish it takes in.
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b", "--verbose")]);
    const sub = pingpong("sub", "--url", b.url, "-t", "meter", "-q", "1", "-d");
    await sub.waitFor(/^debug: subscribed to meter/);
    const repeats = 30;
    const pub = pingpong("pub", "--url", a.url, "--url", b.url, "--reconnect", "-i", "pub-failover", "-t", "meter", "-m", "reading", "-q", "1", "--repeat", String(repeats), "--repeat-delay", "100ms");
    await sub.waitForCount(/^reading$/, 3);
    expect(a.proc.output()).toContain("Client pub-failover connected.");
    expect(b.proc.output()).not.toContain("pub-failover");
    a.proc.kill("SIGKILL");
    await pub.waitFor(new RegExp(`^warning: Connection to 127\\.0\\.0\\.1:${a.port} lost; reconnecting\\.$`));
    await pub.waitFor(new RegExp(`^Reconnected to 127\\.0\\.0\\.1:${b.port} after [\\d.]+ m?s`), 15_000);
    expect(await pub.waitExit(20_000)).toBe(0);
    await b.proc.waitFor(/^Client pub-failover connected\.$/);
    await b.proc.waitFor(/^debug: Client pub-failover published reading on meter \(QoS 1\)\.$/);
    // QoS 1 is at least once: a message in flight when A died is sent again, none is lost.
    await sub.waitForCount(/^reading$/, repeats, 10_000);
  });
});
