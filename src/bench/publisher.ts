// One publishing connection of a flow: its PUBLISH template and how messages are stamped into it.
import mqttPacket from "mqtt-packet";
import type { BenchClient } from "./client";
import { readFrame, readPublish } from "./frames";

export interface Publisher {
  index: number;
  client: BenchClient;
  /** A whole PUBLISH, encoded once; each message is a copy with the stamp (and id) patched. */
  template: Buffer;
  payloadOffset: number;
  /** Offset of the message id, or -1 at QoS 0. */
  messageIdOffset: number;
  sent: number;
  acked: number;
  /** Subscriber indices that receive this publisher's messages. */
  subscribers: number[];
  pumpScheduled: boolean;
  /** options.inflight, capped at QoS 1/2 by what the broker said it takes. */
  inflight: number;
}

export function makePublisher(
  inflight: number,
  index: number,
  client: BenchClient,
  topic: string,
  qos: 0 | 1 | 2,
  size: number,
  protocolVersion: 4 | 5,
  subscribers: number[],
): Publisher {
  const template = mqttPacket.generate(
    { cmd: "publish", topic, payload: Buffer.alloc(size), qos, messageId: qos > 0 ? 1 : undefined, retain: false, dup: false },
    { protocolVersion },
  );
  // Find the payload and message id by reading the template back.
  const frame = { type: 0, flags: 0, start: 0, bodyStart: 0, end: 0 };
  const view = { qos: 0, messageId: 0, topicStart: 0, topicEnd: 0, payloadStart: 0 };
  readFrame(template, 0, frame);
  readPublish(template, frame, protocolVersion, view);
  return {
    index,
    client,
    template,
    payloadOffset: view.payloadStart,
    messageIdOffset: qos > 0 ? view.topicEnd : -1,
    sent: 0,
    acked: 0,
    subscribers,
    pumpScheduled: false,
    inflight: qos > 0 ? Math.min(inflight, client.receiveMaximum) : inflight,
  };
}

/** `count` messages in one write: copies of the template with publisher, sequence, stamp (and message id) patched in. */
export function sendBatch(publisher: Publisher, count: number, stamps: (k: number) => number): void {
  const { template, payloadOffset, messageIdOffset } = publisher;
  const length = template.length;
  const batch = Buffer.allocUnsafe(length * count);
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  for (let k = 0; k < count; k++) {
    const at = k * length;
    batch.set(template, at);
    const seq = ++publisher.sent;
    view.setUint32(at + payloadOffset, publisher.index, true);
    view.setUint32(at + payloadOffset + 4, seq, true);
    view.setFloat64(at + payloadOffset + 8, stamps(k), true);
    if (messageIdOffset >= 0) view.setUint16(at + messageIdOffset, (seq % 65535) + 1);
  }
  publisher.client.send(batch);
}
