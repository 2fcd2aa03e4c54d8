import { expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { Qos0PublishFrames } from "../../src/core/publish-frame";

const correlationData = Buffer.from("0123456789abcdef", "hex");

/** What MQTT.js would write for the same QoS 0 PUBLISH. */
function reference(topic: string, payload: Buffer, protocolVersion: 4 | 5, properties?: Record<string, unknown>): Buffer {
  return mqttPacket.generate({ cmd: "publish", topic, payload, qos: 0, retain: false, dup: false, ...(properties ? { properties } : {}) } as mqttPacket.IPublishPacket, { protocolVersion });
}

// Remaining Length crosses from 1 to 2, 2 to 3 and 3 to 4 bytes at 128, 16 384 and 2 097 152.
const sizes = [0, 1, 14, 100, 127, 128, 200, 16_383, 16_384, 70_000, 2_097_151, 2_097_152];

test("MQTT 5 probes with Response Topic and Correlation Data are byte for byte what mqtt-packet generates", () => {
  const properties = { responseTopic: "/pong", correlationData };
  const frames = new Qos0PublishFrames("/ping", 5, properties);
  for (const size of sizes) {
    const payload = Buffer.alloc(size, 0x78);
    expect(frames.encode(payload).equals(reference("/ping", payload, 5, properties))).toBe(true);
  }
});

test("MQTT 5 without properties, and MQTT 3.1.1 (properties ignored), match too", () => {
  const payload = Buffer.from("1795000000.250");
  expect(new Qos0PublishFrames("a/b", 5).encode(payload).equals(reference("a/b", payload, 5))).toBe(true);
  expect(new Qos0PublishFrames("a/b", 4, { responseTopic: "/pong", correlationData }).encode(payload).equals(reference("a/b", payload, 4))).toBe(true);
});

test("topics and response topics are UTF-8 with their byte length", () => {
  const properties = { responseTopic: "antwort/ä", correlationData };
  const payload = Buffer.from("x");
  expect(new Qos0PublishFrames("zähler/ping", 5, properties).encode(payload).equals(reference("zähler/ping", payload, 5, properties))).toBe(true);
});

test("a packet parses back to the same topic, properties and payload", () => {
  const frames = new Qos0PublishFrames("/ping", 5, { responseTopic: "/pong", correlationData });
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const packets: mqttPacket.IPublishPacket[] = [];
  parser.on("packet", (packet) => packets.push(packet as mqttPacket.IPublishPacket));
  parser.parse(Buffer.concat([frames.encode(Buffer.from("1")), frames.encode(Buffer.from("22"))]));
  expect(packets.map((packet) => [packet.topic, packet.qos, String(packet.payload), packet.properties?.responseTopic])).toEqual([
    ["/ping", 0, "1", "/pong"],
    ["/ping", 0, "22", "/pong"],
  ]);
  expect(packets[0]!.properties!.correlationData!.equals(correlationData)).toBe(true);
});

test("packetLength is the encoded size, and Infinity past the protocol's 256 MiB limit", () => {
  const frames = new Qos0PublishFrames("/ping", 5, { responseTopic: "/pong", correlationData });
  for (const size of [0, 127, 128, 16_384]) expect(frames.packetLength(size)).toBe(frames.encode(Buffer.alloc(size)).length);
  expect(frames.packetLength(268_435_455)).toBe(Infinity);
});

test("fixed User Properties, and one more added per packet, are what mqtt-packet generates", () => {
  const payload = Buffer.from("1795000000.250");
  const fixed = { responseTopic: "/pong", correlationData, userProperties: [["breakdown", "1"]] as Array<[string, string]> };
  const frames = new Qos0PublishFrames("/ping", 5, fixed);
  expect(frames.encode(payload).equals(reference("/ping", payload, 5, { ...fixed, userProperties: { breakdown: "1" } }))).toBe(true);
  const answer = new Qos0PublishFrames("/pong", 5, { correlationData });
  const withTurnaround = answer.encodeWithUserProperty(payload, "echo-turnaround-us", "123.4");
  expect(withTurnaround.equals(reference("/pong", payload, 5, { correlationData, userProperties: { "echo-turnaround-us": "123.4" } }))).toBe(true);
  expect(new Qos0PublishFrames("/pong", 4).encodeWithUserProperty(payload, "x", "y").equals(reference("/pong", payload, 4))).toBe(true);
});
