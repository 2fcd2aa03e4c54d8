// MQTT 3.1.1 rules against the compiled broker, and Debian's mosquitto clients (-V 311 and -V 5) as peers.
import { describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { Proc, startBroker, testWithPrograms } from "./harness";
import { RawClient } from "./mqtt-raw";
import { connectV5, Inbox, waitUntil } from "./mqtt5-client";

const v311 = { protocolVersion: 4 as const };

let markers = 0;

/** A marker from `client` to itself: the broker handles one client's packets in order, so what was due has arrived. */
async function flush(client: MqttClient, inbox: Inbox): Promise<void> {
  const payload = `marker-${++markers}`;
  await client.subscribeAsync("marker", { qos: 1 });
  await client.publishAsync("marker", payload, { qos: 1 });
  await waitUntil(() => inbox.messages.some((m) => m.topic === "marker" && m.payload.toString() === payload));
}

const onTopic = (inbox: Inbox, prefix: string) => inbox.messages.filter((m) => m.topic.startsWith(prefix));

describe("MQTT 3.1.1 correctness", () => {
  test("a zero-length client id with clean session off is refused with 0x02 (MQTT-3.1.3-8)", async () => {
    const { port } = await startBroker();
    const refused = await RawClient.open(port, 4);
    // mqtt-packet will not encode this CONNECT, so here it is byte by byte.
    // prettier-ignore
    refused.sendBytes([
      0x10, 12,                         // CONNECT, remaining length
      0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
      0x04,                             // protocol level 4 (3.1.1)
      0x00,                             // flags: clean session off
      0x00, 0x3c,                       // keep alive 60 s
      0x00, 0x00,                       // client id: zero length
    ]);
    const connack: any = await refused.waitFor((p) => p.cmd === "connack");
    expect(connack.returnCode).toBe(0x02);
    await refused.waitClosed();
    // With clean session on, the broker makes up an id and accepts.
    const accepted = await RawClient.open(port, 4);
    accepted.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "", clean: true, keepalive: 60 });
    expect(((await accepted.waitFor((p) => p.cmd === "connack")) as any).returnCode).toBe(0x00);
  });

  test("overlapping subscriptions deliver once, at the highest QoS granted among them", async () => {
    const { url } = await startBroker();
    // Both orders of subscribing, so the answer does not depend on which one the broker tries first.
    const { client: wideFirst } = await connectV5(url, v311);
    await wideFirst.subscribeAsync("ov/#", { qos: 0 });
    await wideFirst.subscribeAsync("ov/a", { qos: 2 });
    const { client: narrowFirst } = await connectV5(url, v311);
    await narrowFirst.subscribeAsync("ov/a", { qos: 1 });
    await narrowFirst.subscribeAsync("ov/+", { qos: 0 });
    const inboxes = [new Inbox(wideFirst), new Inbox(narrowFirst)];
    const { client: publisher } = await connectV5(url, v311);
    await publisher.publishAsync("ov/a", "overlap", { qos: 2 });
    await flush(wideFirst, inboxes[0]!);
    await flush(narrowFirst, inboxes[1]!);
    expect(onTopic(inboxes[0]!, "ov/").map((m) => m.qos)).toEqual([2]);
    expect(onTopic(inboxes[1]!, "ov/").map((m) => m.qos)).toEqual([1]);
  });

  test("a message is delivered at the lower of its QoS and the subscription's", async () => {
    const { url } = await startBroker();
    const { client: reader } = await connectV5(url, v311);
    await reader.subscribeAsync("down/+", { qos: 1 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url, v311);
    await publisher.publishAsync("down/x", "two", { qos: 2 });
    await publisher.publishAsync("down/x", "zero", { qos: 0 });
    expect((await inbox.waitFor(2)).map((m) => [m.payload.toString(), m.qos])).toEqual([
      ["two", 1],
      ["zero", 0],
    ]);
  });

  test("$-topics are not matched by # or + at the first level", async () => {
    const { url } = await startBroker();
    const { client: wildcards } = await connectV5(url, v311);
    await wildcards.subscribeAsync({ "#": { qos: 1 }, "+/status": { qos: 1 } });
    const wildInbox = new Inbox(wildcards);
    const { client: explicit } = await connectV5(url, v311);
    await explicit.subscribeAsync("$app/#", { qos: 1 });
    const explicitInbox = new Inbox(explicit);
    const { client: publisher } = await connectV5(url, v311);
    await publisher.publishAsync("$app/status", "dollar", { qos: 1 });
    await publisher.publishAsync("app/status", "plain", { qos: 1 });
    expect((await explicitInbox.waitFor(1))[0]!.payload.toString()).toBe("dollar");
    await waitUntil(() => wildInbox.messages.some((m) => m.topic === "app/status"));
    await flush(publisher, new Inbox(publisher));
    expect(wildInbox.messages.filter((m) => m.topic.startsWith("$app"))).toEqual([]);
  });

  test("an empty retained publish clears the retained message", async () => {
    const { url } = await startBroker();
    const { client: publisher } = await connectV5(url, v311);
    await publisher.publishAsync("ret/t", "kept", { qos: 1, retain: true });
    const { client: first } = await connectV5(url, v311);
    const firstInbox = new Inbox(first);
    await first.subscribeAsync("ret/t", { qos: 1 });
    expect((await firstInbox.waitFor(1))[0]!.payload.toString()).toBe("kept");

    await publisher.publishAsync("ret/t", "", { qos: 1, retain: true });
    const { client: second } = await connectV5(url, v311);
    const secondInbox = new Inbox(second);
    await second.subscribeAsync("ret/t", { qos: 1 });
    await flush(second, secondInbox);
    expect(onTopic(secondInbox, "ret/")).toEqual([]);
  });

  test("a keep-alive over --max-keepalive is refused with 0x02, as 3.1.1 cannot be told the limit", async () => {
    const { port } = await startBroker("--max-keepalive", "30");
    const tooLong = await RawClient.open(port, 4);
    tooLong.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "sleepy", clean: true, keepalive: 60 });
    expect(((await tooLong.waitFor((p) => p.cmd === "connack")) as any).returnCode).toBe(0x02);
    const within = await RawClient.open(port, 4);
    within.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "awake", clean: true, keepalive: 30 });
    expect(((await within.waitFor((p) => p.cmd === "connack")) as any).returnCode).toBe(0x00);
  });

  test("limits in 3.1.1: over --max-connections gets CONNACK 0x03, a packet over --max-packet-size closes the connection", async () => {
    const { port } = await startBroker("--max-connections", "1", "--max-packet-size", "200");
    const connect = (clientId: string) => ({ cmd: "connect" as const, protocolId: "MQTT" as const, protocolVersion: 4 as const, clientId, clean: true, keepalive: 60 });
    const first = await RawClient.open(port, 4);
    first.send(connect("first"));
    expect(((await first.waitFor((p) => p.cmd === "connack")) as any).returnCode).toBe(0x00);
    const second = await RawClient.open(port, 4);
    second.send(connect("second"));
    expect(((await second.waitFor((p) => p.cmd === "connack")) as any).returnCode).toBe(0x03);
    await second.waitClosed();
    first.send({ cmd: "publish", topic: "big", payload: Buffer.alloc(300), qos: 0, dup: false, retain: false });
    await first.waitClosed();
  });
});

describe("mosquitto clients against our broker", () => {
  for (const version of ["mqttv31", "mqttv311", "mqttv5"] as const) {
    testWithPrograms(["mosquitto_pub", "mosquitto_sub"], `mosquitto_pub and mosquitto_sub -V ${version}: QoS 1, retained and live messages`, async () => {
      const { proc: broker, port } = await startBroker();
      const common = ["-h", "127.0.0.1", "-p", String(port), "-V", version];
      const pub = (...args: string[]) => new Proc(["mosquitto_pub", ...common, ...args]);
      expect(await pub("-t", `basic/${version}/retained`, "-m", "before", "-q", "1", "-r").waitExit()).toBe(0);
      const sub = new Proc(["mosquitto_sub", ...common, "-t", `basic/${version}/#`, "-q", "1", "-C", "2", "-F", "%t %q %r %p"]);
      await broker.waitFor(new RegExp(`subscribed to basic/${version}/#`));
      expect(await pub("-t", `basic/${version}/live`, "-m", "after", "-q", "1").waitExit()).toBe(0);
      expect(await sub.waitExit()).toBe(0);
      expect(sub.stdoutLines).toEqual([`basic/${version}/retained 1 1 before`, `basic/${version}/live 1 0 after`]);
    });
  }

  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "mosquitto -V 5: user property, content type and expiry reach mosquitto_sub", async () => {
    const { proc: broker, port } = await startBroker();
    const common = ["-h", "127.0.0.1", "-p", String(port), "-V", "mqttv5"];
    const sub = new Proc(["mosquitto_sub", ...common, "-t", "props/v5", "-C", "1", "-F", "%P|%C|%E|%p"]);
    await broker.waitFor(/subscribed to props\/v5/);
    const props = ["-D", "publish", "user-property", "origin", "mosquitto", "-D", "publish", "content-type", "text/plain", "-D", "publish", "message-expiry-interval", "3600"];
    expect(await new Proc(["mosquitto_pub", ...common, "-t", "props/v5", "-m", "hi", ...props]).waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    const [userProperty, contentType, expiry, payload] = sub.stdoutLines[0]!.split("|");
    expect([userProperty, contentType, payload]).toEqual(["origin:mosquitto", "text/plain", "hi"]);
    expect(Number(expiry)).toBeGreaterThan(3590);
  });

  testWithPrograms(["mosquitto_rr"], "mosquitto_rr gets its answer through our broker (response topic and correlation data)", async () => {
    const { port, url } = await startBroker();
    const { client: responder } = await connectV5(url);
    await responder.subscribeAsync("rr/request", { qos: 1 });
    responder.on("message", (_topic, payload, packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (responseTopic) responder.publish(responseTopic, `echo: ${payload}`, { qos: 1, properties: { correlationData } });
    });
    const rr = new Proc(["mosquitto_rr", "-h", "127.0.0.1", "-p", String(port), "-t", "rr/request", "-e", "rr/response", "-m", "ping", "-W", "10"]);
    expect(await rr.waitExit(15_000)).toBe(0);
    expect(rr.stdoutLines).toEqual(["echo: ping"]);
  });
});
