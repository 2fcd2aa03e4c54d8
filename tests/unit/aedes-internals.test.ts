// src/broker/aedes-internals.ts against the patched aedes itself: each private field it reads is read
// from a running broker in this process (its connection an in-memory stream pair), so a field the
// fork renames fails here, and tsc shows every use in src/ of a field renamed in the facade.
import { afterEach, expect, test } from "bun:test";
import { Duplex } from "node:stream";
import { Aedes, type Client } from "aedes";
import mqttPacket, { type Packet } from "mqtt-packet";
import {
  brokerInternals,
  clientInternals,
  connectedClients,
  inboundUnacknowledged,
  keepaliveSeconds,
  messagesRouting,
  outboundUnacknowledged,
  pendingDrains,
  waitingForWindow,
  heldForReplay,
} from "../../src/broker/aedes-internals";

const brokers: Aedes[] = [];
afterEach(async () => {
  for (const broker of brokers.splice(0)) await new Promise<void>((resolve) => broker.close(() => resolve()));
});

/** An MQTT 5 client on an in-memory connection to the broker. */
async function connectV5(broker: Aedes, clientId: string, keepalive = 0) {
  const received: Packet[] = [];
  const waiters: Array<() => void> = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on("packet", (packet) => {
    received.push(packet);
    for (const wake of waiters.splice(0)) wake();
  });
  // The broker reads what `send` pushes, and what it writes is parsed as the client would.
  const connection = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      parser.parse(chunk);
      callback();
    },
  });
  const ready = new Promise<Client>((resolve) => broker.once("clientReady", resolve));
  broker.handle(connection);
  const send = (packet: Packet) => connection.push(mqttPacket.generate(packet, { protocolVersion: 5 }));
  const next = async (cmd: string): Promise<Packet> => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const index = received.findIndex((packet) => packet.cmd === cmd);
      if (index >= 0) return received.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no ${cmd}; received ${received.map((packet) => packet.cmd).join(", ") || "nothing"}`);
      await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), Bun.sleep(50)]);
    }
  };
  send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId, clean: true, keepalive });
  await next("connack");
  return { client: await ready, send, next };
}

async function startBroker(): Promise<Aedes> {
  const broker = await Aedes.createBroker({ receiveMaximum: 10 } as ConstructorParameters<typeof Aedes>[0]);
  brokers.push(broker);
  return broker;
}

test("the broker's clients, router queue and a client's parser and keep alive are where the facade reads them", async () => {
  const broker = await startBroker();
  const { client } = await connectV5(broker, "fields", 30);
  expect(connectedClients(broker)).toEqual([clientInternals(client)]);
  expect(brokerInternals(broker).clients.fields).toBe(clientInternals(client));
  expect(messagesRouting(broker)).toBe(0);
  expect(Array.isArray(brokerInternals(broker).mq._messageQueue)).toBe(true);
  expect(keepaliveSeconds(client)).toBe(30);
  expect(clientInternals(client)._parser.listeners("packet").length).toBeGreaterThan(0);
  expect(typeof clientInternals(client).deliver0).toBe("function");
  expect(typeof clientInternals(client).deliverQoS).toBe("function");
});

test("reading the counts does not make the collections the fork makes on first use", async () => {
  const broker = await startBroker();
  const { client } = await connectV5(broker, "idle");
  expect("_lazy" in client).toBe(true);
  const counts = [outboundUnacknowledged, waitingForWindow, inboundUnacknowledged, pendingDrains, heldForReplay].map((count) => count(client));
  expect(counts).toEqual([0, 0, 0, 0, 0]);
  expect(clientInternals(client)._lazy).toBeNull();
});

test("an inbound QoS 2 message counts from PUBLISH to PUBREL", async () => {
  const broker = await startBroker();
  const { client, send, next } = await connectV5(broker, "sender");
  send({ cmd: "publish", topic: "facade/in", payload: Buffer.from("x"), qos: 2, messageId: 7, retain: false, dup: false });
  await next("pubrec");
  expect(inboundUnacknowledged(client)).toBe(1);
  send({ cmd: "pubrel", messageId: 7 });
  await next("pubcomp");
  expect(inboundUnacknowledged(client)).toBe(0);
});

test("an outbound QoS 1 message counts from PUBLISH to PUBACK", async () => {
  const broker = await startBroker();
  const { client, send, next } = await connectV5(broker, "receiver");
  send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "facade/out", qos: 1 }] });
  await next("suback");
  broker.publish({ cmd: "publish", topic: "facade/out", payload: Buffer.from("y"), qos: 1, retain: false, dup: false }, () => {});
  const delivery = await next("publish");
  expect(outboundUnacknowledged(client)).toBe(1);
  send({ cmd: "puback", messageId: delivery.messageId! });
  const deadline = Date.now() + 5_000;
  while (outboundUnacknowledged(client) !== 0) {
    if (Date.now() > deadline) throw new Error("the PUBACK did not clear the in-flight count");
    await Bun.sleep(5);
  }
});
