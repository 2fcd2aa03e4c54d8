import type { MqttClient } from "mqtt";
import { canWriteDirectly } from "./direct-publish";
import { PINGREQ } from "./ping-breakdown";

/** Round trips at start: enough for the JIT to compile the read and write path, ~0.1 s on a loopback. */
export const WARM_UP_ROUND_TRIPS = 1000;
/** No new round trip after this long (a distant broker): the first probe waits about this much at most. */
const WARM_UP_DEADLINE_MS = 250;
/** The last PINGRESP is awaited this long at most (a broker that never answers). */
const LAST_ANSWER_TIMEOUT_MS = 5000;

/**
 * PINGREQ → PINGRESP round trips on the client's connection, one at a time, before the first probe:
 * they run the socket's read and write path (Bun's socket, node:net's stream, MQTT.js's parser) as
 * probes will, so that the JIT has compiled it by then. Otherwise a client probed once a second runs
 * that path in the interpreter's code for minutes, which costs several times as much after an idle
 * moment. PINGREQ changes nothing on any broker [MQTT-3.12.4-1]. Each PINGRESP is awaited before
 * going on, so none arrives once probes go out (ping --breakdown times its own PINGREQs). Resolves
 * with the round trips made.
 */
export async function warmUpConnection(client: MqttClient, roundTrips = WARM_UP_ROUND_TRIPS, deadlineMs = WARM_UP_DEADLINE_MS): Promise<number> {
  let answered: (() => void) | undefined;
  const onPacket = (packet: { cmd: string }) => {
    if (packet.cmd === "pingresp") answered?.();
  };
  const onClose = () => answered?.();
  const until = performance.now() + deadlineMs;
  const giveUp = setTimeout(onClose, deadlineMs + LAST_ANSWER_TIMEOUT_MS);
  client.on("packetreceive", onPacket);
  client.on("close", onClose);
  let done = 0;
  try {
    while (done < roundTrips && performance.now() < until && canWriteDirectly(client)) {
      await new Promise<void>((resolve) => {
        answered = resolve;
        client.stream.write(PINGREQ);
      });
      done++;
    }
  } finally {
    answered = undefined;
    clearTimeout(giveUp);
    client.removeListener("packetreceive", onPacket);
    client.removeListener("close", onClose);
  }
  return done;
}

/** Runs `step` `times` times: pure code of the probe path, compiled before the first probe needs it. */
export function rehearse(times: number, step: (i: number) => void): void {
  for (let i = 0; i < times; i++) step(i);
}

