// Graceful stop: once the listeners are closed, deliver what the broker has accepted before closing clients.
import type { Aedes } from "aedes";
import { connectedClients, heldForReplay, inboundUnacknowledged, messagesRouting, outboundUnacknowledged, waitingForWindow } from "./aedes-internals";

/** Shared by the packet guard and the drain: while draining, new PUBLISH packets are not accepted. */
export interface DrainState {
  draining: boolean;
}

/**
 * Messages accepted but not yet fully delivered: being routed, waiting for or in a client's
 * Receive Maximum window (QoS 1/2 not yet acknowledged), held behind a session's replay, received
 * from an MQTT 5 client and not yet acknowledged (QoS 1) or released (QoS 2), or bytes not yet
 * written to a socket.
 */
export function messagesInFlight(aedes: Aedes): number {
  let count = messagesRouting(aedes);
  for (const client of connectedClients(aedes)) {
    count += outboundUnacknowledged(client) + waitingForWindow(client) + heldForReplay(client) + inboundUnacknowledged(client);
    if ((client.conn.writableLength ?? 0) > 0) count++;
  }
  return count;
}

/**
 * Stops accepting PUBLISH (a QoS 1/2 one goes unacknowledged, so its sender keeps it), then waits
 * until everything in flight is delivered and acknowledged, or `timeoutMs` passes. Acknowledgements
 * (PUBACK, PUBREC, PUBREL, PUBCOMP) keep flowing meanwhile. Resolves with what was left.
 */
export async function drain(aedes: Aedes, state: DrainState, timeoutMs: number): Promise<number> {
  state.draining = true;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const left = messagesInFlight(aedes);
    if (left === 0 || performance.now() >= deadline) return left;
    // Shutdown path, not a hot one: looking every 10 ms is simpler than hooking every acknowledgement.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
