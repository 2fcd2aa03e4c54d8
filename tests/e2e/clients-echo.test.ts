// echo as a responder: MQTT 5 request/response, several echoers, many pingers, --json, --qos.
import { describe, expect, test } from "bun:test";
import type { IPublishPacket } from "mqtt-packet";
import { pingpong, Proc, startBroker, testWithPrograms } from "./harness";
import { RawClient } from "./mqtt-raw";

describe("echo", () => {
  testWithPrograms(["mosquitto_rr"], "mosquitto_rr's MQTT 5 request is answered on its Response Topic with its Correlation Data", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port), "--json");
    await echo.waitFor(/Subscribed to \/ping/);
    const rr = new Proc(["mosquitto_rr", "-h", "127.0.0.1", "-p", String(port), "-V", "5", "-t", "/ping", "-e", "reply/topic", "-m", "hi", "-W", "10"]);
    expect(await rr.waitExit(15_000)).toBe(0);
    expect(rr.stdoutLines).toEqual(["hi"]);
    const withCorrelation = new Proc([
      "mosquitto_rr", "-h", "127.0.0.1", "-p", String(port), "-V", "5", "-t", "/ping", "-e", "reply/other",
      "-m", "with correlation", "-D", "publish", "correlation-data", "req-42", "-F", "%p|%D", "-W", "10",
    ]);
    expect(await withCorrelation.waitExit(15_000)).toBe(0);
    expect(withCorrelation.stdoutLines).toEqual(["with correlation|req-42"]);
    // --json: one line per echoed message on stdout, nothing else there.
    await echo.waitForCount(/^\{/, 2);
    const records = echo.stdoutLines.map((line) => JSON.parse(line));
    expect(records.map(({ type, topic, payload, payloadlen }) => ({ type, topic, payload, payloadlen }))).toEqual([
      { type: "echo", topic: "reply/topic", payload: "hi", payloadlen: 2 },
      { type: "echo", topic: "reply/other", payload: "with correlation", payloadlen: 16 },
    ]);
    expect(records[1].correlation_data_hex).toBe(Buffer.from("req-42").toString("hex"));
  });

  testWithPrograms(["mosquitto_sub"], "the start-up warm-up of echo and ping sends nothing but PINGREQs: a subscriber to every topic sees only the probes and their echoes", async () => {
    const { port } = await startBroker();
    const everything = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "#", "-v"]);
    const echo = pingpong("echo", "-p", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "-p", String(port), "--count", "2", "--interval", "100ms", "--json");
    expect(await ping.waitExit(15_000)).toBe(0);
    const payloads = ping.stdoutLines.map((line) => JSON.parse(line)).filter((record) => record.type === "probe").map((record) => record.payload);
    expect(payloads).toHaveLength(2);
    await everything.waitForCount(/^\/pong /, 2);
    expect(everything.stdoutLines.toSorted()).toEqual(payloads.flatMap((payload: string) => [`/ping ${payload}`, `/pong ${payload}`]).toSorted());
    expect(echo.output()).toContain(`Got ${payloads[0]} on /ping.`);
  });

  test("a request from our pub with --response-topic is answered there, correlation data intact", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const sub = pingpong("sub", "-p", String(port), "-t", "answers/me", "-C", "1", "-F", "%t %p %D", "-d");
    await sub.waitFor(/subscribed to answers\/me/);
    const pub = pingpong("pub", "-p", String(port), "-t", "/ping", "-m", "question", "--response-topic", "answers/me", "--correlation-data", "c0ffee");
    expect(await pub.waitExit()).toBe(0);
    expect(await sub.waitExit()).toBe(0);
    expect(sub.stdoutLines).toEqual(["answers/me question c0ffee"]);
    await echo.waitFor(/^Publishing question on answers\/me\.$/);
  });

  test("QoS 0 messages that reach echo several to a read, or one over many reads, are each answered once, in order, byte for byte", async () => {
    // echo answers QoS 0 probes from the socket's read, ahead of MQTT.js, and MQTT.js's own handling
    // of the same packets must not answer them again (src/clients/echo-fast-path.ts).
    const { proc: broker, port } = await startBroker();
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed/);
    const requester = await RawClient.open(port, 5);
    requester.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "burst", clean: true, keepalive: 0 });
    await requester.waitFor((packet) => packet.cmd === "connack");
    requester.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "/pong", qos: 0 }] });
    await requester.waitFor((packet) => packet.cmd === "suback");
    await broker.waitFor(/subscribed to \/pong/);
    const payloads = [...Array.from({ length: 20 }, (_, i) => Buffer.from(`burst ${i}`)), Buffer.alloc(300_000, 0xa5), Buffer.from([0, 255, 0x30, 0x0d]), Buffer.alloc(0)];
    const publish = (payload: Buffer) => ({ cmd: "publish", topic: "/ping", payload, qos: 0, retain: false, dup: false }) as IPublishPacket;
    requester.sendTogether(payloads.slice(0, 20).map(publish));
    for (const payload of payloads.slice(20)) requester.send(publish(payload));
    // Answers keep their order: once the marker's is in, every answer before it is too, duplicates included.
    requester.send(publish(Buffer.from("marker")));
    await requester.waitFor((packet) => packet.cmd === "publish" && (packet as IPublishPacket).payload.toString() === "marker");
    const answers = requester.received.filter((packet) => packet.cmd === "publish") as IPublishPacket[];
    expect(answers.map((answer) => answer.topic)).toEqual(Array(payloads.length + 1).fill("/pong"));
    expect(answers.map((answer) => Buffer.from(answer.payload).toString("hex"))).toEqual([...payloads, Buffer.from("marker")].map((payload) => payload.toString("hex")));
  });

  test("a burst of requests answered at QoS 1 keeps to the broker's Receive Maximum [MQTT-4.9.0-2]: no 0x93, every answer arrives", async () => {
    // The broker allows 2 unacknowledged QoS 1 messages per client. echo -q 1 gets 20 QoS 0 requests
    // at once (no window holds those back) and answers each at QoS 1: it must hold its answers back,
    // 2 at a time (MQTT.js alone would send all 20 and be disconnected with 0x93).
    const { proc: broker, port } = await startBroker("--max-inflight", "2");
    const echo = pingpong("echo", "-p", String(port), "-q", "1", "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    const requester = await RawClient.open(port, 5);
    requester.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "burst-q1", clean: true, keepalive: 0 });
    await requester.waitFor((packet) => packet.cmd === "connack");
    // At QoS 0: the answers come without this test having to acknowledge them.
    requester.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "/pong", qos: 0 }] });
    await requester.waitFor((packet) => packet.cmd === "suback");
    await broker.waitFor(/subscribed to \/pong/);
    const requests = Array.from({ length: 20 }, (_, i) => ({ cmd: "publish", topic: "/ping", payload: Buffer.from(`q1 ${i}`), qos: 0, retain: false, dup: false }) as IPublishPacket);
    requester.sendTogether(requests);
    const answered = () => requester.received.filter((packet) => packet.cmd === "publish") as IPublishPacket[];
    await requester.waitFor(() => answered().length >= 20, 15_000);
    expect(answered().map((packet) => Buffer.from(packet.payload).toString()).sort()).toEqual(requests.map((request) => request.payload.toString()).sort());
    expect(broker.output()).not.toMatch(/receive maximum exceeded/);
    expect(echo.output()).not.toMatch(/lost/);
  });

  test("two echoers answer each probe twice: ping counts the duplicates", async () => {
    const { port } = await startBroker();
    const echoes = [pingpong("echo", "-p", String(port)), pingpong("echo", "-p", String(port))];
    for (const echo of echoes) await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "-p", String(port), "-c", "5", "-I", "100ms", "--json");
    expect(await ping.waitExit(15_000)).toBe(0);
    const objects = ping.stdoutLines.filter(Boolean).map((line) => JSON.parse(line));
    const summary = objects.at(-1);
    expect(summary).toMatchObject({ type: "summary", transmitted: 5, received: 5, duplicates: 5, lossPercent: 0 });
    expect(objects.filter((object) => object.type === "duplicate")).toHaveLength(5);
  });

  test("one echo at QoS 2 serves several pingers at once, each seeing only its own echoes", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port), "-q", "2", "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    // At 1 s intervals the payload is the Unix second, so pingers started together send the same
    // payloads: only their MQTT 5 Correlation Data, returned by echo, tells the echoes apart.
    const pings = [1, 2, 3].map(() => pingpong("ping", "-p", String(port), "-c", "2", "-q", "2", "--json"));
    const payloads: string[] = [];
    for (const ping of pings) {
      expect(await ping.waitExit(20_000)).toBe(0);
      const objects = ping.stdoutLines.filter(Boolean).map((line) => JSON.parse(line));
      expect(objects.at(-1)).toMatchObject({ type: "summary", transmitted: 2, received: 2, duplicates: 0 });
      payloads.push(...objects.filter((object) => object.type === "probe").map((object) => object.payload));
    }
    expect(new Set(payloads).size).toBeLessThan(payloads.length); // the collision this test is about happened
  });
});
