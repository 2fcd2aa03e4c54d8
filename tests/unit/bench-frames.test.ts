import { describe, expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { connackReceiveMaximum, PacketType, readFrame, readPublish, writeAck, type Frame, type PublishView } from "../../src/bench/frames";

const frame = (): Frame => ({ type: 0, flags: 0, start: 0, bodyStart: 0, end: 0 });
const view = (): PublishView => ({ qos: 0, messageId: 0, topicStart: 0, topicEnd: 0, payloadStart: 0 });

describe("bench framing", () => {
  test("reads a CONNACK's Receive Maximum in place, past the other properties", () => {
    const connack = (properties?: mqttPacket.IConnackPacket["properties"]) => {
      const bytes = mqttPacket.generate({ cmd: "connack", returnCode: 0, reasonCode: 0, sessionPresent: false, properties } as mqttPacket.IConnackPacket, { protocolVersion: 5 });
      const f = frame();
      expect(readFrame(bytes, 0, f)).toBe(true);
      return connackReceiveMaximum(bytes, f);
    };
    expect(connack()).toBe(65535);
    expect(connack({ receiveMaximum: 20 })).toBe(20);
    expect(connack({ topicAliasMaximum: 10, maximumPacketSize: 1 << 20, serverKeepAlive: 30 })).toBe(65535);
    expect(
      connack({
        sessionExpiryInterval: 60,
        assignedClientIdentifier: "auto-7f3a",
        reasonString: "ok",
        userProperties: { broker: "mqtt-pingpong", zone: "a" },
        wildcardSubscriptionAvailable: true,
        receiveMaximum: 1000,
        maximumQoS: 1,
      }),
    ).toBe(1000);
    // Cut short inside the properties: not a number to trust.
    const bytes = mqttPacket.generate({ cmd: "connack", reasonCode: 0, sessionPresent: false, properties: { reasonString: "a long reason", receiveMaximum: 5 } } as mqttPacket.IConnackPacket, { protocolVersion: 5 });
    expect(connackReceiveMaximum(bytes, { type: 2, flags: 0, start: 0, bodyStart: 2, end: 10 })).toBeUndefined();
    // MQTT 3.1.1: two bytes, no properties.
    expect(connackReceiveMaximum(Uint8Array.from([0x20, 2, 0, 0]), { type: 2, flags: 0, start: 0, bodyStart: 2, end: 4 })).toBe(65535);
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`reads a QoS 1 PUBLISH in place (MQTT ${protocolVersion === 5 ? "5" : "3.1.1"})`, () => {
      const payload = Buffer.from("0123456789abcdef-payload");
      const bytes = mqttPacket.generate({ cmd: "publish", topic: "bench/t", payload, qos: 1, messageId: 4242, retain: false, dup: false }, { protocolVersion });
      const f = frame();
      const v = view();
      expect(readFrame(bytes, 0, f)).toBe(true);
      expect(f.type).toBe(PacketType.publish);
      expect(f.end).toBe(bytes.length);
      readPublish(bytes, f, protocolVersion, v);
      expect(v.qos).toBe(1);
      expect(v.messageId).toBe(4242);
      expect(bytes.subarray(v.topicStart, v.topicEnd).toString()).toBe("bench/t");
      expect(bytes.subarray(v.payloadStart, f.end).equals(payload)).toBe(true);
    });
  }

  test("finds packet boundaries across a multi-byte remaining length and waits for the rest", () => {
    const big = mqttPacket.generate({ cmd: "publish", topic: "t", payload: Buffer.alloc(300), qos: 0, retain: false, dup: false });
    const small = mqttPacket.generate({ cmd: "pingresp" });
    const both = Buffer.concat([big, small]);
    const f = frame();
    expect(readFrame(both, 0, f)).toBe(true);
    expect(f.bodyStart).toBe(3); // 300 needs two length bytes
    expect(f.end).toBe(big.length);
    expect(readFrame(both, f.end, f)).toBe(true);
    expect(f.type).toBe(PacketType.pingresp);
    expect(readFrame(both.subarray(0, big.length - 1), 0, f)).toBe(false);
    expect(readFrame(both.subarray(0, 2), 0, f)).toBe(false);
  });

  test("rejects a remaining length longer than four bytes", () => {
    expect(() => readFrame(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 0, frame())).toThrow(/malformed/);
  });

  test("writes acknowledgements mqtt-packet decodes", () => {
    for (const [type, cmd] of [[PacketType.puback, "puback"], [PacketType.pubrec, "pubrec"], [PacketType.pubrel, "pubrel"], [PacketType.pubcomp, "pubcomp"]] as const) {
      const out = Buffer.alloc(4);
      writeAck(out, 0, type, 0x1234);
      const parser = mqttPacket.parser();
      const packets: mqttPacket.Packet[] = [];
      parser.on("packet", (packet) => packets.push(packet));
      parser.on("error", (error) => {
        throw error;
      });
      parser.parse(out);
      expect(packets).toEqual([expect.objectContaining({ cmd, messageId: 0x1234 })]);
    }
  });
});
