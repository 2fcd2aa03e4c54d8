// Graceful stop: once the listeners are closed, deliver what the broker has accepted before closing clients.
import type { Aedes } from "aedes";

/** Shared by the packet guard and the drain: while draining, new PUBLISH packets are not accepted. */
export interface DrainState {
  draining: boolean;
}

/** The parts of aedes (and the committed aedes patch) that show messages still on their way. */
interface InFlightView {
  mq: { current: number; _messageQueue: unknown[] };
  clients: Record<string, { conn: { writableLength?: number }; _inflightOut?: Set<number>; _waitingForWindow?: unknown[]; _incomingQoS2?: Set<number> }>;
}

/**
 * Messages accepted but not yet fully delivered: being routed, waiting for or in a client's
 * Receive Maximum window (QoS 1/2 not yet acknowledged), QoS 2 received but not yet released, or
 * bytes not yet written to a socket.
 */
export function messagesInFlight(aedes: Aedes): number {
  const view = aedes as unknown as InFlightView;
  let count = view.mq.current + view.mq._messageQueue.length;
  for (const client of Object.values(view.clients)) {
    count += (client._inflightOut?.size ?? 0) + (client._waitingForWindow?.length ?? 0) / 2 + (client._incomingQoS2?.size ?? 0);
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
