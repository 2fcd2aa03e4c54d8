import type { MqttClient } from "mqtt";
import { BreakdownStats, breakdownOf, ECHO_TURNAROUND_PROPERTY, parseTurnaroundUs, type ProbeBreakdown, type ProbeTimes } from "../core/probe-breakdown";
import type { Probe } from "../core/probe-book";

/** PINGREQ: a fixed two-byte packet [MQTT-3.12]. */
export const PINGREQ = Buffer.of(0xc0, 0x00);

/**
 * ping --breakdown's side of the connection (src/core/probe-breakdown.ts says what each part is):
 * it sends a PINGREQ with each probe, at QoS 0 also an empty QoS 1 PUBLISH on `<ping-topic>/breakdown`
 * (at QoS 1/2 the probe's own acknowledgement serves), and notes when the answers were read.
 */
export class PingBreakdown {
  readonly stats = new BreakdownStats();
  private readonly times = new WeakMap<Probe, ProbeTimes>();
  /** Probes whose PINGREQ is not answered yet, oldest first (the broker answers in order). */
  private readonly awaitingPingresp: ProbeTimes[] = [];
  /** At QoS 0: one side PUBLISH in flight at most, so the broker's Receive Maximum is never exceeded. */
  private sidePublishInFlight = false;
  private readonly sideTopic: string;

  constructor(
    private readonly client: MqttClient,
    pingTopic: string,
    private readonly readAt: () => number,
  ) {
    this.sideTopic = `${pingTopic}/breakdown`;
    client.on("packetreceive", (packet) => {
      if (packet.cmd !== "pingresp") return;
      const times = this.awaitingPingresp.shift();
      if (times) this.late(times, { pingrespAtMs: this.readAt() });
    });
  }

  /** Starts a probe's record; the probe's PUBLISH must go out right after the returned PINGREQ. */
  opened(probe: Probe): ProbeTimes {
    const times: ProbeTimes = { sentAtMs: probe.sentAtMs };
    this.times.set(probe, times);
    this.awaitingPingresp.push(times);
    // Probes that never get their PINGRESP (a connection that dropped) must not shift the queue for ever.
    if (this.awaitingPingresp.length > 64) this.awaitingPingresp.shift();
    return times;
  }

  /** QoS 0: the side QoS 1 PUBLISH whose PUBACK times the broker's acknowledgement. */
  sendSidePublish(times: ProbeTimes): void {
    if (this.sidePublishInFlight) return;
    this.sidePublishInFlight = true;
    this.client.publish(this.sideTopic, Buffer.alloc(0), { qos: 1 }, (error) => {
      this.sidePublishInFlight = false;
      if (!error) this.late(times, { pubackAtMs: this.readAt() });
    });
  }

  /** QoS 1/2: the probe's own acknowledgement came. */
  acknowledged(probe: Probe): void {
    const times = this.times.get(probe);
    if (times) this.late(times, { pubackAtMs: this.readAt() });
  }

  /** The echo came: the probe's breakdown as known now (parts still missing are null). */
  echoed(probe: Probe, echoAtMs: number, userProperties: Record<string, string | string[]> | undefined): ProbeBreakdown | undefined {
    const times = this.times.get(probe);
    if (!times) return undefined;
    times.echoAtMs = echoAtMs;
    times.echoTurnaroundMs = parseTurnaroundUs(userProperties?.[ECHO_TURNAROUND_PROPERTY]);
    const breakdown = breakdownOf(times);
    this.stats.record(breakdown);
    return breakdown;
  }

  /** A part that came after the echo still counts in the summary (not in the probe's line, printed by then). */
  private late(times: ProbeTimes, part: Pick<ProbeTimes, "pingrespAtMs" | "pubackAtMs">): void {
    Object.assign(times, part);
    if (times.echoAtMs === undefined) return;
    const breakdown = breakdownOf({ sentAtMs: times.sentAtMs, ...part });
    this.stats.record({ ...breakdown, endToEndMs: null, echoTurnaroundMs: null, pathMs: null });
  }
}
