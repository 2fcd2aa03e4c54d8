// A PUBLISH the ACL refuses goes nowhere: not through Redis to a cluster's nodes, not into an offline
// queue that outlives a crash; a will is judged at CONNECT and again, as its user, when it is sent.
import { describe, expect } from "bun:test";
import { join } from "node:path";
import { pingpong, startBroker, testWithPrograms, freePort, type Proc } from "./harness";
import { startNode, startRedis } from "./cluster-harness";
import { authFiles, mosquittoAs, subscribedAs } from "./acl-setup";

const ACL = `user alice
topic readwrite alice/#
user bob
topic read alice/#
topic readwrite bob/#
`;

describe("a PUBLISH the ACL refuses reaches no one, on any path", () => {
  testWithPrograms(["redis-server", "mosquitto_pub", "mosquitto_sub"], "--cluster: bob's 3.1.1 publish to alice/cmd reaches alice on neither node", async () => {
    const files = await authFiles(["alice", "bob"], ACL);
    const redis = await startRedis();
    const auth = ["--password-file", files.passwd, "--acl-file", files.acl];
    const [a, b] = await Promise.all([startNode(redis.url, "a", ...auth), startNode(redis.url, "b", ...auth)]);
    const sameNode = await subscribedAs(a.proc, a.port, "311", "alice", "alice/#", "-v", "-C", "1", "-W", "20");
    const otherNode = await subscribedAs(b.proc, b.port, "311", "alice", "alice/#", "-v", "-C", "1", "-W", "20");
    // QoS 1: the PUBACK comes once the broker has routed (or dropped) the message.
    const denied = mosquittoAs("mosquitto_pub", a.port, "311", "bob", "-t", "alice/cmd", "-m", "from bob", "-q", "1");
    expect(await denied.waitExit()).toBe(0);
    await a.proc.waitFor(/may not publish to alice\/cmd; dropped/);
    const allowed = mosquittoAs("mosquitto_pub", a.port, "311", "alice", "-t", "alice/marker", "-m", "from alice", "-q", "1");
    expect(await allowed.waitExit()).toBe(0);
    // Each subscriber's first message is alice's: bob's, published before it, went nowhere.
    for (const sub of [sameNode, otherNode]) {
      expect(await sub.waitExit(20_000)).toBe(0);
      expect(sub.stdoutLines).toEqual(["alice/marker from alice"]);
    }
  }, 60_000);

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "--persistence: a refused 3.1.1 publish is not queued for an offline session, across a kill -9", async () => {
    const files = await authFiles(["alice", "bob"], ACL);
    const db = join(files.dir, "state.db");
    const args = ["--password-file", files.passwd, "--acl-file", files.acl, "--persistence", db];
    const { proc: broker, port } = await startBroker(...args);
    // alice's persistent session subscribes, then goes offline.
    const session = ["-i", "alice-box", "-c", "-q", "1"];
    const first = await subscribedAs(broker, port, "311", "alice", "alice/#", ...session);
    first.kill("SIGTERM");
    await first.waitExit();
    await broker.waitFor(/Client alice-box disconnected/);
    // QoS 1 and QoS 2 (PUBREC, PUBREL, PUBCOMP: the flow completes as if accepted, as with mosquitto).
    for (const qos of ["1", "2"]) {
      const denied = mosquittoAs("mosquitto_pub", port, "311", "bob", "-t", `alice/cmd${qos}`, "-m", "from bob", "-q", qos);
      expect(await denied.waitExit()).toBe(0);
      await broker.waitFor(new RegExp(`may not publish to alice/cmd${qos}; dropped`));
    }
    const allowed = mosquittoAs("mosquitto_pub", port, "311", "alice", "-t", "alice/marker", "-m", "from alice", "-q", "1");
    expect(await allowed.waitExit()).toBe(0);
    broker.kill("SIGKILL");
    await broker.waitExit();
    const restarted = pingpong("broker", "--port", String(port), ...args);
    await restarted.waitFor(/Broker listening on/);
    // Back online: the session's queue holds alice's message and nothing else.
    const back = mosquittoAs("mosquitto_sub", port, "311", "alice", "-t", "alice/#", ...session, "-v", "-C", "1", "-W", "15");
    expect(await back.waitExit(20_000)).toBe(0);
    expect(back.stdoutLines).toEqual(["alice/marker from alice"]);
  }, 60_000);
});

describe("wills under the ACL", () => {
  for (const [version, refusal] of [["311", /not authori[sz]ed/i], ["5", /not authori[sz]ed/i]] as const) {
    testWithPrograms(["mosquitto_pub"], `a will to a topic the user may not publish to refuses the CONNECT (MQTT ${version}: CONNACK ${version === "5" ? "0x87" : "5"})`, async () => {
      const files = await authFiles(["alice", "bob"], ACL);
      const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--acl-file", files.acl);
      const pub = mosquittoAs("mosquitto_pub", port, version, "bob", "--will-topic", "alice/cmd", "--will-payload", "gone", "-t", "bob/x", "-m", "hi");
      expect(await pub.waitExit()).not.toBe(0);
      expect(pub.output()).toMatch(refusal);
      await broker.waitFor(/refused: may not publish its will to alice\/cmd \(not authorized\)/);
      // The same client with a will it may publish is let in.
      const fine = mosquittoAs("mosquitto_pub", port, version, "bob", "--will-topic", "bob/status", "--will-payload", "gone", "-t", "bob/x", "-m", "hi");
      expect(await fine.waitExit()).toBe(0);
    });
  }

  testWithPrograms(["mosquitto_sub"], "a will the user may publish is still sent when its client drops (3.1.1 and 5)", async () => {
    const files = await authFiles(["alice", "bob"], ACL);
    const { proc: broker, port } = await startBroker("--password-file", files.passwd, "--acl-file", files.acl);
    const watcher = await subscribedAs(broker, port, "311", "bob", "alice/#", "-v", "-C", "2", "-W", "20");
    for (const version of ["311", "5"] as const) {
      const holder = await subscribedAs(broker, port, version, "alice", `alice/in-${version}`, "--will-topic", `alice/status-${version}`, "--will-payload", "gone");
      holder.kill("SIGKILL");
      await holder.exited;
    }
    expect(await watcher.waitExit(20_000)).toBe(0);
    expect(watcher.stdoutLines.sort()).toEqual(["alice/status-311 gone", "alice/status-5 gone"]);
  }, 30_000);

  testWithPrograms(["redis-server", "mosquitto_sub"], "--cluster: the wills of a node killed with -9 are sent by another node, as the users who set them", async () => {
    const files = await authFiles(["alice", "carol", "bob"], `${ACL}user carol\ntopic readwrite alice/#\n`);
    const redis = await startRedis();
    const auth = ["--password-file", files.passwd, "--acl-file", files.acl];
    const [a, b] = await Promise.all([startNode(redis.url, "a", ...auth), startNode(redis.url, "b", ...auth)]);
    const holders = [
      await subscribedAs(a.proc, a.port, "311", "alice", "alice/in", "-i", "alice-box", "--will-topic", "alice/status-alice", "--will-payload", "alice gone"),
      await subscribedAs(a.proc, a.port, "311", "carol", "alice/in", "-i", "carol-box", "--will-topic", "alice/status-carol", "--will-payload", "carol gone"),
    ];
    // carol loses the right to write alice/#; node b reloads its ACL (SIGHUP), then node a dies.
    files.writeAcl(`${ACL}user carol\ntopic read alice/#\n`);
    process.kill(b.proc.pid, "SIGHUP");
    await b.proc.waitFor(/SIGHUP: reloaded/);
    const watcher = await subscribedAs(b.proc, b.port, "311", "bob", "alice/#", "-v", "-C", "2", "-W", "60");
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    for (const holder of holders) holder.kill("SIGKILL");
    await b.proc.waitFor(/The will of client carol-box may not publish to alice\/status-carol; dropped/, 60_000);
    const marker = mosquittoAs("mosquitto_pub", b.port, "311", "alice", "-t", "alice/marker", "-m", "marker", "-q", "1");
    expect(await marker.waitExit()).toBe(0);
    expect(await watcher.waitExit(60_000)).toBe(0);
    expect(watcher.stdoutLines.sort()).toEqual(["alice/marker marker", "alice/status-alice alice gone"]);
  }, 120_000);

  testWithPrograms(["mosquitto_sub"], "--persistence: wills left by a kill -9 are sent as the user who set them, under the rules of the restarted broker", async () => {
    const files = await authFiles(["alice", "carol", "bob"], `${ACL}user carol\ntopic readwrite alice/#\n`);
    const db = join(files.dir, "state.db");
    const port = await freePort();
    const args = ["--port", String(port), "--password-file", files.passwd, "--acl-file", files.acl, "--persistence", db];
    let broker: Proc = pingpong("broker", ...args);
    await broker.waitFor(/Broker listening on/);
    const holders = [
      await subscribedAs(broker, port, "311", "alice", "alice/in", "-i", "alice-box", "--will-topic", "alice/status-alice", "--will-payload", "alice gone"),
      await subscribedAs(broker, port, "311", "carol", "alice/in", "-i", "carol-box", "--will-topic", "alice/status-carol", "--will-payload", "carol gone"),
    ];
    broker.kill("SIGKILL");
    await broker.waitExit();
    for (const holder of holders) holder.kill("SIGKILL");
    await Promise.all(holders.map((holder) => holder.exited));
    // Meanwhile carol lost the right to write alice/#.
    files.writeAcl(`${ACL}user carol\ntopic read alice/#\n`);
    broker = pingpong("broker", ...args);
    await broker.waitFor(/Broker listening on/);
    const watcher = await subscribedAs(broker, port, "311", "bob", "alice/#", "-v", "-C", "2", "-W", "40");
    // No client is attached to either will now: each is judged as the user it was accepted from.
    await broker.waitFor(/The will of client carol-box may not publish to alice\/status-carol; dropped/, 40_000);
    const marker = mosquittoAs("mosquitto_pub", port, "311", "alice", "-t", "alice/marker", "-m", "marker", "-q", "1");
    expect(await marker.waitExit()).toBe(0);
    expect(await watcher.waitExit(40_000)).toBe(0);
    expect(watcher.stdoutLines).toContain("alice/status-alice alice gone");
    expect(watcher.stdoutLines).not.toContain("alice/status-carol carol gone");
  }, 90_000);
});
