// A subscriber that stops reading: what the broker's --max-queued and the console's backlog view are about.
import net from "node:net";
import mqttPacket from "mqtt-packet";

/** A subscriber that connects, subscribes, and then reads nothing more (nor acknowledges). */
export async function stuckSubscriber(port: number, topic: string, qos: 0 | 1): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: `stuck-${qos}`, clean: true, keepalive: 0 } as mqttPacket.Packet, { protocolVersion: 5 }));
  socket.write(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos }] } as mqttPacket.Packet, { protocolVersion: 5 }));
  // Wait for SUBACK, then stop reading: the kernel buffers fill and the broker's writes back up.
  await new Promise<void>((resolve) => {
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.includes(0x90)) {
        socket.off("data", onData);
        socket.pause();
        resolve();
      }
    };
    socket.on("data", onData);
  });
  return socket;
}
