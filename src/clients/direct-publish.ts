import type { MqttClient } from "mqtt";
import { Qos0PublishFrames, type FrameProperties } from "../core/publish-frame";

/** What clients read of MQTT.js's state; it has no public API for these. */
interface MqttClientInternals {
  _storeProcessing: boolean;
  _storeProcessingQueue: unknown[];
  connackPacket?: { properties?: { receiveMaximum?: number } };
}

/**
 * The broker's Receive Maximum (its CONNACK's, 65,535 when absent). MQTT.js does not keep to it
 * [MQTT-4.9.0-2], so the roles that send QoS 1/2 hold messages back themselves.
 */
export function serverReceiveMaximum(client: MqttClient): number {
  return (client as unknown as MqttClientInternals).connackPacket?.properties?.receiveMaximum ?? 65_535;
}

/**
 * MQTT.js does not keep to the broker's Receive Maximum [MQTT-4.9.0-2], and ours disconnects a
 * client over it (0x93). So the roles send QoS 1/2 messages through this window: a send due while
 * every slot is taken is held, and made when an acknowledgement frees one.
 */
export class ReceiveWindow {
  inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private waited = false;
  /** Whether held sends may still go out (the role sets it; false once it is ending). */
  mayResume: () => boolean = () => true;

  constructor(
    private readonly client: () => MqttClient,
    /** Told once, the first time a send has to wait. */
    private readonly onFirstWait?: (receiveMaximum: number) => void,
  ) {}

  /** Sends held for a free slot. */
  get held(): number {
    return this.waiting.length;
  }

  whenFree(send: () => void): void {
    const receiveMaximum = serverReceiveMaximum(this.client());
    if (this.inFlight < receiveMaximum) {
      this.inFlight++;
      return send();
    }
    this.waiting.push(send);
    if (!this.waited) {
      this.waited = true;
      this.onFirstWait?.(receiveMaximum);
    }
  }

  /** An acknowledgement came (or the send failed, e.g. as the client ends): the next held send goes. */
  readonly freed = (): void => {
    this.inFlight--;
    if (this.waiting.length === 0 || !this.mayResume()) return;
    this.inFlight++;
    this.waiting.shift()!();
  };
}

/**
 * Whether a QoS 0 PUBLISH may go straight to the socket as one whole packet (src/core/publish-frame.ts)
 * instead of through MQTT.js, which encodes it field by field and holds the socket corked until the
 * next tick. Not while the connection is down or MQTT.js is resending its store: then MQTT.js must
 * publish, so that it queues or orders the packet.
 */
export function canWriteDirectly(client: MqttClient): boolean {
  const internals = client as unknown as MqttClientInternals;
  return client.connected && !client.disconnecting && !internals._storeProcessing && internals._storeProcessingQueue.length === 0;
}

/** Frame encoders for the few (topic, properties) pairs a client answers on, built once each. */
export class FramesByTopic {
  private readonly frames = new Map<string, Qos0PublishFrames>();

  constructor(private readonly protocolVersion: 4 | 5, private readonly limit = 64) {}

  of(topic: string, properties: FrameProperties = {}): Qos0PublishFrames {
    const key = properties.correlationData ? `${topic}\u0000${properties.correlationData.toString("hex")}` : topic;
    let frames = this.frames.get(key);
    if (frames === undefined) {
      // Correlation data is the requester's choice: keep the table bounded whatever requesters send.
      if (this.frames.size >= this.limit) this.frames.clear();
      frames = new Qos0PublishFrames(topic, this.protocolVersion, properties);
      this.frames.set(key, frames);
    }
    return frames;
  }
}
