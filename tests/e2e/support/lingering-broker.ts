// A minimal MQTT broker that never closes a connection: not after DISCONNECT, not after the client's
// FIN. It answers CONNECT, SUBSCRIBE, PUBLISH (QoS 0-2) and PINGREQ, and routes each PUBLISH to the
// connections whose filters match. Clients are tested against it for ending by themselves. With
// `acknowledge: "none"` it never sends PUBACK, PUBREC or PUBCOMP, with `acknowledge: "pubrec"` only
// PUBCOMP is never sent (the rest as before).
import { createServer, type Server, type Socket } from "node:net";
import mqttPacket, { type Packet } from "mqtt-packet";
import { topicMatches } from "../../../src/core/topic-filter";

interface Peer {
  socket: Socket;
  protocolVersion: 4 | 5;
  filters: Array<{ filter: string; qos: number }>;
  nextMessageId: number;
}

export interface LingeringBroker {
  port: number;
  /** When the last DISCONNECT arrived (performance.now()), or undefined. */
  lastDisconnectAt(): number | undefined;
  /** How many connections sent DISCONNECT. */
  disconnects(): number;
  close(): Promise<void>;
}

export async function startLingeringBroker({ acknowledge = "all" as "all" | "pubrec" | "none" } = {}): Promise<LingeringBroker> {
  const peers = new Set<Peer>();
  const sockets = new Set<Socket>();
  let disconnectAt: number | undefined;
  let disconnectCount = 0;
  // allowHalfOpen: a client's FIN does not end our side; we never end it.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    let peer: Peer | undefined;
    const send = (packet: Packet) => socket.write(mqttPacket.generate(packet, { protocolVersion: peer?.protocolVersion ?? 4 }));
    parser.on("packet", (packet: any) => {
      switch (packet.cmd) {
        case "connect":
          peer = { socket, protocolVersion: packet.protocolVersion === 5 ? 5 : 4, filters: [], nextMessageId: 0 };
          peers.add(peer);
          send({ cmd: "connack", sessionPresent: false, returnCode: 0, reasonCode: 0 } as Packet);
          break;
        case "subscribe":
          peer!.filters.push(...packet.subscriptions.map((s: { topic: string; qos: number }) => ({ filter: s.topic, qos: s.qos })));
          send({ cmd: "suback", messageId: packet.messageId, granted: packet.subscriptions.map((s: { qos: number }) => s.qos) } as Packet);
          break;
        case "publish":
          if (acknowledge === "none") break;
          if (packet.qos === 1) send({ cmd: "puback", messageId: packet.messageId } as Packet);
          if (packet.qos === 2) send({ cmd: "pubrec", messageId: packet.messageId } as Packet);
          route(packet);
          break;
        case "pubrel":
          if (acknowledge === "all") send({ cmd: "pubcomp", messageId: packet.messageId } as Packet);
          break;
        case "pubrec":
          send({ cmd: "pubrel", messageId: packet.messageId } as Packet);
          break;
        case "pingreq":
          send({ cmd: "pingresp" } as Packet);
          break;
        case "disconnect":
          disconnectAt = performance.now();
          disconnectCount++;
          if (peer) peers.delete(peer);
          break;
      }
    });
    parser.on("error", () => {});
    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
  });

  function route(publish: { topic: string; payload: Buffer; qos: number; properties?: Record<string, unknown> }): void {
    for (const peer of peers) {
      const match = peer.filters.filter(({ filter }) => topicMatches(filter, publish.topic));
      if (match.length === 0) continue;
      const qos = Math.min(publish.qos, Math.max(...match.map(({ qos }) => qos)));
      // 1 to 65535, then 1 again (a run of bench pubsub sends more than 65,535 in a second).
      const messageId = qos > 0 ? (peer.nextMessageId = (peer.nextMessageId % 65535) + 1) : undefined;
      const properties = peer.protocolVersion === 5 ? publish.properties : undefined;
      const out = { cmd: "publish", topic: publish.topic, payload: publish.payload, qos, retain: false, dup: false, messageId, properties } as Packet;
      peer.socket.write(mqttPacket.generate(out, { protocolVersion: peer.protocolVersion }));
    }
  }

  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return {
    port: (server.address() as { port: number }).port,
    lastDisconnectAt: () => disconnectAt,
    disconnects: () => disconnectCount,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
