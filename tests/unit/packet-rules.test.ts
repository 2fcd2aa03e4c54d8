import { describe, expect, test } from "bun:test";
import { connectProblem, propertiesProblem, subscribeProblem } from "../../src/core/packet-rules";
import { ReasonCode } from "../../src/core/reason-codes";

describe("propertiesProblem", () => {
  test("a PUBLISH may carry the publication properties", () => {
    const properties = { payloadFormatIndicator: true, messageExpiryInterval: 5, topicAlias: 1, responseTopic: "r", correlationData: Buffer.from("c"), userProperties: { a: "1" }, contentType: "t" };
    expect(propertiesProblem("publish", properties)).toBeUndefined();
  });

  test("a property of another packet makes it malformed [MQTT-2.2.2-2]", () => {
    expect(propertiesProblem("publish", { sessionExpiryInterval: 1 })?.reasonCode).toBe(ReasonCode.malformedPacket);
    expect(propertiesProblem("publish", { willDelayInterval: 1 })?.reasonCode).toBe(ReasonCode.malformedPacket);
    expect(propertiesProblem("puback", { topicAlias: 1 })?.reasonCode).toBe(ReasonCode.malformedPacket);
    expect(propertiesProblem("subscribe", { contentType: "x" })?.reasonCode).toBe(ReasonCode.malformedPacket);
    expect(propertiesProblem("will", { sessionExpiryInterval: 1 })?.message).toBe("sessionExpiryInterval is not a will property");
  });

  test("a Subscription Identifier in a client's PUBLISH is a Protocol Error [MQTT-3.3.4-6], in its SUBSCRIBE it is fine", () => {
    expect(propertiesProblem("publish", { subscriptionIdentifier: 3 })?.reasonCode).toBe(ReasonCode.protocolError);
    expect(propertiesProblem("subscribe", { subscriptionIdentifier: 3, userProperties: {} })).toBeUndefined();
  });

  test("no properties, or a packet kind without a list (PINGREQ), is no problem", () => {
    expect(propertiesProblem("publish", undefined)).toBeUndefined();
    expect(propertiesProblem("pingreq", { anything: 1 })).toBeUndefined();
  });
});

describe("connectProblem", () => {
  const valid = { protocolVersion: 4, username: "u", password: Buffer.from("p") };

  test("a CONNECT read to its end with consistent flags passes", () => {
    expect(connectProblem(valid, 30, 30)).toBeUndefined();
    expect(connectProblem({ protocolVersion: 5, password: Buffer.from("p") }, 20, 20)).toBeUndefined();
  });

  test("bytes left after the fields its flags announce make it malformed", () => {
    expect(connectProblem(valid, 28, 30)?.message).toBe("CONNECT with 2 bytes after the fields its flags announce");
  });

  test("Will QoS 3, and a 3.1.1 Password without a User Name, are refused", () => {
    expect(connectProblem({ protocolVersion: 5, will: { qos: 3 } }, 10, 10)?.reasonCode).toBe(ReasonCode.malformedPacket);
    expect(connectProblem({ protocolVersion: 4, password: Buffer.from("p") }, 10, 10)?.message).toContain("Password but no User Name");
  });

  test("CONNECT and will properties are checked against their own lists", () => {
    expect(connectProblem({ protocolVersion: 5, properties: { topicAlias: 1 } }, 10, 10)?.message).toBe("topicAlias is not a CONNECT property");
    expect(connectProblem({ protocolVersion: 5, will: { qos: 1, properties: { willDelayInterval: 5 } } }, 10, 10)).toBeUndefined();
  });
});

test("subscribeProblem: No Local on a shared subscription only [MQTT-3.8.3-4]", () => {
  expect(subscribeProblem([{ topic: "$share/g/t", nl: true }])?.reasonCode).toBe(ReasonCode.protocolError);
  expect(subscribeProblem([{ topic: "$share/g/t" }, { topic: "t", nl: true }])).toBeUndefined();
});
