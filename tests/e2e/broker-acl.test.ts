import { describe, expect } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Proc, pingpong, startBroker, testWithPrograms } from "./harness";

const ACL = `# anonymous clients: nothing at all
user alice
topic readwrite alice/#
topic read public/#
topic write secret/#
user bob
topic read #
topic write public/#
topic deny secret/#
pattern readwrite users/%u/#
pattern write devices/%c/status
`;

async function aclBroker(): Promise<{ broker: Proc; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), "pingpong-acl-"));
  const passwd = join(dir, "passwd");
  for (const user of ["alice", "bob"]) expect(await pingpong("passwd", "-b", passwd, user, `${user}-pw`).waitExit()).toBe(0);
  writeFileSync(join(dir, "acl"), ACL);
  const { proc: broker, port } = await startBroker("--password-file", passwd, "--acl-file", join(dir, "acl"));
  return { broker, port };
}

const mosquitto = (tool: string, port: number, version: string, user: string, ...args: string[]) =>
  new Proc([tool, "-h", "127.0.0.1", "-p", String(port), "-V", version, "-u", user, "-P", `${user}-pw`, ...args]);

/** bob reads everything but secret/#: a subscriber that shows what was delivered. */
async function bobListening(broker: Proc, port: number, version: string, count: number): Promise<Proc> {
  const before = broker.lines.filter((line) => /subscribed to #/.test(line)).length;
  const sub = mosquitto("mosquitto_sub", port, version, "bob", "-t", "#", "-v", "-C", String(count), "-W", "20");
  await broker.waitForCount(/subscribed to #/, before + 1);
  return sub;
}

describe("the broker with --acl-file", () => {
  for (const [version, code] of [["5", "135"], ["311", "128"]] as const) {
    testWithPrograms(["mosquitto_sub"], `a denied SUBSCRIBE gets ${code} in SUBACK (MQTT ${version})`, async () => {
      const { broker, port } = await aclBroker();
      const sub = mosquitto("mosquitto_sub", port, version, "alice", "-t", "secret/#", "-t", "alice/#", "-d", "-W", "20", "-C", "1");
      // Two filters in one SUBSCRIBE: the refused one fails, the granted one works.
      await broker.waitFor(/may not subscribe to secret\/#; refused/);
      await broker.waitFor(/subscribed to alice\/#/);
      const pub = mosquitto("mosquitto_pub", port, version, "alice", "-t", "alice/x", "-m", "granted");
      expect(await pub.waitExit()).toBe(0);
      expect(await sub.waitExit()).toBe(0);
      // mosquitto_sub's -d output comes in one piece at exit (stdout is a pipe).
      expect(sub.output()).toContain(`Subscribed (mid: 1): ${code}, 0`);
      expect(sub.stdoutLines.filter((line) => !line.startsWith("Client ") && !line.startsWith("Subscribed"))).toEqual(["granted"]);
    });
  }

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "a denied PUBLISH is refused with 0x87 in PUBACK (MQTT 5) and delivered to nobody", async () => {
    const { broker, port } = await aclBroker();
    const sub = await bobListening(broker, port, "5", 1);
    const denied = mosquitto("mosquitto_pub", port, "5", "alice", "-t", "public/news", "-m", "denied", "-q", "1", "-d");
    await denied.waitExit();
    expect(denied.output()).toContain("received PUBACK (Mid: 1, RC:135)");
    const allowed = mosquitto("mosquitto_pub", port, "5", "alice", "-t", "alice/news", "-m", "allowed", "-q", "1");
    expect(await allowed.waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["alice/news allowed"]);
  });

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "a denied PUBLISH is dropped in MQTT 3.1.1: acknowledged, connection kept, delivered to nobody", async () => {
    const { broker, port } = await aclBroker();
    const sub = await bobListening(broker, port, "311", 1);
    // Two messages on one connection: the first denied (QoS 1, still PUBACKed), the second allowed.
    const pub = mosquitto("mosquitto_pub", port, "311", "alice", "-t", "public/news", "-m", "denied", "-q", "1", "-d");
    expect(await pub.waitExit()).toBe(0);
    expect(pub.output()).toContain("received PUBACK");
    await broker.waitFor(/may not publish to public\/news; dropped/);
    const retained = mosquitto("mosquitto_pub", port, "311", "alice", "-t", "public/kept", "-m", "denied", "-r");
    expect(await retained.waitExit()).toBe(0);
    const allowed = mosquitto("mosquitto_pub", port, "311", "alice", "-t", "alice/news", "-m", "allowed");
    expect(await allowed.waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["alice/news allowed"]);
    // The denied retained message was not stored either: a new subscriber gets nothing retained.
    const late = mosquitto("mosquitto_sub", port, "311", "bob", "-t", "public/#", "-v", "--retained-only", "-W", "1");
    await late.waitExit();
    expect(late.stdoutLines).toEqual([]);
  });

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "topic deny withholds matching messages from a # subscriber; %u and %c patterns apply per client", async () => {
    const { broker, port } = await aclBroker();
    const sub = await bobListening(broker, port, "5", 3);
    const publish = async (user: string, topic: string, ...extra: string[]) => {
      const pub = mosquitto("mosquitto_pub", port, "5", user, "-t", topic, "-m", topic, "-q", "1", "-d", ...extra);
      await pub.waitExit();
      return pub.output().includes("RC:135") ? "denied" : "ok";
    };
    expect(await publish("alice", "secret/plans")).toBe("ok"); // bob reads # but is denied secret/#
    expect(await publish("alice", "users/alice/inbox")).toBe("ok");
    expect(await publish("alice", "users/bob/inbox")).toBe("denied");
    expect(await publish("alice", "devices/sensor-7/status", "-i", "sensor-7")).toBe("ok");
    expect(await publish("alice", "devices/sensor-7/status", "-i", "sensor-8")).toBe("denied");
    expect(await publish("bob", "public/end")).toBe("ok");
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["users/alice/inbox users/alice/inbox", "devices/sensor-7/status devices/sensor-7/status", "public/end public/end"]);
  });
});
