// Slow consumers over TLS and WebSocket: the memory bound of faults-slow-consumer.test.ts, per transport.
import { beforeAll, expect } from "bun:test";
import mqtt from "mqtt";
import { makeTlsFiles, type TlsFiles } from "./clients-peers";
import { FloodPublisher, type Transport } from "./flood-publisher";
import { floodThreeRounds, scrape } from "./qos0-flood";
import { freePort, hasProgram, type Proc, pingpong, rssMb, startBroker, testWithPrograms } from "./harness";

let files: TlsFiles;
beforeAll(() => {
  if (hasProgram("openssl")) files = makeTlsFiles();
});

const NAMES: Record<Transport, string> = { tcp: "TCP", tls: "TLS", ws: "WebSocket" };

interface Broker {
  proc: Proc;
  httpPort: number;
  ports: Record<Transport, number>;
  /** Connection flags for our own clients, per transport. */
  urlFlags: Record<Transport, string[]>;
}

/** Our broker with TCP, TLS and WebSocket listeners and /metrics. */
async function broker(...extra: string[]): Promise<Broker> {
  const [httpPort, tlsPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  const { proc, port } = await startBroker(
    ...["--http-port", String(httpPort), "--sys-interval", "0", "--tls-port", String(tlsPort), "--cert", files.serverCert, "--key", files.serverKey],
    ...["--ws-port", String(wsPort), ...extra],
  );
  return {
    proc,
    httpPort,
    ports: { tcp: port, tls: tlsPort, ws: wsPort },
    urlFlags: {
      tcp: ["--url", `mqtt://127.0.0.1:${port}`],
      tls: ["--url", `mqtts://localhost:${tlsPort}`, "--cafile", files.caCert],
      ws: ["--url", `ws://127.0.0.1:${wsPort}/mqtt`],
    },
  };
}

/** A subscriber that stops reading (and acknowledging) once subscribed: our own sub, stopped with SIGSTOP. */
async function stuckSubscriber(b: Broker, transport: Transport, topic: string, qos: 0 | 1): Promise<Proc> {
  const clientId = `stuck-${qos}`;
  const sub = pingpong("sub", ...b.urlFlags[transport], "-t", topic, "-q", String(qos), "-k", "0", "-i", clientId);
  await b.proc.waitFor(new RegExp(`${clientId} subscribed`));
  process.kill(sub.pid, "SIGSTOP"); // SIGKILL (the harness's clean-up) still ends it
  return sub;
}

const MiB = 2 ** 20;

for (const transport of ["tls", "ws"] as const) {
  testWithPrograms(["openssl"], `a stuck QoS 0 subscriber over ${NAMES[transport]}: at most --max-queued-bytes wait for it, the broker's memory stays flat`, async () => {
    const CAP = 256 * 1024;
    const b = await broker("--max-queued", "1000", "--max-queued-bytes", String(CAP));
    await stuckSubscriber(b, transport, "bulk/#", 0);
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.ports.tcp}`, { protocolVersion: 5, reconnectPeriod: 0 });
    const { rss, maxBytesQueued, maxHeapMb } = await floodThreeRounds(publisher, b.proc.pid, b.httpPort);
    await b.proc.waitFor(/Client stuck-0 is not keeping up: \d+ QoS 0 message\(s\) dropped for it \(--max-queued\)\./);
    console.log(
      `stuck QoS 0 subscriber over ${NAMES[transport]}: broker RSS ${rss.map((r) => r.toFixed(0)).join(" → ")} MB over three 94 MiB rounds; ` +
        `at most ${maxBytesQueued} bytes queued, JS heap at most ${maxHeapMb.toFixed(0)} MB`,
    );
    // The connection's unsent bytes are counted (TLS: node:tls's writableLength; WebSocket: the
    // adapter's, where the message Bun holds counts until Bun drains), so the byte cap binds, one
    // message over at most. Both were bounded before the WebSocket read limit; these pin it.
    expect(maxBytesQueued).toBeGreaterThan(CAP / 2);
    expect(maxBytesQueued).toBeLessThan(CAP + 17_000);
    expect(maxHeapMb).toBeLessThan(64);
    expect(rss[3]! - rss[1]!).toBeLessThan(47); // under half a round
    await publisher.endAsync();
  });
}

for (const transport of ["tcp", "tls", "ws"] as const) {
  testWithPrograms(["openssl"], `a publisher over ${NAMES[transport]} held back by a stuck QoS 1 subscriber: the broker stops reading it, then reads on`, async () => {
    const b = await broker("--max-queued", "10");
    const stuck = await stuckSubscriber(b, "tcp", "orders", 1);
    const publisher = await FloodPublisher.connect(transport, b.ports[transport], `flood-${transport}`);
    // Up to 2000 × 16 KiB (31 MiB), one packet per 2 ms, so each arrives on its own. The broker
    // holds them back once 10 wait for the stuck subscriber, and must then stop reading, so the
    // publisher's socket stalls. Before, aedes counted every 'readable' as a packet done and read on:
    // over all three transports the broker took in everything (over ws:// even when not paced).
    const COUNT = 2000;
    const payload = Buffer.alloc(16 * 1024, 7);
    const rssBefore = rssMb(b.proc.pid);
    const first = await publisher.publishQoS1("orders", payload, 1, COUNT, 1000, 2);
    const received = (await scrape(b.httpPort)).get("mqtt_pingpong_bytes_received_total")!;
    console.log(
      `publisher over ${NAMES[transport]}, stuck QoS 1 subscriber: its connection stalled after ${(first.written / MiB).toFixed(1)} MiB written, ` +
        `${(received / MiB).toFixed(1)} MiB read by the broker, RSS ${rssBefore.toFixed(0)} → ${rssMb(b.proc.pid).toFixed(0)} MB`,
    );
    expect(first.next).toBeLessThan(COUNT); // stalled before all was written
    expect(received).toBeLessThan(8 * MiB); // what the broker read: 10 held, some in flight, up to 256 KiB unread
    // Once the stuck subscriber is gone, the broker reads on: the rest goes through and every message is acknowledged.
    stuck.kill("SIGKILL");
    await b.proc.waitFor(/stuck-1 disconnected/);
    const rest = await publisher.publishQoS1("orders", payload, first.next, COUNT, 10_000);
    expect(rest.next).toBe(COUNT + 1);
    await publisher.waitForPubacks(COUNT, 20_000);
    expect(publisher.pubacks).toBe(COUNT);
  });
}
