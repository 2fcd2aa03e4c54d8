import type { MqttClient } from "mqtt";
import { onEachChunk } from "./bun-tcp-stream";

/**
 * When the bytes last reached this process: stamped as each chunk is read from the connection,
 * before MQTT.js parses it. A round trip timed to this stamp measures the path to us, not the
 * parsing and event layers the bytes go through once here. Follows the client across reconnects.
 */
export function readClock(client: MqttClient): () => number {
  let lastReadAtMs = 0;
  const stamp = () => {
    lastReadAtMs = performance.now();
  };
  const watched = new WeakSet<object>();
  const watch = () => {
    const stream = client.stream as unknown as object | undefined;
    if (!stream || watched.has(stream)) return;
    watched.add(stream);
    onEachChunk(stream, stamp);
  };
  watch();
  client.on("connect", watch);
  // Read when no chunk has been stamped yet (a stream that cannot be watched): now is the best there is.
  return () => (lastReadAtMs === 0 ? performance.now() : lastReadAtMs);
}
