// The pure parts of echo's fast path: packet framing across chunks, and reading a QoS 0 PUBLISH.
import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import type { MqttClient } from "mqtt";
import mqttPacket from "mqtt-packet";
import { EchoFastPath } from "../../src/clients/echo-fast-path";
import { PacketFramer } from "../../src/core/packet-framer";
import { decodeQos0Publish } from "../../src/core/publish-decode";

const generate = (packet: Record<string, unknown>, protocolVersion: 4 | 5 = 5) => mqttPacket.generate(packet as unknown as mqttPacket.Packet, { protocolVersion });
const publish = (topic: string, payload: string | Buffer, extra: Record<string, unknown> = {}, protocolVersion: 4 | 5 = 5) =>
  generate({ cmd: "publish", topic, payload, qos: 0, retain: false, dup: false, ...extra }, protocolVersion);

describe("packet framer", () => {
  test("a chunk of whole packets yields each, in order", () => {
    const a = publish("/ping", "1");
    const b = generate({ cmd: "pingresp" });
    const c = publish("/ping", Buffer.alloc(300, 1)); // two-byte Remaining Length
    const packets = new PacketFramer().feed(Buffer.concat([a, b, c]))!;
    expect(packets.map((p) => [p.start, p.end])).toEqual([
      [0, a.length],
      [a.length, a.length + b.length],
      [a.length + b.length, a.length + b.length + c.length],
    ]);
    expect(packets[2]!.body).toBe(a.length + b.length + 3);
  });

  test("a packet cut anywhere, header included, is followed: the chunk that starts inside it yields nothing, the next aligned one its packets", () => {
    const big = publish("/ping", Buffer.alloc(200, 7));
    const next = publish("/ping", "n");
    const stream = Buffer.concat([big, next, next]);
    for (let cut = 1; cut < big.length; cut++) {
      const framer = new PacketFramer();
      const first = framer.feed(stream.subarray(0, cut))!;
      expect(first).toEqual([]); // aligned, but nothing whole yet
      expect(framer.feed(stream.subarray(cut, big.length + next.length))).toBeUndefined();
      const third = framer.feed(stream.subarray(big.length + next.length))!;
      expect(third.map((p) => p.end - p.start)).toEqual([next.length]);
    }
  });

  test("a fixed header cut after its type byte is completed from the next chunk", () => {
    const a = publish("/ping", Buffer.alloc(200, 7));
    const framer = new PacketFramer();
    expect(framer.feed(a.subarray(0, 1))).toEqual([]);
    expect(framer.feed(a.subarray(1, 2))).toBeUndefined(); // first length byte only (it says more follows)
    expect(framer.feed(a.subarray(2))).toBeUndefined();
    expect(framer.feed(publish("/ping", "x"))!.length).toBe(1);
  });

  test("a malformed Remaining Length loses the framing for good", () => {
    const framer = new PacketFramer();
    expect(framer.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBeUndefined();
    expect(framer.feed(publish("/ping", "x"))).toBeUndefined();
  });
});

describe("QoS 0 PUBLISH decoding", () => {
  const whole = (bytes: Buffer) => new PacketFramer().feed(bytes)![0]!;

  test("MQTT 5: topic, payload, Response Topic, Correlation Data and User Properties (a repeated name as a list)", () => {
    const correlationData = Buffer.from("00ff10", "hex");
    const bytes = publish("/ping", "1795000000.250 xx", {
      properties: { payloadFormatIndicator: true, messageExpiryInterval: 60, contentType: "text/plain", responseTopic: "réponse/1", correlationData, userProperties: { breakdown: "1", tag: ["a", "b"] }, subscriptionIdentifier: 300 },
    });
    const decoded = decodeQos0Publish(bytes, whole(bytes), 5)!;
    expect(Buffer.from(decoded.topic).toString()).toBe("/ping");
    expect(decoded.payload.toString()).toBe("1795000000.250 xx");
    expect(decoded.properties).toEqual({ responseTopic: "réponse/1", correlationData, userProperties: { breakdown: "1", tag: ["a", "b"] } });
  });

  test("MQTT 3.1.1 has no properties; binary and empty payloads come out byte for byte", () => {
    for (const payload of [Buffer.from([0, 255, 10, 13]), Buffer.alloc(0)]) {
      const bytes = publish("/ping", payload, {}, 4);
      const decoded = decodeQos0Publish(bytes, whole(bytes), 4)!;
      expect(decoded.payload.equals(payload)).toBe(true);
      expect(decoded.properties).toEqual({});
    }
  });

  test("what it does not read goes to MQTT.js: QoS 1, a Topic Alias, another packet", () => {
    const qos1 = generate({ cmd: "publish", topic: "/ping", payload: "x", qos: 1, messageId: 7, retain: false, dup: false });
    const alias = publish("/ping", "x", { properties: { topicAlias: 3 } });
    const pingresp = generate({ cmd: "pingresp" });
    for (const bytes of [qos1, alias, pingresp]) expect(decodeQos0Publish(bytes, whole(bytes), 5)).toBeUndefined();
  });
});

describe("echo's fast path rehearsal (its start-up warm-up)", () => {
  test("rehearsing answers nothing and leaves no flag behind; the next real probe is answered as before", () => {
    const answers: string[] = [];
    const fastPath = new EchoFastPath(Buffer.from("/ping"), (payload) => answers.push(payload.toString()));
    const stream = new EventEmitter();
    fastPath.watch({ stream, options: { protocolVersion: 5 }, streamBuilder: () => stream } as unknown as MqttClient);
    fastPath.enabled = true;
    fastPath.rehearse(publish("/ping", "rehearsed"), 5, 100);
    expect(answers).toEqual([]);
    expect(fastPath.answeredAlready()).toBe(false);
    stream.emit("data", publish("/ping", "real"));
    expect(answers).toEqual(["real"]);
    expect(fastPath.answeredAlready()).toBe(true);
  });
});
