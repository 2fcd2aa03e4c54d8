// MQTT 5.0 flow control against the compiled broker: receive maximum, maximum packet size, topic aliases.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IPublishPacket } from "mqtt";
import mqttPacket from "mqtt-packet";
import { startBroker } from "./harness";
import { RawClient } from "./mqtt-raw";
import { connectV5, disconnectFromBroker, Inbox, waitUntil } from "./mqtt5-client";

describe("MQTT 5.0 flow control", () => {
  test("receive maximum, broker to client: no more unacknowledged QoS 1 messages than the client allows", async () => {
    const { port, url } = await startBroker();
    // MQTT.js reads nothing more until it has acknowledged a message, so a bare client holds the acks.
    const reader = await RawClient.open(port, 5);
    reader.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "slow-reader", clean: true, keepalive: 60, properties: { receiveMaximum: 2 } });
    await reader.waitFor((p) => p.cmd === "connack");
    reader.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "window/#", qos: 1 }] });
    await reader.waitFor((p) => p.cmd === "suback");
    const publishes = () => reader.received.filter((p): p is IPublishPacket => p.cmd === "publish");

    const { client: publisher } = await connectV5(url);
    for (let i = 1; i <= 6; i++) await publisher.publishAsync("window/q1", `m${i}`, { qos: 1 });
    // QoS 0 is not flow controlled: when it arrives, the broker has sent all it may of the rest.
    await publisher.publishAsync("window/marker", "marker", { qos: 0 });
    await reader.waitFor((p) => p.cmd === "publish" && p.topic === "window/marker");
    expect(publishes().filter((p) => p.qos === 1).map((p) => p.payload.toString())).toEqual(["m1", "m2"]);

    // Each PUBACK lets one more through, in order.
    for (let acked = 0; acked < 6; acked++) {
      const next = publishes().filter((p) => p.qos === 1)[acked]!;
      reader.send({ cmd: "puback", messageId: next.messageId, reasonCode: 0 });
      const expected = Math.min(acked + 3, 6);
      await waitUntil(() => publishes().filter((p) => p.qos === 1).length >= expected);
      expect(publishes().filter((p) => p.qos === 1).length).toBe(expected);
    }
    expect(publishes().filter((p) => p.qos === 1).map((p) => p.payload.toString())).toEqual(["m1", "m2", "m3", "m4", "m5", "m6"]);
  });

  test("receive maximum, client to broker: advertised from --max-inflight, and exceeding it gets DISCONNECT 0x93", async () => {
    const { proc: broker, url } = await startBroker("--max-inflight", "2");
    const { client, connack } = await connectV5(url);
    expect(connack.properties?.receiveMaximum).toBe(2);
    // MQTT.js does not hold back for the broker's Receive Maximum: three QoS 2 PUBLISH go out
    // together, before any PUBREL can, so the third exceeds it.
    const disconnect = disconnectFromBroker(client);
    for (let i = 0; i < 3; i++) client.publish("window/in", `m${i}`, { qos: 2 }, () => {});
    expect((await disconnect).reasonCode).toBe(0x93);
    await broker.waitFor(/receive maximum exceeded: more than 2 QoS 1\/2 messages unacknowledged: disconnected/);
  });

  test("receive maximum, client to broker: QoS 1 messages whose PUBACK is held back count, together with QoS 2 ones", async () => {
    // A subscriber that never acknowledges, and room for 2 messages waiting for it: the broker then
    // holds back the PUBACK (PUBREC) of further messages to it, which stay unacknowledged.
    const { proc: broker, port } = await startBroker("--max-inflight", "2", "--max-queued", "2");
    const stuck = await RawClient.open(port, 5);
    stuck.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "never-acks", clean: true, keepalive: 60 });
    await stuck.waitFor((p) => p.cmd === "connack");
    stuck.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "held/#", qos: 1 }] });
    await stuck.waitFor((p) => p.cmd === "suback");

    const publisher = await RawClient.open(port, 5);
    publisher.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "keeps-to-it", clean: true, keepalive: 60 });
    await publisher.waitFor((p) => p.cmd === "connack");
    const acked = (messageId: number) => publisher.received.some((p) => (p.cmd === "puback" || p.cmd === "pubrec") && p.messageId === messageId);
    // One at a time, each acknowledged before the next: 2 go to the subscriber, 2 wait for it.
    for (let id = 1; id <= 4; id++) {
      publisher.send({ cmd: "publish", topic: "held/q1", payload: Buffer.from(`m${id}`), qos: 1, messageId: id, dup: false, retain: false });
      await publisher.waitFor((p) => p.cmd === "puback" && p.messageId === id);
    }
    // Now it is full: a QoS 1 and a QoS 2 message stay unacknowledged, within the broker's 2, and a
    // third is one more than it allows [MQTT-3.3.4-9]. Sent in one write: while it holds a PUBLISH
    // back, the broker reads nothing more from that connection (TCP back-pressure), so only
    // packets that arrive in one read with the held one are counted at all.
    publisher.sendTogether([
      { cmd: "publish", topic: "held/q1", payload: Buffer.from("m5"), qos: 1, messageId: 5, dup: false, retain: false },
      { cmd: "publish", topic: "held/q2", payload: Buffer.from("m6"), qos: 2, messageId: 6, dup: false, retain: false },
      { cmd: "publish", topic: "held/q1", payload: Buffer.from("m7"), qos: 1, messageId: 7, dup: false, retain: false },
    ]);
    const disconnect = await publisher.waitFor<mqttPacket.IDisconnectPacket>((p) => p.cmd === "disconnect");
    expect(disconnect.reasonCode).toBe(0x93);
    expect(acked(5) || acked(6)).toBe(false);
    await broker.waitFor(/Client keeps-to-it: receive maximum exceeded: more than 2 QoS 1\/2 messages unacknowledged: disconnected/);
  });

  test("receive maximum, client to broker: a QoS 2 PUBLISH refused with PUBREC 0x87 no longer counts", async () => {
    const acl = join(mkdtempSync(join(tmpdir(), "flow-acl-")), "acl");
    writeFileSync(acl, "topic write allowed/#\n"); // anonymous clients may publish there only
    const { port } = await startBroker("--max-inflight", "2", "--acl-file", acl);
    const client = await RawClient.open(port, 5);
    client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "refused-q2", clean: true, keepalive: 60 });
    await client.waitFor((p) => p.cmd === "connack");
    // A refusing PUBREC ends the QoS 2 flow: no PUBREL follows [MQTT-4.3.3], so it must free its slot.
    for (let id = 1; id <= 3; id++) {
      client.send({ cmd: "publish", topic: "denied/x", payload: Buffer.from("no"), qos: 2, messageId: id, dup: false, retain: false });
      const pubrec = await client.waitFor<mqttPacket.IPubrecPacket>((p) => p.cmd === "pubrec" && p.messageId === id);
      expect(pubrec.reasonCode).toBe(0x87);
    }
    client.send({ cmd: "publish", topic: "allowed/x", payload: Buffer.from("yes"), qos: 2, messageId: 4, dup: false, retain: false });
    const pubrec = await client.waitFor<mqttPacket.IPubrecPacket>((p) => p.cmd === "pubrec" && p.messageId === 4);
    expect(pubrec.reasonCode ?? 0).toBe(0);
    expect(client.received.some((p) => p.cmd === "disconnect")).toBe(false);
  });

  test("receive maximum, client to broker: QoS 2 messages within it all arrive", async () => {
    const { url } = await startBroker("--max-inflight", "2");
    const { client: reader } = await connectV5(url);
    await reader.subscribeAsync("window/ok", { qos: 2 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url);
    for (let i = 0; i < 5; i++) await publisher.publishAsync("window/ok", `m${i}`, { qos: 2 });
    expect((await inbox.waitFor(5)).map((m) => m.payload.toString())).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(publisher.connected).toBe(true);
  });

  test("maximum packet size, broker to client: a message too large for the client is not sent, the rest are", async () => {
    const { url } = await startBroker();
    const { client: reader } = await connectV5(url, { properties: { maximumPacketSize: 300 } });
    await reader.subscribeAsync("size/#", { qos: 1 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url);
    await publisher.publishAsync("size/big", Buffer.alloc(1000, 1), { qos: 1 });
    await publisher.publishAsync("size/big0", Buffer.alloc(1000, 2), { qos: 0 });
    await publisher.publishAsync("size/small", Buffer.alloc(100, 3), { qos: 1 });
    const messages = await inbox.waitFor(1);
    expect(messages.map((m) => [m.topic, m.payload.length])).toEqual([["size/small", 100]]);
    // The discarded QoS 1 message did not keep a place in the client's window.
    await publisher.publishAsync("size/after", "after", { qos: 1 });
    expect((await inbox.waitFor(2))[1]!.topic).toBe("size/after");
    expect(reader.connected).toBe(true);
  });

  test("maximum packet size, client to broker: advertised from --max-packet-size; a packet over it ends the connection with 0x95", async () => {
    const { url } = await startBroker("--max-packet-size", "512");
    const { client, connack } = await connectV5(url);
    expect(connack.properties?.maximumPacketSize).toBe(512);
    await client.publishAsync("size/in", Buffer.alloc(400), { qos: 1 });
    const disconnect = disconnectFromBroker(client);
    client.publish("size/in", Buffer.alloc(600), { qos: 1 }, () => {});
    expect((await disconnect).reasonCode).toBe(0x95);
  });

  test("topic aliases from the client: the broker maps them (up to --max-topic-alias) and refuses others with 0x94", async () => {
    const { url } = await startBroker("--max-topic-alias", "3");
    const { client: reader } = await connectV5(url);
    await reader.subscribeAsync("alias/#", { qos: 1 });
    const inbox = new Inbox(reader);
    const { client: publisher, connack } = await connectV5(url);
    expect(connack.properties?.topicAliasMaximum).toBe(3);
    await publisher.publishAsync("alias/in", "set", { qos: 1, properties: { topicAlias: 3 } });
    await publisher.publishAsync("", "used", { qos: 1, properties: { topicAlias: 3 } });
    const messages = await inbox.waitFor(2);
    expect(messages.map((m) => `${m.topic} ${m.payload}`)).toEqual(["alias/in set", "alias/in used"]);
    // The alias is the connection's: subscribers get the topic, not the alias.
    expect(messages.every((m) => m.properties?.topicAlias === undefined)).toBe(true);
    // MQTT.js checks aliases against the CONNACK itself, so the bad one goes out as raw bytes.
    const disconnect = disconnectFromBroker(publisher);
    publisher.stream.write(mqttPacket.generate({ cmd: "publish", topic: "alias/in", payload: "too far", qos: 0, dup: false, retain: false, properties: { topicAlias: 4 } }, { protocolVersion: 5 }));
    expect((await disconnect).reasonCode).toBe(0x94);
  });

  test("topic aliases to the client: the broker sends the topic once, then only the alias", async () => {
    const { url } = await startBroker("--max-topic-alias", "2");
    const { client: reader } = await connectV5(url, { properties: { topicAliasMaximum: 10 } });
    const onWire: Array<{ topic: string; alias?: number }> = [];
    reader.on("packetreceive", (packet) => {
      if (packet.cmd === "publish") onWire.push({ topic: String((packet as IPublishPacket).topic), alias: (packet as IPublishPacket).properties?.topicAlias });
    });
    await reader.subscribeAsync("out/#", { qos: 1 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url);
    // One at a time, so the order on the wire (which decides the aliases) is the order published.
    const topics = ["out/a", "out/a", "out/b", "out/c", "out/c", "out/a"];
    for (const [i, topic] of topics.entries()) {
      await publisher.publishAsync(topic, topic, { qos: 1 });
      await inbox.waitFor(i + 1);
    }
    const messages = inbox.messages;
    // MQTT.js restores the topic from the alias: every message arrives on its own topic.
    expect(messages.map((m) => `${m.topic}=${m.payload}`)).toEqual(["out/a=out/a", "out/a=out/a", "out/b=out/b", "out/c=out/c", "out/c=out/c", "out/a=out/a"]);
    // --max-topic-alias 2 caps the client's 10: out/c, the third topic, goes without an alias.
    expect(onWire).toEqual([
      { topic: "out/a", alias: 1 },
      { topic: "", alias: 1 },
      { topic: "out/b", alias: 2 },
      { topic: "out/c", alias: undefined },
      { topic: "out/c", alias: undefined },
      { topic: "", alias: 1 },
    ]);
  });

  test("topic aliases to the client: none when the client accepts none", async () => {
    const { url } = await startBroker();
    const { client: reader } = await connectV5(url);
    const aliases: unknown[] = [];
    reader.on("packetreceive", (packet) => {
      if (packet.cmd === "publish") aliases.push((packet as IPublishPacket).properties?.topicAlias);
    });
    await reader.subscribeAsync("plain/#", { qos: 0 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url);
    for (let i = 0; i < 3; i++) await publisher.publishAsync("plain/t", `m${i}`, { qos: 1 });
    await inbox.waitFor(3);
    expect(aliases).toEqual([undefined, undefined, undefined]);
  });
});
