// ping --breakdown: the transport round trip (PINGREQ → PINGRESP), the broker's acknowledgement
// (PUBACK) and echo's own turnaround (an MQTT 5 User Property) beside the end-to-end round trip, per
// probe and in the summary, through our broker and through Debian's mosquitto.
import { describe, expect, test } from "bun:test";
import { Proc, pingpong, startBroker, startMosquitto, testWithPrograms } from "./harness";

type Breakdown = { transportMs: number | null; brokerAckMs: number | null; echoTurnaroundMs: number | null; pathMs: number | null; endToEndMs: number | null };

async function breakdownRun(port: number, ...pingArgs: string[]) {
  const echo = pingpong("echo", "--port", String(port));
  await echo.waitFor(/Subscribed/);
  const ping = pingpong("ping", "--port", String(port), "--count", "5", "--interval", "100ms", "--breakdown", "--json", ...pingArgs);
  expect(await ping.waitExit(20_000)).toBe(0);
  const lines = ping.stdoutLines.map((line) => JSON.parse(line));
  return { probes: lines.filter((line) => line.type === "probe"), summary: lines.find((line) => line.type === "summary") };
}

/** What holds for every probe whatever the machine's speed: the parts nest inside the round trip. */
function expectConsistent(probe: { rttMs: number; breakdown: Breakdown }, withEchoTurnaround: boolean) {
  const { transportMs, echoTurnaroundMs, pathMs, endToEndMs } = probe.breakdown;
  expect(endToEndMs).toBe(probe.rttMs);
  expect(transportMs).not.toBeNull();
  // PINGRESP and the echo come back on the same connection, PINGRESP first: the broker answers it at once.
  expect(transportMs!).toBeLessThanOrEqual(endToEndMs!);
  if (withEchoTurnaround) {
    expect(echoTurnaroundMs).not.toBeNull();
    expect(echoTurnaroundMs!).toBeGreaterThan(0);
    expect(echoTurnaroundMs!).toBeLessThanOrEqual(endToEndMs!);
    expect(pathMs!).toBeCloseTo(endToEndMs! - echoTurnaroundMs!, 2);
  } else {
    expect(echoTurnaroundMs).toBeNull();
    expect(pathMs).toBeNull();
  }
}

describe("ping --breakdown", () => {
  test("through our broker at QoS 0: every probe has all parts, nested in its round trip; the summary counts them", async () => {
    const { port } = await startBroker();
    const { probes, summary } = await breakdownRun(port);
    expect(probes).toHaveLength(5);
    for (const probe of probes) expectConsistent(probe, true);
    // The broker's acknowledgement (QoS 1 side PUBLISH) is in for most probes by the time the echo is.
    expect(summary.breakdown.brokerAckMs.count).toBeGreaterThan(0);
    expect(summary.breakdown.endToEndMs.count).toBe(5);
    expect(summary.breakdown.echoTurnaroundMs.count).toBe(5);
    expect(summary.breakdown.transportMs.p50).toBeLessThanOrEqual(summary.breakdown.endToEndMs.p90);
  });

  test("at QoS 1 the probe's own PUBACK times the broker's acknowledgement, before its echo", async () => {
    const { port } = await startBroker();
    const { probes } = await breakdownRun(port, "--qos", "1");
    expect(probes).toHaveLength(5);
    for (const probe of probes) {
      expectConsistent(probe, true);
      expect(probe.breakdown.brokerAckMs).not.toBeNull();
    }
  });

  test("under MQTT 3.1.1 there is no User Property: no echo turnaround, the other parts still", async () => {
    const { port } = await startBroker();
    const { probes, summary } = await breakdownRun(port, "--protocol", "3.1.1");
    expect(probes).toHaveLength(5);
    for (const probe of probes) expectConsistent(probe, false);
    expect(summary.breakdown.echoTurnaroundMs).toEqual({ p50: null, p90: null, count: 0 });
  });

  testWithPrograms(["mosquitto_sub"], "without --breakdown nothing extra is sent or printed; with it, the side PUBLISH goes out", async () => {
    const { proc: broker, port } = await startBroker();
    const sub = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "/ping/breakdown", "-C", "1", "-F", "side %l bytes"]);
    await broker.waitFor(/subscribed to \/ping\/breakdown/);
    const echo = pingpong("echo", "--port", String(port));
    await echo.waitFor(/Subscribed/);
    const plain = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "100ms", "--json");
    expect(await plain.waitExit(15_000)).toBe(0);
    for (const line of plain.stdoutLines) expect(JSON.parse(line).breakdown).toBeUndefined();
    expect(sub.stdoutLines).toEqual([]);
    const withBreakdown = pingpong("ping", "--port", String(port), "--count", "3", "--interval", "100ms", "--json", "--breakdown");
    expect(await withBreakdown.waitExit(15_000)).toBe(0);
    expect(await sub.waitExit(10_000)).toBe(0);
    expect(sub.stdoutLines).toEqual(["side 0 bytes"]);
  });

  testWithPrograms(["mosquitto", "mosquitto_sub"], "through Debian's mosquitto: echo's turnaround comes back, and its answer's payload is the probe's, byte for byte", async () => {
    const { proc: mosquitto, port } = await startMosquitto("log_dest stderr\nlog_type subscribe\n");
    const sub = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "/pong", "-V", "mqttv5", "-F", "%p|%P", "-C", "1"]);
    await mosquitto.waitFor(/ 0 \/pong/); // mosquitto logs "<client> 0 /pong" for the SUBSCRIBE
    const { probes, summary } = await breakdownRun(port);
    expect(probes).toHaveLength(5);
    for (const probe of probes) expectConsistent(probe, true);
    expect(summary.breakdown.echoTurnaroundMs.count).toBe(5);
    expect(await sub.waitExit(10_000)).toBe(0);
    const [payload, properties] = sub.stdoutLines[0]!.split("|");
    expect(probes.map((probe) => probe.payload)).toContain(payload);
    expect(properties).toMatch(/echo-turnaround-us:\d+(\.\d+)?/);
  });
});
