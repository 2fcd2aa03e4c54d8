// Broker bugs found by checking against independent clients (issue 14), each pinned to the spec's
// statement and, where mosquitto is the reference, run against Debian's mosquitto too.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNode, startRedis } from "./cluster-harness";
import { pingpong, Proc, startBroker, startMosquitto, testWithPrograms } from "./harness";
import { RawClient } from "./mqtt-raw";

/** Subscribes `+/+` at QoS 2 on a Clean Start session that outlives its connection, then leaves. */
async function cleanStartSessionThatPersists(port: number, clientId: string): Promise<void> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId, keepalive: 60, properties: { sessionExpiryInterval: 99999 } });
  await client.waitFor((p) => p.cmd === "connack");
  client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "+/+", qos: 2 }] });
  await client.waitFor((p) => p.cmd === "suback");
  client.send({ cmd: "disconnect" });
  await client.waitClosed();
}

async function publishWhileAway(port: number): Promise<void> {
  const publisher = await RawClient.open(port, 5);
  publisher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "", keepalive: 60 });
  await publisher.waitFor((p) => p.cmd === "connack");
  publisher.send({ cmd: "publish", topic: "Topic/C", payload: Buffer.from("qos 1"), qos: 1, messageId: 1, retain: false, dup: false });
  await publisher.waitFor((p) => p.cmd === "puback");
  publisher.send({ cmd: "publish", topic: "TopicA/C", payload: Buffer.from("qos 2"), qos: 2, messageId: 2, retain: false, dup: false });
  await publisher.waitFor((p) => p.cmd === "pubrec");
  publisher.send({ cmd: "pubrel", messageId: 2 });
  await publisher.waitFor((p) => p.cmd === "pubcomp");
  publisher.close();
}

/** Reconnects with Clean Start = 0; resolves with the CONNACK's Session Present and the topics that arrive. */
async function resume(port: number, clientId: string, count: number): Promise<{ sessionPresent: boolean; topics: string[] }> {
  const client = await RawClient.open(port, 5);
  // No Session Expiry Interval this time: the session ends when this connection does, but what it
  // resumes is the stored one, queue included.
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: false, clientId, keepalive: 60 });
  const connack = await client.waitFor<any>((p) => p.cmd === "connack");
  const topics: string[] = [];
  const deadline = Date.now() + 10_000;
  while (topics.length < count) {
    const publish = await client.waitFor<any>((p) => p.cmd === "publish" && !topics.includes((p as any).topic), Math.max(1, deadline - Date.now())).catch((error) => {
      throw new Error(`after ${JSON.stringify(topics)}: ${error.message}`);
    });
    topics.push(publish.topic);
  }
  client.close();
  return { sessionPresent: connack.sessionPresent, topics: topics.sort() };
}

interface SessionScenario {
  subscribePort: number;
  publishPort: number;
  /** Runs while the subscriber is away, after the messages were published (a broker restart). */
  whileAway?: () => Promise<void>;
  resumePort: () => number;
}

async function checkCleanStartSessionKeepsMessages(scenario: SessionScenario): Promise<void> {
  await cleanStartSessionThatPersists(scenario.subscribePort, "clean-start-keeper");
  await publishWhileAway(scenario.publishPort);
  await scenario.whileAway?.();
  expect(await resume(scenario.resumePort(), "clean-start-keeper", 2)).toEqual({ sessionPresent: true, topics: ["Topic/C", "TopicA/C"] });
}

const onePort = (port: number): SessionScenario => ({ subscribePort: port, publishPort: port, resumePort: () => port });

describe("a session begun with Clean Start that outlives its connection is resumed with its queue [MQTT-3.1.2-4, MQTT-3.1.2-5, MQTT-3.1.2-23]", () => {
  test("our broker", async () => {
    const { port } = await startBroker();
    await checkCleanStartSessionKeepsMessages(onePort(port));
  }, 20_000);

  test("our broker with --persistence, restarted while the client is away", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conformance-fixes-"));
    try {
      const db = join(dir, "state.db");
      let { proc, port } = await startBroker("--persistence", db);
      await checkCleanStartSessionKeepsMessages({
        ...onePort(port),
        async whileAway() {
          proc.kill("SIGTERM");
          await proc.waitExit();
          proc = pingpong("broker", "--port", String(port), "--persistence", db);
          await proc.waitFor(/Broker listening on/);
        },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  testWithPrograms(["redis-server"], "our broker with --cluster: away from node A, published on B, resumed on B", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    await checkCleanStartSessionKeepsMessages({ subscribePort: a.port, publishPort: b.port, resumePort: () => b.port });
  }, 30_000);

  testWithPrograms(["mosquitto"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    await checkCleanStartSessionKeepsMessages(onePort(port));
  }, 20_000);
});

/**
 * Subscribes mosquitto_sub to `filters` on a broker that holds a retained `$SYS` message (`sysTopic`)
 * and a retained `fence/retained`, then publishes `fence/live`. Once that arrives, every retained
 * message sent on subscribe is in; resolves with the topics mosquitto_sub printed.
 */
async function topicsSeenOnSubscribe(port: number, filters: string[], sysTopic: string): Promise<string[]> {
  const host = ["-h", "127.0.0.1", "-p", String(port)];
  // The $SYS message is there: a subscription that names it gets it.
  const direct = new Proc(["mosquitto_sub", ...host, "-t", sysTopic, "-C", "1", "-v"]);
  expect(await direct.waitExit()).toBe(0);
  const retain = new Proc(["mosquitto_pub", ...host, "-t", "fence/retained", "-m", "retained", "-r"]);
  expect(await retain.waitExit()).toBe(0);

  const sub = new Proc(["mosquitto_sub", ...host, "-d", "-v", ...filters.flatMap((filter) => ["-t", filter])]);
  await sub.waitFor(/received SUBACK/);
  const live = new Proc(["mosquitto_pub", ...host, "-t", "fence/live", "-m", "live"]);
  expect(await live.waitExit()).toBe(0);
  await sub.waitFor(/^fence\/live live$/);
  sub.kill();
  await sub.waitExit();
  const topics = sub.stdoutLines.filter((line) => !line.startsWith("Client ") && !line.startsWith("Subscribed")).map((line) => line.split(" ")[0]!);
  expect(topics).toContain("fence/retained");
  return topics;
}

const WILDCARDS = ["#", "+/broker/version", "+/+/+"];

describe("wildcard filters do not match retained $ topics on subscribe [MQTT-4.7.2-1]", () => {
  testWithPrograms(["mosquitto_sub", "mosquitto_pub"], "our broker", async () => {
    const { port } = await startBroker();
    const topics = await topicsSeenOnSubscribe(port, WILDCARDS, "$SYS/broker/version");
    expect(topics.filter((topic) => topic.startsWith("$"))).toEqual([]);
  }, 20_000);

  testWithPrograms(["mosquitto_sub", "mosquitto_pub"], "our broker with --persistence", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conformance-fixes-"));
    try {
      const { port } = await startBroker("--persistence", join(dir, "state.db"));
      const topics = await topicsSeenOnSubscribe(port, WILDCARDS, "$SYS/broker/version");
      expect(topics.filter((topic) => topic.startsWith("$"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  testWithPrograms(["mosquitto_sub", "mosquitto_pub", "redis-server"], "our broker with --cluster (retained messages in Redis)", async () => {
    const redis = await startRedis();
    const node = await startNode(redis.url, "a");
    const topics = await topicsSeenOnSubscribe(node.port, [...WILDCARDS, "+/broker/#"], "$SYS/broker/cluster/nodes");
    expect(topics.filter((topic) => topic.startsWith("$"))).toEqual([]);
  }, 30_000);

  testWithPrograms(["mosquitto", "mosquitto_sub", "mosquitto_pub"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    const topics = await topicsSeenOnSubscribe(port, WILDCARDS, "$SYS/broker/version");
    expect(topics.filter((topic) => topic.startsWith("$"))).toEqual([]);
  }, 20_000);
});

/** The will a client leaves with every will property set, as the subscriber of its topic sees it. */
async function willAsDelivered(port: number): Promise<{ topic: string; payload: string; properties: Record<string, unknown> }> {
  const watcher = await RawClient.open(port, 5);
  watcher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "will-watcher", keepalive: 60 });
  await watcher.waitFor((p) => p.cmd === "connack");
  watcher.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "will/properties", qos: 1 }] });
  await watcher.waitFor((p) => p.cmd === "suback");

  const leaver = await RawClient.open(port, 5);
  leaver.send({
    cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "will-leaver", keepalive: 60,
    properties: { sessionExpiryInterval: 10 },
    will: {
      topic: "will/properties", payload: Buffer.from("gone"), qos: 1, retain: false,
      properties: {
        willDelayInterval: 1, payloadFormatIndicator: true, messageExpiryInterval: 300, contentType: "text/plain",
        responseTopic: "will/reply", correlationData: Buffer.from("corr"), userProperties: { origin: "will-leaver" },
      },
    },
  } as any);
  await leaver.waitFor((p) => p.cmd === "connack");
  leaver.close(); // no DISCONNECT: the will is published once the Will Delay Interval has passed
  const will = await watcher.waitFor<any>((p) => p.cmd === "publish");
  return { topic: will.topic, payload: will.payload.toString(), properties: will.properties ?? {} };
}

function expectWillForwardedWithoutDelay(will: { topic: string; payload: string; properties: Record<string, unknown> }): void {
  expect(will.topic).toBe("will/properties");
  expect(will.payload).toBe("gone");
  const { messageExpiryInterval, ...properties } = will.properties;
  expect(properties).toEqual({
    payloadFormatIndicator: true, contentType: "text/plain", responseTopic: "will/reply",
    correlationData: Buffer.from("corr"), userProperties: { origin: "will-leaver" },
  });
  // The remaining lifetime, counted from the will's publication [MQTT-3.3.2-6].
  expect(messageExpiryInterval).toBeGreaterThan(290);
  expect(messageExpiryInterval).toBeLessThanOrEqual(300);
}

describe("a will's PUBLISH carries the will properties but not the Will Delay Interval [§3.1.3.2, §3.3.2.3]", () => {
  test("our broker", async () => {
    const { port } = await startBroker();
    expectWillForwardedWithoutDelay(await willAsDelivered(port));
  }, 20_000);

  testWithPrograms(["mosquitto"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    expectWillForwardedWithoutDelay(await willAsDelivered(port));
  }, 20_000);
});

/** The CONNACK's return or reason code and its Server Keep Alive for a CONNECT with `keepalive`. */
async function connackForKeepAlive(port: number, protocolVersion: 4 | 5, keepalive: number): Promise<{ code: number; serverKeepAlive?: number }> {
  const client = await RawClient.open(port, protocolVersion);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion, clean: true, clientId: `keepalive-${protocolVersion}-${keepalive}`, keepalive });
  const connack = await client.waitFor<any>((p) => p.cmd === "connack");
  client.close();
  return { code: connack.returnCode ?? connack.reasonCode, serverKeepAlive: connack.properties?.serverKeepAlive };
}

/** What both brokers do under a keep-alive limit of 60 s. */
async function checkKeepAliveLimit(port: number): Promise<void> {
  // 3.1.1: Keep Alive 0 turns keep-alive off, and is a valid CONNECT [MQTT-3.1.4-4].
  expect(await connackForKeepAlive(port, 4, 0)).toEqual({ code: 0, serverKeepAlive: undefined });
  expect(await connackForKeepAlive(port, 4, 60)).toEqual({ code: 0, serverKeepAlive: undefined });
  // 5.0: the limit is said in CONNACK, for 0 (no keep-alive) as for too long a one [MQTT-3.2.2-21].
  expect(await connackForKeepAlive(port, 5, 0)).toEqual({ code: 0, serverKeepAlive: 60 });
  expect(await connackForKeepAlive(port, 5, 100)).toEqual({ code: 0, serverKeepAlive: 60 });
  expect(await connackForKeepAlive(port, 5, 30)).toEqual({ code: 0, serverKeepAlive: undefined });
}

describe("a keep-alive limit accepts a 3.1.1 CONNECT with Keep Alive 0 and tells a 5.0 client its Server Keep Alive", () => {
  test("our broker with --max-keepalive 60", async () => {
    const { port } = await startBroker("--max-keepalive", "60");
    await checkKeepAliveLimit(port);
    // 3.1.1 cannot be told the limit: a longer keep-alive is refused (mosquitto 2.0.11 ignores its
    // max_keepalive for 3.1.1 altogether; docs/protocol.md says why we do not).
    expect(await connackForKeepAlive(port, 4, 61)).toEqual({ code: 2, serverKeepAlive: undefined });
  });

  testWithPrograms(["mosquitto"], "mosquitto with max_keepalive 60", async () => {
    const { port } = await startMosquitto("max_keepalive 60\n");
    await checkKeepAliveLimit(port);
  });
});

/** A new session opened with Clean Start 0 and no Session Expiry Interval subscribes at QoS 1 and publishes to itself. */
async function checkNewSessionWithoutExpiryGetsItsMessages(port: number): Promise<void> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: false, clientId: "never-seen-before", keepalive: 60 });
  expect((await client.waitFor<any>((p) => p.cmd === "connack")).sessionPresent).toBe(false);
  client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "fresh/t", qos: 1 }] });
  await client.waitFor((p) => p.cmd === "suback");
  client.send({ cmd: "publish", topic: "fresh/t", payload: Buffer.from("to myself"), qos: 1, messageId: 2, retain: false, dup: false });
  await client.waitFor((p) => p.cmd === "puback" && (p as any).messageId === 2);
  const delivered = await client.waitFor<any>((p) => p.cmd === "publish");
  expect(delivered.payload.toString()).toBe("to myself");
}

describe("a new session with Clean Start 0 and Session Expiry 0 works like any other [MQTT-3.1.2-6]", () => {
  test("our broker", async () => {
    const { port } = await startBroker();
    await checkNewSessionWithoutExpiryGetsItsMessages(port);
  });

  testWithPrograms(["mosquitto"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    await checkNewSessionWithoutExpiryGetsItsMessages(port);
  });
});

/** CONNECT bytes as given: protocol level, flags, then the payload fields (each a UTF-8 string or binary). */
function connectBytes(level: number, flags: number, fields: Array<string | Buffer>, properties: number[] = []): number[] {
  const encoded = (field: string | Buffer) => {
    const bytes = typeof field === "string" ? Buffer.from(field, "utf8") : field;
    return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
  };
  const withProperties = (bytes: number[]) => (level === 5 ? [bytes.length, ...bytes] : []);
  const body = [...encoded("MQTT"), level, flags, 0, 60, ...withProperties(properties), ...fields.flatMap((field, index) => (level === 5 && index === 1 && flags & 0x04 ? [0, ...encoded(field)] : encoded(field)))];
  return [0x10, body.length, ...body];
}

/** Sends `bytes` as a CONNECT; resolves with whether the connection was closed without a CONNACK accepting it. */
async function refusedConnect(port: number, level: 4 | 5, bytes: number[]): Promise<{ closed: boolean; accepted: boolean }> {
  const client = await RawClient.open(port, level);
  client.sendBytes(bytes);
  await client.waitClosed(5_000).catch(() => undefined);
  const connack = client.received.find((p) => p.cmd === "connack") as any;
  const accepted = connack !== undefined && (connack.returnCode ?? connack.reasonCode) === 0;
  const closed = client.closed;
  client.close();
  return { closed, accepted };
}

const USER_NAME_FLAG = 0x80;
const PASSWORD_FLAG = 0x40;
const WILL_FLAG = 0x04;
const CLEAN = 0x02;

/** CONNECTs whose fields contradict their flags, and the statement each breaks. */
const MALFORMED_CONNECTS: Array<{ id: string; level: 4 | 5; bytes: number[] }> = [
  // A User Name present with its flag 0.
  { id: "3.1.1 MQTT-3.1.2-18", level: 4, bytes: connectBytes(4, CLEAN, ["flagless", "user"]) },
  { id: "5 MQTT-3.1.2-16", level: 5, bytes: connectBytes(5, CLEAN, ["flagless", "user"]) },
  // A Password present with its flag 0 (after a User Name with its flag).
  { id: "3.1.1 MQTT-3.1.2-20", level: 4, bytes: connectBytes(4, CLEAN | USER_NAME_FLAG, ["flagless", "user", "secret"]) },
  { id: "5 MQTT-3.1.2-18", level: 5, bytes: connectBytes(5, CLEAN | USER_NAME_FLAG, ["flagless", "user", "secret"]) },
  // Will Topic and Payload present with the Will Flag 0.
  { id: "3.1.1 MQTT-3.1.2-11", level: 4, bytes: connectBytes(4, CLEAN, ["flagless", "will/t", "gone"]) },
  // Will QoS 3.
  { id: "3.1.1 MQTT-3.1.2-14", level: 4, bytes: connectBytes(4, CLEAN | WILL_FLAG | 0x18, ["will-qos-3", "will/t", "gone"]) },
  { id: "5 MQTT-3.1.2-12", level: 5, bytes: connectBytes(5, CLEAN | WILL_FLAG | 0x18, ["will-qos-3", "will/t", "gone"]) },
  // 3.1.1: a Password without a User Name.
  { id: "3.1.1 MQTT-3.1.2-22", level: 4, bytes: connectBytes(4, CLEAN | PASSWORD_FLAG, ["no-user", "secret"]) },
];

describe("a CONNECT whose fields contradict its flags is refused: the connection is closed", () => {
  for (const { id, level, bytes } of MALFORMED_CONNECTS) {
    test(`[${id}] our broker`, async () => {
      const { port } = await startBroker();
      expect(await refusedConnect(port, level, bytes)).toEqual({ closed: true, accepted: false });
    });
  }

  testWithPrograms(["mosquitto"], "mosquitto refuses them all too", async () => {
    const { port } = await startMosquitto();
    for (const { id, level, bytes } of MALFORMED_CONNECTS) {
      expect({ id, ...(await refusedConnect(port, level, bytes)) }).toEqual({ id, closed: true, accepted: false });
    }
  });

  test("the same CONNECTs with matching flags are accepted (the byte layout above is right)", async () => {
    const { port } = await startBroker();
    for (const [level, flags, fields] of [
      [4, CLEAN | USER_NAME_FLAG, ["flagged", "user"]],
      [5, CLEAN | USER_NAME_FLAG | PASSWORD_FLAG, ["flagged", "user", "secret"]],
      [4, CLEAN | WILL_FLAG | 0x08, ["will-qos-1", "will/t", "gone"]],
      [5, CLEAN | WILL_FLAG | 0x10, ["will-qos-2", "will/t", "gone"]],
    ] as Array<[4 | 5, number, string[]]>) {
      const client = await RawClient.open(port, level);
      client.sendBytes(connectBytes(level, flags, fields));
      const connack = await client.waitFor<any>((p) => p.cmd === "connack");
      expect(connack.returnCode ?? connack.reasonCode).toBe(0);
      client.close();
    }
  });
});

/** Connects an MQTT 5 client, sends `packet`, and resolves with the DISCONNECT reason code the broker sent before closing. */
async function disconnectFor(port: number, packet: any): Promise<number | undefined> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "rule-breaker", keepalive: 60 });
  await client.waitFor((p) => p.cmd === "connack");
  client.send(packet);
  await client.waitClosed();
  return (client.received.find((p) => p.cmd === "disconnect") as any)?.reasonCode;
}

const publishWith = (properties: Record<string, unknown>) => ({ cmd: "publish", topic: "rules/t", payload: Buffer.from("x"), qos: 1, messageId: 1, retain: false, dup: false, properties });

/** Packets carrying what their kind must not, and the reason code of the DISCONNECT that must follow. */
const RULE_BREAKING_PACKETS: Array<{ id: string; what: string; packet: any; reasonCode: number }> = [
  { id: "MQTT-2.2.2-2", what: "a PUBLISH with a Session Expiry Interval (a CONNECT property)", packet: publishWith({ sessionExpiryInterval: 10 }), reasonCode: 0x81 },
  { id: "MQTT-2.2.2-2", what: "a PUBLISH with a Will Delay Interval (a will property)", packet: publishWith({ willDelayInterval: 10 }), reasonCode: 0x81 },
  { id: "MQTT-3.3.4-6", what: "a PUBLISH from a client with a Subscription Identifier", packet: publishWith({ subscriptionIdentifier: 7 }), reasonCode: 0x82 },
  {
    id: "MQTT-3.8.3-4",
    what: "a SUBSCRIBE with No Local on a shared subscription",
    packet: { cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "$share/group/rules/t", qos: 1, nl: true }] },
    reasonCode: 0x82,
  },
];

describe("an MQTT 5 packet carrying what its kind must not gets DISCONNECT with the spec's reason code", () => {
  for (const { id, what, packet, reasonCode } of RULE_BREAKING_PACKETS) {
    test(`[${id}] ${what}`, async () => {
      const { port } = await startBroker();
      expect(await disconnectFor(port, packet)).toBe(reasonCode);
    });
  }

  // mosquitto 2.0.11 keeps the connection after the MQTT-3.3.4-6 and MQTT-3.8.3-4 ones (docs/conformance.md).
  testWithPrograms(["mosquitto"], "mosquitto closes the connection for the MQTT-2.2.2-2 ones too", async () => {
    const { port } = await startMosquitto();
    for (const { id, what, packet } of RULE_BREAKING_PACKETS.filter(({ id }) => id === "MQTT-2.2.2-2")) {
      const client = await RawClient.open(port, 5);
      client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "rule-breaker", keepalive: 60 });
      await client.waitFor((p) => p.cmd === "connack");
      client.send(packet);
      await client.waitClosed().catch(() => {
        throw new Error(`mosquitto kept the connection after ${what} [${id}]`);
      });
    }
  });
});

/** Subscribers at QoS 0 and 1 receive a QoS 1 PUBLISH sent with DUP 1; resolves with their DUP flags. */
async function dupFlagsDelivered(port: number, protocolVersion: 4 | 5): Promise<{ qos0: boolean; qos1: boolean }> {
  const subscribe = async (clientId: string, qos: 0 | 1) => {
    const client = await RawClient.open(port, protocolVersion);
    client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion, clean: true, clientId, keepalive: 60 });
    await client.waitFor((p) => p.cmd === "connack");
    client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "dup/t", qos }] });
    await client.waitFor((p) => p.cmd === "suback");
    return client;
  };
  const atQos0 = await subscribe("dup-qos0", 0);
  const atQos1 = await subscribe("dup-qos1", 1);
  const publisher = await RawClient.open(port, protocolVersion);
  publisher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion, clean: true, clientId: "dup-publisher", keepalive: 60 });
  await publisher.waitFor((p) => p.cmd === "connack");
  publisher.send({ cmd: "publish", topic: "dup/t", payload: Buffer.from("resent"), qos: 1, messageId: 9, retain: false, dup: true });
  await publisher.waitFor((p) => p.cmd === "puback");
  const [qos0, qos1] = await Promise.all([atQos0, atQos1].map((client) => client.waitFor<any>((p) => p.cmd === "publish")));
  return { qos0: qos0.dup, qos1: qos1.dup };
}

describe("a delivery's DUP flag is its own, not the publisher's [MQTT-3.3.1-2, MQTT-3.3.1-3]", () => {
  for (const protocolVersion of [4, 5] as const) {
    test(`our broker (MQTT ${protocolVersion === 5 ? "5" : "3.1.1"})`, async () => {
      const { port } = await startBroker();
      expect(await dupFlagsDelivered(port, protocolVersion)).toEqual({ qos0: false, qos1: false });
    });
  }

  testWithPrograms(["mosquitto"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    expect(await dupFlagsDelivered(port, 4)).toEqual({ qos0: false, qos1: false });
    expect(await dupFlagsDelivered(port, 5)).toEqual({ qos0: false, qos1: false });
  });
});

/** A CONNECT naming protocol level 9: resolves with the CONNACK bytes the broker sent before closing. */
async function answerToUnknownLevel(port: number): Promise<{ connack: { sessionPresent: boolean; returnCode: number } | undefined; closed: boolean }> {
  const client = await RawClient.open(port, 4);
  client.sendBytes(connectBytes(9, CLEAN, ["level-nine"]));
  await client.waitClosed();
  const connack = client.received.find((p) => p.cmd === "connack") as any;
  return { connack: connack && { sessionPresent: connack.sessionPresent, returnCode: connack.returnCode }, closed: client.closed };
}

describe("a CONNECT with a protocol level the broker does not speak gets CONNACK 0x01, then the connection closes [3.1.1 MQTT-3.1.2-2, MQTT-3.2.2-4, MQTT-3.2.2-5]", () => {
  test("our broker", async () => {
    const { port } = await startBroker();
    expect(await answerToUnknownLevel(port)).toEqual({ connack: { sessionPresent: false, returnCode: 1 }, closed: true });
  });

  testWithPrograms(["mosquitto"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    expect(await answerToUnknownLevel(port)).toEqual({ connack: { sessionPresent: false, returnCode: 1 }, closed: true });
  });
});

/** Sets Topic Alias 1 with a PUBLISH, uses it with an empty Topic Name, and resolves with the topics delivered back. */
async function topicsDeliveredThroughAlias(port: number): Promise<string[]> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "alias-user", keepalive: 60 });
  await client.waitFor((p) => p.cmd === "connack");
  client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "alias/t", qos: 1 }] });
  await client.waitFor((p) => p.cmd === "suback");
  client.send({ cmd: "publish", topic: "alias/t", payload: Buffer.from("set"), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 1 } });
  client.send({ cmd: "publish", topic: "", payload: Buffer.from("use"), qos: 1, messageId: 3, retain: false, dup: false, properties: { topicAlias: 1 } });
  await client.waitFor((p) => p.cmd === "publish" && (p as any).payload.toString() === "use");
  return client.received.filter((p) => p.cmd === "publish").map((p: any) => `${p.topic} ${p.payload} ${JSON.stringify(p.properties ?? {})}`);
}

describe("a PUBLISH with a Topic Alias and no Topic Name is delivered under the alias's topic, without the alias [MQTT-3.3.2-12]", () => {
  const expected = ["alias/t set {}", "alias/t use {}"];

  test("our broker", async () => {
    const { port } = await startBroker();
    expect(await topicsDeliveredThroughAlias(port)).toEqual(expected);
  });

  testWithPrograms(["redis-server"], "our broker with --cluster (the message goes through Redis)", async () => {
    const redis = await startRedis();
    const node = await startNode(redis.url, "a");
    expect(await topicsDeliveredThroughAlias(node.port)).toEqual(expected);
  }, 30_000);

  testWithPrograms(["mosquitto"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    expect(await topicsDeliveredThroughAlias(port)).toEqual(expected);
  });
});

const USER_PROPERTIES_INTERLEAVED = ["b", "2", "a", "1", "b", "3"];
const userPropertyFlags = (command: string) =>
  Array.from({ length: USER_PROPERTIES_INTERLEAVED.length / 2 }, (_, i) => ["-D", command, "user-property", USER_PROPERTIES_INTERLEAVED[2 * i]!, USER_PROPERTIES_INTERLEAVED[2 * i + 1]!]).flat();

/**
 * mosquitto_pub publishes (and a mosquitto_sub leaves a will) with User Properties b=2, a=1, b=3 on
 * `publishPort`; resolves with what a mosquitto_sub on `subscribePort` prints for each.
 */
async function userPropertiesForwarded(publishPort: number, subscribePort = publishPort): Promise<{ publish: string; will: string }> {
  const at = (port: number) => ["-h", "127.0.0.1", "-p", String(port), "-V", "mqttv5"];
  // A retained message first: mosquitto_sub's output reaches the pipe when it prints a message, so
  // seeing this one says the subscription is in place.
  const fence = new Proc(["mosquitto_pub", ...at(publishPort), "-t", "order/fence", "-m", "x", "-r"]);
  expect(await fence.waitExit()).toBe(0);
  // No -C: through a cluster the fence can come twice (retained on subscribe, and live from Redis).
  const watcher = new Proc(["mosquitto_sub", ...at(subscribePort), "-t", "order/#", "-F", "%t %P"]);
  await watcher.waitFor(/^order\/fence/);
  const pub = new Proc(["mosquitto_pub", ...at(publishPort), "-t", "order/publish", "-m", "x", ...userPropertyFlags("publish")]);
  expect(await pub.waitExit()).toBe(0);
  await watcher.waitFor(/^order\/publish /);
  const leaver = new Proc(["mosquitto_sub", ...at(publishPort), "-t", "order/fence", "--will-topic", "order/will", "--will-payload", "gone", ...userPropertyFlags("will")]);
  await leaver.waitFor(/^x$/); // the retained fence: connected, will in place
  leaver.kill("SIGKILL"); // no DISCONNECT: the will goes out
  await watcher.waitFor(/^order\/will /);
  watcher.kill();
  await watcher.waitExit();
  const printed = (topic: string) => watcher.stdoutLines.find((line) => line.startsWith(`${topic} `))!.slice(topic.length + 1);
  return { publish: printed("order/publish"), will: printed("order/will") };
}

/**
 * The same through a broker's store: a persistent MQTT 5 session (mosquitto_sub -c -x) is away while
 * the PUBLISH is queued for it and while a client's will is left in the store by a broker killed
 * with SIGKILL; the broker is started again on the same database, publishes the will it restored,
 * and the session comes back. Resolves with what mosquitto_sub prints for each.
 */
async function userPropertiesKeptInStore(db: string): Promise<{ publish: string; will: string }> {
  let { proc, port } = await startBroker("--persistence", db);
  const at = () => ["-h", "127.0.0.1", "-p", String(port), "-V", "mqttv5"];
  const session = ["-i", "order-keeper", "-c", "-x", "3600", "-q", "1", "-t", "order/#", "-F", "%t %P"];
  const first = new Proc(["mosquitto_sub", ...at(), ...session, "-E"]); // -E: leaves (DISCONNECT) once subscribed
  expect(await first.waitExit()).toBe(0);
  const pub = new Proc(["mosquitto_pub", ...at(), "-t", "order/publish", "-m", "x", "-q", "1", ...userPropertyFlags("publish")]);
  expect(await pub.waitExit()).toBe(0);
  const fence = new Proc(["mosquitto_pub", ...at(), "-t", "fence/retained", "-m", "x", "-r"]);
  expect(await fence.waitExit()).toBe(0);
  const leaver = new Proc(["mosquitto_sub", ...at(), "-t", "fence/retained", "--will-topic", "order/will", "--will-payload", "gone", "--will-qos", "1", ...userPropertyFlags("will")]);
  await leaver.waitFor(/^x$/); // connected, will in place
  proc.kill("SIGKILL"); // the will stays in the store, for the next run to publish
  await proc.waitExit();
  leaver.kill("SIGKILL");
  await leaver.waitExit();
  proc = pingpong("broker", "--port", String(port), "--persistence", db);
  try {
    await proc.waitFor(/Broker listening on/);
    // The restarted broker publishes the wills of a run it no longer hears from after 4 heartbeats (20 s).
    const back = new Proc(["mosquitto_sub", ...at(), ...session, "-C", "2"]);
    expect(await back.waitExit(45_000)).toBe(0);
    const printed = (topic: string) => back.stdoutLines.find((line) => line.startsWith(`${topic} `))?.slice(topic.length + 1);
    return { publish: printed("order/publish")!, will: printed("order/will")! };
  } finally {
    proc.kill("SIGTERM");
    await proc.waitExit();
  }
}

/** A persistent MQTT 5 session on `subscribePort` is away while a QoS 1 PUBLISH is queued for it from `publishPort`; what it prints on its return. */
async function userPropertiesQueuedWhileAway(publishPort: number, subscribePort: number): Promise<string> {
  const at = (port: number) => ["-h", "127.0.0.1", "-p", String(port), "-V", "mqttv5"];
  const session = ["-i", "order-queued", "-c", "-x", "3600", "-q", "1", "-t", "order/#", "-F", "%t %P"];
  const first = new Proc(["mosquitto_sub", ...at(subscribePort), ...session, "-E"]);
  expect(await first.waitExit()).toBe(0);
  const pub = new Proc(["mosquitto_pub", ...at(publishPort), "-t", "order/queued", "-m", "x", "-q", "1", ...userPropertyFlags("publish")]);
  expect(await pub.waitExit()).toBe(0);
  const back = new Proc(["mosquitto_sub", ...at(subscribePort), ...session, "-C", "1"]);
  expect(await back.waitExit()).toBe(0);
  return back.stdoutLines[0]!;
}

describe("User Properties are forwarded in the order they were sent [MQTT-3.3.2-18, MQTT-3.1.3-10]", () => {
  const inOrder = { publish: "b:2 a:1 b:3", will: "b:2 a:1 b:3" };

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "our broker", async () => {
    const { port } = await startBroker();
    expect(await userPropertiesForwarded(port)).toEqual(inOrder);
  }, 20_000);

  testWithPrograms(["mosquitto_pub", "mosquitto_sub", "redis-server"], "our broker with --cluster: published on node A, received on node B (through Redis)", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    expect(await userPropertiesForwarded(a.port, b.port)).toEqual(inOrder);
  }, 30_000);

  testWithPrograms(["mosquitto_pub", "mosquitto_sub", "redis-server"], "our broker with --cluster: queued in Redis for a session away from node B, published on node A", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    expect(await userPropertiesQueuedWhileAway(a.port, b.port)).toBe("order/queued b:2 a:1 b:3");
  }, 30_000);

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "our broker with --persistence: an offline queue and a will kept across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conformance-fixes-"));
    try {
      expect(await userPropertiesKeptInStore(join(dir, "state.db"))).toEqual(inOrder);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);

  testWithPrograms(["mosquitto", "mosquitto_pub", "mosquitto_sub"], "mosquitto does the same", async () => {
    const { port } = await startMosquitto();
    expect(await userPropertiesForwarded(port)).toEqual(inOrder);
  }, 20_000);
});

describe("a QoS 2 PUBLISH already sent is re-sent on resumption even after its Message Expiry Interval [MQTT-4.3.3-7]", () => {
  test("our broker (mosquitto 2.0.11 drops it: docs/conformance.md)", async () => {
    const { port } = await startBroker();
    const session = { cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: false, clientId: "slow-qos2", keepalive: 60, properties: { sessionExpiryInterval: 60 } } as const;
    const first = await RawClient.open(port, 5);
    first.send({ ...session, clean: true });
    await first.waitFor((p) => p.cmd === "connack");
    first.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "expiring/t", qos: 2 }] });
    await first.waitFor((p) => p.cmd === "suback");

    const publisher = await RawClient.open(port, 5);
    publisher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "expiring-publisher", keepalive: 60 });
    await publisher.waitFor((p) => p.cmd === "connack");
    publisher.send({ cmd: "publish", topic: "expiring/t", payload: Buffer.from("short-lived"), qos: 2, messageId: 1, retain: false, dup: false, properties: { messageExpiryInterval: 1 } });
    const sent = await first.waitFor<any>((p) => p.cmd === "publish");
    first.close(); // no PUBREC: the message stays in flight

    // What is tested is the passage of time itself: the message's 1 s interval must run out.
    await Bun.sleep(1_500);
    const back = await RawClient.open(port, 5);
    back.send(session);
    expect((await back.waitFor<any>((p) => p.cmd === "connack")).sessionPresent).toBe(true);
    const resent = await back.waitFor<any>((p) => p.cmd === "publish");
    expect({ messageId: resent.messageId, dup: resent.dup, payload: resent.payload.toString() }).toEqual({ messageId: sent.messageId, dup: true, payload: "short-lived" });
  }, 20_000);
});

/**
 * A session resumed with Session Expiry 0 gets a queued QoS 1 message and acknowledges it; the next
 * connection with the same Client Identifier (taking the session over, or after the close) must not
 * get it again [MQTT-4.3.2-3]. Resolves with the PUBLISHes the last connection received.
 */
async function acknowledgedNotResent(port: number, takeOver: boolean): Promise<string[]> {
  const connect = (sessionExpiryInterval: number) =>
    ({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: false, clientId: "acked-once", keepalive: 60, properties: { sessionExpiryInterval } }) as const;
  const first = await RawClient.open(port, 5);
  first.send(connect(60));
  await first.waitFor((p) => p.cmd === "connack");
  first.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "acked/t", qos: 1 }] });
  await first.waitFor((p) => p.cmd === "suback");
  first.close();
  await publishWhileAwayTo(port, "acked/t");

  const back = await RawClient.open(port, 5);
  back.send(connect(0));
  const queued = await back.waitFor<any>((p) => p.cmd === "publish");
  back.send({ cmd: "puback", messageId: queued.messageId });
  back.send({ cmd: "pingreq" });
  await back.waitFor((p) => p.cmd === "pingresp"); // the broker has read the PUBACK
  if (!takeOver) {
    back.close();
    await back.waitClosed();
  }
  const third = await RawClient.open(port, 5);
  third.send(connect(0));
  await third.waitFor((p) => p.cmd === "connack");
  // A fence: anything queued for this session goes out before the answer to a message we send now.
  third.send({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "acked/fence", qos: 1 }] });
  await third.waitFor((p) => p.cmd === "suback");
  third.send({ cmd: "publish", topic: "acked/fence", payload: Buffer.from("fence"), qos: 1, messageId: 3, retain: false, dup: false });
  await third.waitFor((p) => p.cmd === "publish" && (p as any).topic === "acked/fence");
  return third.received.filter((p) => p.cmd === "publish").map((p: any) => `${p.topic} ${p.payload}`);
}

async function publishWhileAwayTo(port: number, topic: string): Promise<void> {
  const publisher = await RawClient.open(port, 5);
  publisher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, clientId: "", keepalive: 60 });
  await publisher.waitFor((p) => p.cmd === "connack");
  publisher.send({ cmd: "publish", topic, payload: Buffer.from("once"), qos: 1, messageId: 1, retain: false, dup: false });
  await publisher.waitFor((p) => p.cmd === "puback");
  publisher.close();
}

describe("a message acknowledged in a session resumed with Session Expiry 0 is not sent again [MQTT-4.3.2-3]", () => {
  for (const takeOver of [true, false]) {
    const how = takeOver ? "taken over by a new connection" : "after the connection closed";
    test(`our broker, ${how}`, async () => {
      const { port } = await startBroker();
      expect(await acknowledgedNotResent(port, takeOver)).toEqual(["acked/fence fence"]);
    });

    testWithPrograms(["redis-server"], `our broker with --cluster, ${how}`, async () => {
      const redis = await startRedis();
      const node = await startNode(redis.url, "a");
      expect(await acknowledgedNotResent(node.port, takeOver)).toEqual(["acked/fence fence"]);
    }, 30_000);

    testWithPrograms(["mosquitto"], `mosquitto, ${how}`, async () => {
      const { port } = await startMosquitto();
      expect(await acknowledgedNotResent(port, takeOver)).toEqual(["acked/fence fence"]);
    });
  }
});
