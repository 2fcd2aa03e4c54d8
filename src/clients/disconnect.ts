import type { MqttClient } from "mqtt";

/** How long a client waits, once its DISCONNECT is sent, for the broker to close the connection. */
export const DISCONNECT_CLOSE_GRACE_MS = 500;
/** How long a client that is ending waits for the broker to acknowledge its QoS 1/2 messages still in flight. */
export const IN_FLIGHT_GRACE_MS = 1_000;

/**
 * Sends DISCONNECT (after MQTT.js has its in-flight messages acknowledged) and resolves once the
 * connection is closed. MQTT.js waits for the socket's close, which a broker keeping it open after
 * DISCONNECT never sends: once our side is flushed and ended, the broker gets a moment, then we close.
 * It also waits for every acknowledgement, which a broker may never send: after a moment those
 * messages are given up, so the DISCONNECT goes out all the same.
 */
export function disconnect(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    let closeAnyway: ReturnType<typeof setTimeout> | undefined;
    const stream = client.stream;
    stream.once("finish", () => (closeAnyway = setTimeout(() => stream.destroy(), DISCONNECT_CLOSE_GRACE_MS)));
    const giveUp = setTimeout(() => abandonInFlight(client), IN_FLIGHT_GRACE_MS);
    client.end(false, {}, () => {
      clearTimeout(closeAnyway);
      clearTimeout(giveUp);
      resolve();
    });
  });
}

/**
 * Takes the QoS 1/2 messages still waiting for an acknowledgement out of MQTT.js's in-flight set
 * (their publish callbacks fail with "Message removed"); an end() waiting for them goes on.
 * Returns how many there were.
 */
export function abandonInFlight(client: MqttClient): number {
  const messageIds = Object.keys(client.outgoing);
  for (const messageId of messageIds) client.removeOutgoingMessage(Number(messageId));
  // MQTT.js's end() listens for this, which it emits itself only when an acknowledgement empties the set.
  if (messageIds.length > 0 && client.disconnecting) client.emit("outgoingEmpty");
  return messageIds.length;
}
