import type { MqttClient } from "mqtt";

/** How long a client waits, once its DISCONNECT is sent, for the broker to close the connection. */
export const DISCONNECT_CLOSE_GRACE_MS = 500;

/**
 * Sends DISCONNECT (after MQTT.js has its in-flight messages acknowledged) and resolves once the
 * connection is closed. MQTT.js waits for the socket's close, which a broker keeping it open after
 * DISCONNECT never sends: once our side is flushed and ended, the broker gets a moment, then we close.
 */
export function disconnect(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    let closeAnyway: ReturnType<typeof setTimeout> | undefined;
    const stream = client.stream;
    stream.once("finish", () => (closeAnyway = setTimeout(() => stream.destroy(), DISCONNECT_CLOSE_GRACE_MS)));
    client.end(false, {}, () => {
      clearTimeout(closeAnyway);
      resolve();
    });
  });
}
