import { expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { decodePacket, PacketReader, propertyOf } from "../../src/conformance/codec/decode";
import { acknowledgement, connect, disconnect, publish, subscribe, unsubscribe } from "../../src/conformance/codec/encode";
import { MalformedPacket, Prop, readVbi } from "../../src/conformance/codec/properties";
import { PacketType } from "../../src/conformance/codec/packet-types";

// mqtt-packet (MQTT.js's codec) is the independent reference here: the suite's codec must agree with it
// on well-formed packets, byte for byte.
const parse = (bytes: Buffer, protocolVersion: 4 | 5) => {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: mqttPacket.Packet[] = [];
  const errors: Error[] = [];
  parser.on("packet", (packet) => packets.push(packet));
  parser.on("error", (error) => errors.push(error));
  parser.parse(bytes);
  return { packets, errors };
};

test("Variable Byte Integers: the reader reports a non-minimal encoding, an incomplete one, and a fifth byte", () => {
  expect(readVbi(Buffer.of(0x80, 0x01), 0)).toEqual({ value: 128, length: 2, minimal: true });
  expect(readVbi(Buffer.of(0x80, 0x00), 0)).toEqual({ value: 0, length: 2, minimal: false });
  expect(readVbi(Buffer.of(0x80), 0)).toBeUndefined();
  expect(() => readVbi(Buffer.of(0x80, 0x80, 0x80, 0x80, 0x01), 0)).toThrow(MalformedPacket);
});

test("CONNECT with will, credentials and properties is what mqtt-packet reads", () => {
  const bytes = connect(5, {
    clientId: "client1",
    cleanStart: false,
    keepAlive: 30,
    username: "user",
    password: "secret",
    properties: [{ id: Prop.sessionExpiryInterval, value: 99_999 }],
    will: { topic: "will/topic", payload: "gone", qos: 1, retain: true, properties: [{ id: Prop.willDelayInterval, value: 5 }] },
  });
  const { packets, errors } = parse(bytes, 5);
  expect(errors).toEqual([]);
  const packet = packets[0] as mqttPacket.IConnectPacket;
  expect(packet.clientId).toBe("client1");
  expect(packet.clean).toBe(false);
  expect(packet.keepalive).toBe(30);
  expect(packet.username).toBe("user");
  expect(String(packet.password)).toBe("secret");
  expect(packet.properties?.sessionExpiryInterval).toBe(99_999);
  expect(packet.will?.topic).toBe("will/topic");
  expect(packet.will?.qos).toBe(1);
  expect(packet.will?.retain).toBe(true);
  expect(packet.will?.properties?.willDelayInterval).toBe(5);
});

test("PUBLISH, SUBSCRIBE, UNSUBSCRIBE, acknowledgements and DISCONNECT match mqtt-packet's encoding", () => {
  for (const level of [4, 5] as const) {
    const properties = level === 5 ? { userProperties: { a: "1" } } : undefined;
    const ours = publish(level, { topic: "a/b", payload: "hello", qos: 1, packetId: 7, retain: true, properties: level === 5 ? [{ id: Prop.userProperty, value: ["a", "1"] }] : [] });
    const theirs = mqttPacket.generate({ cmd: "publish", topic: "a/b", payload: "hello", qos: 1, messageId: 7, retain: true, dup: false, ...(properties ? { properties } : {}) }, { protocolVersion: level });
    expect(ours.equals(theirs)).toBe(true);
    const subscribeBytes = subscribe(level, 9, [{ filter: "x/#", qos: 2 }]);
    const parsed = parse(subscribeBytes, level).packets[0] as mqttPacket.ISubscribePacket;
    expect(parsed.messageId).toBe(9);
    expect(parsed.subscriptions[0]).toMatchObject({ topic: "x/#", qos: 2 });
    const unsubscribeBytes = unsubscribe(level, 10, ["x/#", "y"]);
    expect((parse(unsubscribeBytes, level).packets[0] as mqttPacket.IUnsubscribePacket).unsubscriptions).toEqual(["x/#", "y"]);
    expect(acknowledgement(level, PacketType.PUBREL, 5).equals(Buffer.of(0x62, 0x02, 0x00, 0x05))).toBe(true);
    expect(disconnect(level).equals(Buffer.of(0xe0, 0x00))).toBe(true);
  }
});

test("the reader splits a stream into packets however it is cut, and decodes server packets", () => {
  const connack = mqttPacket.generate({ cmd: "connack", sessionPresent: true, reasonCode: 0, properties: { assignedClientIdentifier: "auto-1", topicAliasMaximum: 10 } }, { protocolVersion: 5 });
  const message = mqttPacket.generate({ cmd: "publish", topic: "t/1", payload: Buffer.alloc(300, 1), qos: 2, messageId: 300, retain: false, dup: true }, { protocolVersion: 5 });
  const suback = mqttPacket.generate({ cmd: "suback", messageId: 4, granted: [0, 1, 0x80] }, { protocolVersion: 5 });
  const stream = Buffer.concat([connack, message, suback]);
  for (const cut of [1, 2, 7, stream.length - 1]) {
    const reader = new PacketReader(5);
    const packets = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    expect(packets.map((packet) => packet.name)).toEqual(["CONNACK", "PUBLISH", "SUBACK"]);
    const [ack, publishPacket, subackPacket] = packets;
    expect(ack!.sessionPresent).toBe(true);
    expect(propertyOf(ack!, Prop.assignedClientIdentifier)).toBe("auto-1");
    expect(propertyOf(ack!, Prop.topicAliasMaximum)).toBe(10);
    expect(publishPacket).toMatchObject({ topic: "t/1", qos: 2, packetId: 300, dup: true, retain: false });
    expect(publishPacket!.payload!.length).toBe(300);
    expect(subackPacket!.reasonCodes).toEqual([0, 1, 0x80]);
    expect(packets.every((packet) => packet.problems.length === 0)).toBe(true);
  }
});

test("the decoder names what is wrong in a server's packet", () => {
  // A PUBLISH carrying Will Delay Interval (0x18), a property that belongs to the will only.
  const willDelay = Buffer.of(0x30, 0x0a, 0x00, 0x01, 0x74, 0x05, 0x18, 0x00, 0x00, 0x00, 0x05, 0x78);
  expect(decodePacket(willDelay, 2, true, 5).problems).toEqual(["property 0x18 is not valid in packet type 3"]);
  // PUBREL's flags must be 0010; a non-minimal Remaining Length; a topic with ill-formed UTF-8.
  expect(decodePacket(Buffer.of(0x60, 0x02, 0x00, 0x01), 2, true, 4).problems).toEqual(["reserved flags 0x0 in PUBREL"]);
  expect(decodePacket(Buffer.of(0xd0, 0x80, 0x00), 3, false, 4).problems).toEqual(["Remaining Length not in its minimal encoding"]);
  expect(decodePacket(Buffer.of(0x30, 0x04, 0x00, 0x02, 0xc3, 0x28), 2, true, 4).problems).toEqual(["Topic Name is not well-formed UTF-8"]);
  // Two Session Expiry Intervals in a CONNACK.
  const twice = Buffer.of(0x20, 0x0d, 0x00, 0x00, 0x0a, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2);
  expect(decodePacket(twice, 2, true, 5).problems).toEqual(["property 0x11 appears more than once"]);
});
