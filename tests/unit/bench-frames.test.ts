import { describe, expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { PacketType, readFrame, readPublish, writeAck, type Frame, type PublishView } from "../../src/bench/frames";

const frame = (): Frame => ({ type: 0, flags: 0, start: 0, bodyStart: 0, end: 0 });
const view = (): PublishView => ({ qos: 0, messageId: 0, topicStart: 0, topicEnd: 0, payloadStart: 0 });

describe("bench framing", () => {
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
