// mqtt-packet's User Properties keep their wire order (patches/mqtt-packet/50-user-property-order).
import { expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";

/** A QoS 0 MQTT 5 PUBLISH on topic "t" whose User Properties are `pairs`, in that order on the wire. */
function publishBytes(pairs: Array<[string, string]>): Buffer {
  const text = (value: string) => [0, value.length, ...Buffer.from(value)];
  const properties = pairs.flatMap(([name, value]) => [0x26, ...text(name), ...text(value)]);
  const body = [...text("t"), properties.length, ...properties, ...Buffer.from("x")];
  return Buffer.from([0x30, body.length, ...body]);
}

function parse(bytes: Buffer): any {
  let parsed: any;
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on("packet", (packet) => (parsed = packet));
  parser.parse(bytes);
  return parsed;
}

test("a parsed PUBLISH is written back with its User Properties in their wire order", () => {
  const wire = publishBytes([["b", "2"], ["a", "1"], ["b", "3"]]);
  const packet = parse(wire);
  expect({ ...packet.properties.userProperties }).toEqual({ b: ["2", "3"], a: "1" });
  expect(mqttPacket.generate(packet, { protocolVersion: 5 })).toEqual(wire);
  // A copy of the properties (as a broker makes to change another property) keeps the same object.
  expect(mqttPacket.generate({ ...packet, properties: { ...packet.properties, messageExpiryInterval: undefined } }, { protocolVersion: 5 })).toEqual(wire);
});

test("User Properties changed after parsing are written from the object, grouped by name", () => {
  const packet = parse(publishBytes([["b", "2"], ["a", "1"], ["b", "3"]]));
  packet.properties.userProperties.c = "4";
  expect(mqttPacket.generate(packet, { protocolVersion: 5 })).toEqual(publishBytes([["b", "2"], ["b", "3"], ["a", "1"], ["c", "4"]]));
  const again = parse(publishBytes([["b", "2"], ["a", "1"], ["b", "3"]]));
  again.properties.userProperties.a = "changed";
  expect(mqttPacket.generate(again, { protocolVersion: 5 })).toEqual(publishBytes([["b", "2"], ["b", "3"], ["a", "changed"]]));
});

test("User Properties built by hand are written as before", () => {
  const packet = { cmd: "publish", topic: "t", payload: Buffer.from("x"), qos: 0, retain: false, dup: false, properties: { userProperties: { b: ["2", "3"], a: "1" } } } as const;
  expect(mqttPacket.generate(packet as any, { protocolVersion: 5 })).toEqual(publishBytes([["b", "2"], ["b", "3"], ["a", "1"]]));
});
