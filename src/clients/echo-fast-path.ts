import type { MqttClient } from "mqtt";
import { onEachChunk } from "./bun-tcp-stream";
import { PacketFramer } from "../core/packet-framer";
import { decodeQos0Publish, isQos0Publish, type Qos0Publish } from "../core/publish-decode";

/**
 * echo at QoS 0 answers a probe from the chunk the socket read, before MQTT.js's stream layers and
 * parser see it (they cost most of echo's turnaround on a cold process; MQTT.js still parses the
 * packet right after, off the probe's path). Only chunks that begin at a packet boundary and whose
 * QoS 0 PUBLISHes are all plain are answered here; MQTT.js answers everything else as before.
 * The framing is followed from the connection's first byte, so the client must be handed over
 * before it reads anything.
 */
export class EchoFastPath {
  /** For each QoS 0 PUBLISH on the ping topic of the last chunk, in order: answered here already? */
  private readonly answered: boolean[] = [];
  private broken = false;
  /** Set once echo's 'message' handler is there to take the flags (the framing is followed before). */
  enabled = false;

  constructor(
    private readonly pingTopic: Buffer,
    private readonly answer: (payload: Buffer, properties: Qos0Publish["properties"]) => void,
  ) {}

  /** Follows every stream the client makes (the first now, and one per MQTT.js reconnect). */
  watch(client: MqttClient): void {
    const internals = client as unknown as { streamBuilder: (client: MqttClient) => NodeJS.ReadableStream };
    const build = internals.streamBuilder;
    internals.streamBuilder = (owner) => this.follow(build(owner), owner);
    this.follow(client.stream as unknown as NodeJS.ReadableStream, client);
  }

  private follow<S extends NodeJS.ReadableStream>(stream: S, client: MqttClient): S {
    const framer = new PacketFramer();
    const onChunk = (chunk: Buffer) => this.chunk(chunk, framer, (client.options.protocolVersion ?? 4) === 5 ? 5 : 4);
    onEachChunk(stream, onChunk);
    return stream;
  }

  /** For echo's 'message' handler: true when this QoS 0 message on the ping topic was answered here. */
  answeredAlready(): boolean {
    return this.answered.shift() ?? false;
  }

  /**
   * Reads `sample` (a probe as the broker delivers it) `times` times through the same code as a real
   * chunk, answering nothing: the JIT has compiled it before the first probe (./warm-up.ts).
   */
  rehearse(sample: Buffer, protocolVersion: 4 | 5, times: number): void {
    if (!this.enabled || this.broken) return;
    const framer = new PacketFramer();
    const skip = () => {};
    for (let i = 0; i < times; i++) {
      this.chunk(sample, framer, protocolVersion, skip);
      this.answered.length = 0;
    }
  }

  /**
   * Answers the chunk's plain QoS 0 PUBLISHes on the ping topic. Returns what to run just before
   * MQTT.js reads the chunk (bun-tcp-stream.ts's ChunkListener): its flags for answeredAlready().
   */
  private chunk(chunk: Buffer, framer: PacketFramer, protocolVersion: 4 | 5, answer = this.answer): { beforeRead: () => void; answered: boolean } {
    const packets = framer.feed(chunk);
    const flags: boolean[] = [];
    const handOver = () => {
      // MQTT.js handles a chunk's QoS 0 messages before it reads the next chunk: a flag left over
      // means the two views disagree, so stop answering here for good.
      if (this.answered.length > 0) this.broken = true;
      this.answered.length = 0;
      this.answered.push(...flags);
    };
    const outcome = { beforeRead: handOver, answered: false };
    if (!packets || this.broken || !this.enabled || !Buffer.isBuffer(chunk)) return outcome;
    const publishes: Qos0Publish[] = [];
    for (const packet of packets) {
      if (!isQos0Publish(chunk[packet.start]!)) continue; // not ours to answer
      const publish = decodeQos0Publish(chunk, packet, protocolVersion);
      if (!publish) return outcome; // a QoS 0 PUBLISH we cannot read (a Topic Alias...): all of this chunk to MQTT.js
      publishes.push(publish);
    }
    for (const publish of publishes) {
      if (!this.pingTopic.equals(publish.topic)) continue;
      flags.push(true);
      answer(publish.payload, publish.properties);
    }
    outcome.answered = flags.length > 0;
    return outcome;
  }

}
