// MQTT 5.0 message properties and publish acknowledgements against the compiled broker.
import { describe, expect, test } from "bun:test";
import { startBroker } from "./harness";
import { connectV5, Inbox } from "./mqtt5-client";

describe("MQTT 5.0 messages", () => {
  test("user properties, payload format indicator and content type pass through unchanged", async () => {
    const { url } = await startBroker();
    const { client: reader } = await connectV5(url);
    await reader.subscribeAsync("props/#", { qos: 1 });
    const inbox = new Inbox(reader);
    const { client: publisher } = await connectV5(url);
    const properties = {
      userProperties: { origin: "test", "two words": "ünïcödé", repeated: ["a", "b"] },
      payloadFormatIndicator: true,
      contentType: "application/json; charset=utf-8",
    };
    await publisher.publishAsync("props/q1", '{"n":1}', { qos: 1, properties });
    await publisher.publishAsync("props/q0", '{"n":0}', { qos: 0, properties: { contentType: "text/plain" } });
    // QoS 0 may overtake QoS 1 (order is kept per QoS): find each by its topic.
    const messages = await inbox.waitFor(2);
    const q1 = messages.find((m) => m.topic === "props/q1");
    const q0 = messages.find((m) => m.topic === "props/q0");
    expect(q1!.properties?.userProperties).toEqual(properties.userProperties);
    expect(q1!.properties?.payloadFormatIndicator).toBe(true);
    expect(q1!.properties?.contentType).toBe(properties.contentType);
    expect(q0!.properties?.contentType).toBe("text/plain");
    expect(q0!.properties?.userProperties).toBeUndefined();
  });

  test("request/response: the response topic and correlation data reach the responder, whose answer reaches the requester", async () => {
    const { url } = await startBroker();
    const { client: responder } = await connectV5(url);
    await responder.subscribeAsync("service/double", { qos: 1 });
    responder.on("message", (_topic, payload, packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (!responseTopic) return;
      responder.publish(responseTopic, String(Number(payload) * 2), { qos: 1, properties: { correlationData } });
    });
    const { client: requester } = await connectV5(url);
    await requester.subscribeAsync("replies/requester", { qos: 1 });
    const inbox = new Inbox(requester);
    const correlations = [Buffer.from([0, 1, 2, 255]), Buffer.from("second")];
    await requester.publishAsync("service/double", "21", { qos: 1, properties: { responseTopic: "replies/requester", correlationData: correlations[0] } });
    await requester.publishAsync("service/double", "50", { qos: 1, properties: { responseTopic: "replies/requester", correlationData: correlations[1] } });
    const replies = await inbox.waitFor(2);
    const byCorrelation = new Map(replies.map((m) => [Buffer.from(m.properties!.correlationData!).toString("hex"), m.payload.toString()]));
    expect(byCorrelation.get(correlations[0]!.toString("hex"))).toBe("42");
    expect(byCorrelation.get(correlations[1]!.toString("hex"))).toBe("100");
  });

  test("PUBACK reason codes: 0x00 for an accepted publish, 0x87 for a publish to $SYS", async () => {
    const { url } = await startBroker();
    const { client } = await connectV5(url);
    const acks = collectAcks(client, "puback");
    await client.publishAsync("ack/t", "ok", { qos: 1 });
    await client.publishAsync("$SYS/forbidden", "no", { qos: 1 }).catch(() => undefined);
    expect(await acks.take(2)).toEqual([0x00, 0x87]);
    // The refusal does not end the connection.
    await client.publishAsync("ack/t", "still here", { qos: 1 });
  });

  test("PUBREC reason codes: 0x00 for an accepted publish, 0x87 for a publish to $SYS", async () => {
    const { url } = await startBroker();
    const { client } = await connectV5(url);
    const acks = collectAcks(client, "pubrec");
    await client.publishAsync("ack/t", "ok", { qos: 2 });
    await client.publishAsync("$SYS/forbidden", "no", { qos: 2 }).catch(() => undefined);
    expect(await acks.take(2)).toEqual([0x00, 0x87]);
    await client.publishAsync("ack/t", "still here", { qos: 2 });
  });
});

/** The reason codes of one kind of acknowledgement, in arrival order (absent means 0x00). */
function collectAcks(client: import("mqtt").MqttClient, cmd: "puback" | "pubrec") {
  const codes: number[] = [];
  client.on("packetreceive", (packet: any) => {
    if (packet.cmd === cmd) codes.push(packet.reasonCode ?? 0);
  });
  return {
    async take(count: number): Promise<number[]> {
      const deadline = Date.now() + 10_000;
      while (codes.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} ${cmd}, got ${codes}`);
        await Bun.sleep(5);
      }
      return codes.slice(0, count);
    },
  };
}
