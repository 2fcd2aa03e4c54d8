// pub and sub as twins of mosquitto_pub / mosquitto_sub: ours against mosquitto, theirs against ours.
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, pingpong, Proc, startBroker, startMosquitto, testWithPrograms } from "./harness";

const VERSIONS = [
  { name: "3.1.1", ours: "3.1.1", mosquitto: "mqttv311" },
  { name: "5", ours: "5", mosquitto: "mqttv5" },
] as const;

/** What mosquitto_sub -d writes to stdout besides the messages. */
const MOSQUITTO_DEBUG = /^(Client |Subscribed \(mid)/;

const stdoutBytes = (proc: Proc) => Buffer.concat(proc.stdoutChunks);

function randomFile(bytes: number): { path: string; content: Buffer } {
  const content = randomBytes(bytes);
  const path = join(mkdtempSync(join(tmpdir(), "pingpong-bin-")), "payload.bin");
  writeFileSync(path, content);
  return { path, content };
}

/** Our pub and sub, pointed at a broker on 127.0.0.1:port with one protocol version. */
function ours(port: number, version: string) {
  const common = ["-h", "127.0.0.1", "-p", String(port), "-V", version];
  return {
    pub: (...args: string[]) => pingpong("pub", ...common, ...args),
    /** Starts sub and resolves once every filter is subscribed. */
    sub: async (...args: string[]) => {
      const proc = pingpong("sub", ...common, "-d", ...args);
      const filters = args.filter((_, i) => args[i - 1] === "-t");
      await proc.waitForCount(/^debug: subscribed to /, filters.length);
      return proc;
    },
    subPlain: (...args: string[]) => pingpong("sub", ...common, ...args),
  };
}

/** mosquitto_pub and mosquitto_sub, pointed at a broker on 127.0.0.1:port with one protocol version. */
function theirs(port: number, version: string) {
  const common = ["-h", "127.0.0.1", "-p", String(port), "-V", version];
  return {
    pub: (...args: string[]) => new Proc(["mosquitto_pub", ...common, ...args]),
    sub: async (...args: string[]) => {
      // stdbuf: mosquitto_sub's stdout is block-buffered in a pipe, and its -d lines tell us it subscribed.
      const proc = new Proc(["stdbuf", "-oL", "mosquitto_sub", ...common, "-d", ...args]);
      await proc.waitFor(/received SUBACK/);
      return proc;
    },
    subPlain: (...args: string[]) => new Proc(["mosquitto_sub", ...common, ...args]),
  };
}

type Tools = ReturnType<typeof ours>;

/**
 * The behaviours both directions must show: retained, QoS 2, wildcards, -C, -W exit 27, and a random
 * binary file byte-exact. `debugLines` drops -d output, which mosquitto_sub writes to stdout.
 */
async function exercise(tools: Tools, debugLines: RegExp): Promise<void> {
  const payloadLines = (proc: Proc) => proc.stdoutLines.filter((line) => !debugLines.test(line));

  // Retained: a subscriber that comes later gets it, flagged retained; -R hides it.
  expect(await tools.pub("-t", "pp/retained", "-m", "kept for later", "-r", "-q", "1").waitExit()).toBe(0);
  const late = await tools.sub("-t", "pp/retained", "-C", "1", "-F", "%r %t %p");
  expect(await late.waitExit()).toBe(0);
  expect(payloadLines(late)).toEqual(["1 pp/retained kept for later"]);
  const skipping = await tools.sub("-t", "pp/retained", "-R", "-W", "1");
  expect(await skipping.waitExit()).toBe(27); // -W: the time ran out, as mosquitto_sub's status
  expect(payloadLines(skipping)).toEqual([]);

  // QoS 2 end to end, and wildcards: + and # match, a sibling does not.
  const wild = await tools.sub("-t", "pp/+/temp", "-t", "pp/house/#", "-q", "2", "-C", "3", "-F", "%q %t %p");
  for (const [topic, message] of [["pp/kitchen/temp", "21.5"], ["pp/kitchen/humidity", "skip me"], ["pp/house/a/b", "deep"], ["pp/garden/temp", "12"]]) {
    expect(await tools.pub("-t", topic!, "-m", message!, "-q", "2").waitExit()).toBe(0);
  }
  expect(await wild.waitExit()).toBe(0); // -C 3: exit after the third message
  expect(payloadLines(wild)).toEqual(["2 pp/kitchen/temp 21.5", "2 pp/house/a/b deep", "2 pp/garden/temp 12"]);

  // A random binary file, byte for byte, through -f and sub -C 1 -N. It is retained, so the sub
  // needs no -d to know when it may start, and stdout holds the payload alone.
  const { path, content } = randomFile(64 * 1024);
  expect(await tools.pub("-t", "pp/binary", "-f", path, "-q", "1", "-r").waitExit()).toBe(0);
  const binary = tools.subPlain("-t", "pp/binary", "-C", "1", "-N", "-q", "1");
  expect(await binary.waitExit()).toBe(0);
  expect(stdoutBytes(binary).length).toBe(content.length);
  expect(Buffer.compare(stdoutBytes(binary), content)).toBe(0);
  expect(await tools.pub("-t", "pp/binary", "-n", "-r").waitExit()).toBe(0);

  // Clean up the retained message (an empty retained message removes it).
  expect(await tools.pub("-t", "pp/retained", "-n", "-r").waitExit()).toBe(0);
}

describe("our pub and sub against Debian's mosquitto", () => {
  for (const version of VERSIONS) {
    testWithPrograms(["mosquitto"], `MQTT ${version.name}: retained, QoS 2, wildcards, -C, -W 27, binary file byte-exact`, async () => {
      const { port } = await startMosquitto();
      await exercise(ours(port, version.ours), /^debug: /);
    }, 60_000);
  }
});

describe("mosquitto_pub and mosquitto_sub against our broker", () => {
  for (const version of VERSIONS) {
    testWithPrograms(["mosquitto_pub", "mosquitto_sub", "stdbuf"], `MQTT ${version.name}: retained, QoS 2, wildcards, -C, -W 27, binary file byte-exact`, async () => {
      const { port } = await startBroker();
      await exercise(theirs(port, version.mosquitto) as unknown as Tools, MOSQUITTO_DEBUG);
    }, 60_000);
  }
});

describe("pub", () => {
  test("-l publishes one message per stdin line; --repeat sends a message N times", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    const sub = await tools.sub("-t", "lines", "-C", "5");
    const pub = new Proc([BINARY, "pub", "-p", String(port), "-t", "lines", "-l", "-q", "1"], { stdin: "pipe" });
    pub.stdin.write("first line\nsecond");
    await pub.stdin.flush();
    pub.stdin.write(" line\nno newline at the end");
    pub.stdin.end();
    expect(await pub.waitExit()).toBe(0);
    expect(await tools.pub("-t", "lines", "-m", "again", "--repeat", "2", "--repeat-delay", "10ms").waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["first line", "second line", "no newline at the end", "again", "again"]);
  });

  test("-s publishes stdin whole, byte for byte, as one message", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    const sub = await tools.sub("-t", "whole", "-C", "1", "-N", "-q", "1");
    // Newlines, NULs and bytes that are not UTF-8, in two writes: --stdin-file must not split, trim or decode.
    const content = Buffer.concat([randomBytes(40_000), Buffer.from("\nline\r\n\0"), randomBytes(30_000)]);
    const pub = new Proc([BINARY, "pub", "-p", String(port), "-t", "whole", "--stdin-file", "-q", "1"], { stdin: "pipe" });
    pub.stdin.write(content.subarray(0, 50_000));
    await pub.stdin.flush();
    pub.stdin.write(content.subarray(50_000));
    pub.stdin.end();
    expect(await pub.waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    expect(Buffer.compare(stdoutBytes(sub), content)).toBe(0);
  });

  test("the will is published when pub vanishes without DISCONNECT", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    const watcher = await tools.sub("-t", "status/pub", "-C", "1", "-v");
    const pub = new Proc([BINARY, "pub", "-p", String(port), "-t", "x", "-l", "--will-topic", "status/pub", "--will-payload", "gone", "-d"], { stdin: "pipe" });
    await pub.waitFor(/^debug: connected to /);
    pub.kill("SIGKILL");
    expect(await watcher.waitExit()).toBe(0);
    expect(watcher.stdoutLines).toEqual(["status/pub gone"]);
  });

  const properties = ["--content-type", "text/plain", "--user-property", "site=lab", "--user-property", "site=roof", "--message-expiry", "1h", "--response-topic", "props/reply", "--correlation-data", "id-7"];

  for (const version of VERSIONS) {
    test(`--will-qos and --will-retain: the will comes at that QoS and stays retained for later subscribers (MQTT ${version.name})`, async () => {
      const { port } = await startBroker();
      const tools = ours(port, version.ours);
      // Subscribed at QoS 2, so the QoS seen is the will's own.
      const watcher = await tools.sub("-t", "status/kept", "-q", "2", "-C", "1", "-F", "%q %t %p");
      const pub = new Proc([BINARY, "pub", "-p", String(port), "-V", version.ours, "-t", "x", "-l", "--will-topic", "status/kept", "--will-payload", "gone for good", "--will-qos", "1", "--will-retain", "-d"], { stdin: "pipe" });
      await pub.waitFor(/^debug: connected to /);
      pub.kill("SIGKILL");
      expect(await watcher.waitExit()).toBe(0);
      expect(watcher.stdoutLines).toEqual(["1 status/kept gone for good"]);
      const later = tools.subPlain("-t", "status/kept", "-q", "2", "-C", "1", "-F", "%r %q %p");
      expect(await later.waitExit()).toBe(0);
      expect(later.stdoutLines).toEqual(["1 1 gone for good"]);
    });
  }

  test("MQTT 5 properties reach our sub --json; under 3.1.1 they are left out, saying so", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    const sub = await tools.sub("-t", "props", "-C", "1", "--json");
    expect(await tools.pub("-t", "props", "-m", "with properties", ...properties).waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    const record = JSON.parse(sub.stdoutLines[0]!);
    expect(record).toMatchObject({ topic: "props", payload: "with properties", payloadlen: 15, qos: 0, retain: 0 });
    expect(record.properties).toMatchObject({
      contentType: "text/plain",
      userProperties: { site: ["lab", "roof"] },
      responseTopic: "props/reply",
      correlationData: Buffer.from("id-7").toString("hex"),
    });
    expect(record.properties.messageExpiryInterval).toBeGreaterThan(3500);
    const old = pingpong("pub", "-p", String(port), "-V", "3.1.1", "-t", "props", "-m", "plain", "--content-type", "text/plain");
    expect(await old.waitExit()).toBe(0);
    expect(old.lines).toEqual(["warning: MQTT 5 properties are left out under MQTT 3.1.1."]);
  });

  testWithPrograms(["mosquitto_sub", "stdbuf"], "MQTT 5 properties from our pub reach mosquitto_sub", async () => {
    const { port } = await startBroker();
    const mosquittoSub = await theirs(port, "mqttv5").sub("-t", "props", "-C", "1", "-F", "%C|%P|%R|%D|%p");
    expect(await ours(port, "5").pub("-t", "props", "-m", "with properties", ...properties).waitExit()).toBe(0);
    expect(await mosquittoSub.waitExit()).toBe(0);
    expect(mosquittoSub.stdoutLines.filter((line) => !MOSQUITTO_DEBUG.test(line))).toEqual(["text/plain|site:lab site:roof|props/reply|id-7|with properties"]);
  });
});

describe("sub", () => {
  for (const [broker, start] of [["our broker", startBroker], ["mosquitto", startMosquitto]] as const) {
    testWithPrograms(broker === "mosquitto" ? ["mosquitto"] : [], `a persistent session (--client-id, -c) keeps QoS 1 messages while away (${broker})`, async () => {
      const { port } = await start();
      const tools = ours(port, "5");
      const id = `persistent-${Date.now()}`;
      const first = await tools.sub("-i", id, "--disable-clean-session", "-q", "1", "-t", "away/+");
      first.kill("SIGINT");
      expect(await first.waitExit()).toBe(0);
      expect(await tools.pub("-t", "away/1", "-m", "while you were out", "-q", "1").waitExit()).toBe(0);
      const back = pingpong("sub", "-p", String(port), "-i", id, "--disable-clean-session", "-q", "1", "-t", "away/+", "-C", "1", "-v");
      expect(await back.waitExit()).toBe(0);
      expect(back.stdoutLines).toEqual(["away/1 while you were out"]);
    });
  }

  test("-T filters topics out, --retained-only stops at the first live message, --remove-retained clears, -E only subscribes", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    for (const topic of ["r/a", "r/b", "r/skip"]) expect(await tools.pub("-t", topic, "-m", `kept ${topic}`, "-r", "-q", "1").waitExit()).toBe(0);
    const retainedOnly = await tools.sub("-t", "r/#", "-T", "r/skip", "--retained-only", "-v");
    await retainedOnly.waitForCount(/^r\/. kept/, 2);
    expect(await tools.pub("-t", "r/live", "-m", "now").waitExit()).toBe(0);
    expect(await retainedOnly.waitExit()).toBe(0);
    expect(retainedOnly.stdoutLines.sort()).toEqual(["r/a kept r/a", "r/b kept r/b"]);

    const remover = tools.subPlain("-t", "r/#", "--remove-retained", "-C", "3", "-q", "1");
    expect(await remover.waitExit()).toBe(0);
    expect(remover.stdoutLines).toHaveLength(3);
    const after = tools.subPlain("-t", "r/#", "-W", "0.5");
    expect(await after.waitExit()).toBe(27);
    expect(after.stdoutLines).toEqual([]);

    const id = `only-subscribe-${Date.now()}`;
    expect(await tools.subPlain("-E", "-i", id, "--disable-clean-session", "-q", "1", "-t", "q/x").waitExit()).toBe(0);
    expect(await tools.pub("-t", "q/x", "-m", "queued", "-q", "1").waitExit()).toBe(0);
    const back = tools.subPlain("-i", id, "--disable-clean-session", "-q", "1", "-t", "q/x", "-C", "1");
    expect(await back.waitExit()).toBe(0);
    expect(back.stdoutLines).toEqual(["queued"]);
  });

  test("binary payloads as hex, base64 and JSON; -F codes", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    const payload = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x0a]);
    const file = join(mkdtempSync(join(tmpdir(), "pingpong-bin-")), "p.bin");
    writeFileSync(file, payload);
    const subs = await Promise.all([
      tools.sub("-t", "bin", "-C", "1", "--hex"),
      tools.sub("-t", "bin", "-C", "1", "--base64", "-v"),
      tools.sub("-t", "bin", "-C", "1", "--json"),
      tools.sub("-t", "bin", "-C", "1", "-F", "%l %x %X %b\\t%%"),
    ]);
    expect(await tools.pub("-t", "bin", "-f", file).waitExit()).toBe(0);
    for (const sub of subs) expect(await sub.waitExit()).toBe(0);
    expect(subs[0]!.stdoutLines).toEqual(["00ff10800a"]);
    expect(subs[1]!.stdoutLines).toEqual([`bin ${payload.toString("base64")}`]);
    expect(JSON.parse(subs[2]!.stdoutLines[0]!)).toMatchObject({ topic: "bin", payloadlen: 5, payload_base64: payload.toString("base64") });
    expect(subs[3]!.stdoutLines).toEqual([`5 00ff10800a 00FF10800A ${payload.toString("base64")}\t%`]);
  });

  test("--idle-timeout exits 27 once no message came for that long, however long messages kept coming", async () => {
    const { port } = await startBroker();
    const tools = ours(port, "5");
    const sub = await tools.sub("-t", "idle", "--idle-timeout", "1.5s");
    // Ten messages 250 ms apart: 2.25 s of traffic, longer than the idle time, and no gap as long.
    expect(await tools.pub("-t", "idle", "-m", "tick", "--repeat", "10", "--repeat-delay", "250ms").waitExit(15_000)).toBe(0);
    expect(await sub.waitExit()).toBe(27);
    expect(sub.stdoutLines.filter((line) => line === "tick")).toHaveLength(10);
  });

  test("-h is the host (as in mosquitto_sub), --help the usage listing the short flags", async () => {
    const help = pingpong("sub", "--help");
    expect(await help.waitExit()).toBe(0);
    for (const flag of ["-t, --topic", "-C, --count", "-W, --timeout", "-N, --omit-newline", "-R, --skip-retained", "-F, --format", "-h, --host"]) {
      expect(help.output()).toContain(flag);
    }
    const pubHelp = pingpong("pub", "--help");
    expect(await pubHelp.waitExit()).toBe(0);
    for (const flag of ["-m, --message", "-f, --file", "--stdin-file", "-l, --stdin-line", "-n, --null-message", "-r, --retain"]) {
      expect(pubHelp.output()).toContain(flag);
    }
    const { port } = await startBroker();
    const sub = pingpong("sub", "-h", "127.0.0.1", "-p", String(port), "-t", "x", "-W", "0.2");
    expect(await sub.waitExit()).toBe(27);
  });

});

describe("refusals", () => {
  test("a refused subscription or MQTT 5 publish is one line and exit 3; a partly refused SUBSCRIBE goes on", async () => {
    // Our broker's --acl-file refuses in SUBACK and PUBACK (mosquitto 2.0 grants any SUBSCRIBE).
    const dir = mkdtempSync(join(tmpdir(), "pingpong-acl-"));
    const acl = join(dir, "acl");
    writeFileSync(acl, "topic readwrite public/#\n");
    const { port } = await startBroker("--acl-file", acl);
    const common = ["-h", "127.0.0.1", "-p", String(port)];

    const denied = pingpong("sub", ...common, "-t", "secret/x");
    expect(await denied.waitExit()).toBe(3);
    expect(denied.lines).toEqual(["error: the broker refused the subscription to secret/x (reason 0x87)"]);

    const partly = pingpong("sub", ...common, "-t", "secret/x", "-t", "public/y", "-C", "1");
    await partly.waitFor(/^warning: the broker refused the subscription to secret\/x \(reason 0x8[07]\)$/);
    expect(await pingpong("pub", ...common, "-t", "public/y", "-m", "allowed").waitExit()).toBe(0);
    expect(await partly.waitExit()).toBe(0);
    expect(partly.stdoutLines).toEqual(["allowed"]);

    const refusedPublish = pingpong("pub", ...common, "-t", "secret/x", "-m", "no", "-q", "1", "-V", "5");
    expect(await refusedPublish.waitExit()).toBe(3);
    expect(refusedPublish.lines).toEqual([expect.stringMatching(/^error: the broker refused the publish to secret\/x: .*Not authorized/i)]);
  });
});

test("ping and echo refused their subscription say so in one line and exit 3", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pingpong-acl-"));
  writeFileSync(join(dir, "acl"), "topic readwrite public/#\n");
  const { port } = await startBroker("--acl-file", join(dir, "acl"));
  for (const [command, topic] of [["echo", "/ping"], ["ping", "/pong"]] as const) {
    const proc = pingpong(command, "-p", String(port));
    expect(await proc.waitExit()).toBe(3);
    expect(proc.lines.filter((line) => line.startsWith("error:"))).toEqual([`error: the broker refused the subscription to ${topic} (reason 0x87)`]);
  }
});
