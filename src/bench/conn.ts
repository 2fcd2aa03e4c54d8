import { LatencyHistogram } from "../core/histogram";
import { BenchClient } from "./client";
import { encodeConnect } from "./frames";
import { summarizeLatency, type BenchTarget, type CpuSummary, type LatencySummary, type Progress } from "./meter";
import { nowUs } from "./stamp";
import { rssKiB } from "./rss";

export interface ConnOptions {
  target: BenchTarget;
  connections: number;
  /** Connects under way at once. */
  concurrency: number;
  /** How long to hold the connections open before measuring the broker and closing them. */
  holdMs: number;
  /** The broker's process id, when it runs on this machine: its RSS is read before and after. */
  brokerPid?: number;
  onProgress?: (progress: Progress) => void;
}

export interface ConnResult {
  connected: number;
  failed: number;
  /** The first failure, to say why. */
  firstError?: string;
  /** From the first connect to the last CONNACK, ms. */
  elapsedMs: number;
  connectsPerSec: number;
  /** Each connection's time from connect() to CONNACK. */
  connectLatency: LatencySummary;
  broker?: { rssBeforeKiB: number; rssAfterKiB: number; perConnectionKiB: number };
  /** Connections the broker dropped while they were held. */
  droppedWhileHeld: number;
  generatorCpu: CpuSummary;
}

/** Opens N connections (CONNECT, CONNACK), holds them, then closes them all with DISCONNECT. */
export async function runConn(options: ConnOptions): Promise<ConnResult> {
  const { target, connections } = options;
  const histogram = new LatencyHistogram();
  const clients: BenchClient[] = [];
  let failed = 0;
  let dropped = 0;
  let firstError: string | undefined;
  const rssBefore = options.brokerPid === undefined ? undefined : rssKiB(options.brokerPid);
  const cpuAtStart = process.cpuUsage();
  const started = nowUs();
  let next = 0;
  let lastReport = started;
  let lastCount = 0;

  // Every CONNECT is the same but for the client id's number: encode it once, copy it and write the
  // digits in (zero-padded to one width), so the generator spends its time connecting.
  const width = String(Math.max(0, connections - 1)).length;
  const templateId = `${target.clientIdPrefix}-conn${"0".repeat(width)}`;
  const template = encodeConnect({ ...target, clientId: templateId });
  const digitsAt = template.indexOf(Buffer.from(templateId)) + templateId.length - width;
  const connectPacket = (index: number): Buffer => {
    const packet = Buffer.allocUnsafe(template.length);
    template.copy(packet);
    packet.write(String(index).padStart(width, "0"), digitsAt, "latin1");
    return packet;
  };

  const worker = async () => {
    while (next < connections) {
      const index = next++;
      const attemptAt = nowUs();
      try {
        const client = await BenchClient.connectTo(target, `${target.clientIdPrefix}-conn${String(index).padStart(width, "0")}`, connectPacket(index));
        histogram.recordUs(nowUs() - attemptAt);
        client.events.lost = () => dropped++;
        clients.push(client);
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
      const now = nowUs();
      if (options.onProgress && now - lastReport >= 1e6) {
        options.onProgress({
          second: Math.floor((now - started) / 1e6),
          messagesPerSec: ((clients.length - lastCount) * 1e6) / (now - lastReport),
          p50Us: histogram.percentileUs(0.5),
          p99Us: histogram.percentileUs(0.99),
          lost: failed,
        });
        lastReport = now;
        lastCount = clients.length;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, connections) }, worker));
  const elapsedMs = (nowUs() - started) / 1000;
  const used = process.cpuUsage(cpuAtStart);

  try {
    await Bun.sleep(options.holdMs);
    const rssAfter = options.brokerPid === undefined ? undefined : rssKiB(options.brokerPid);
    return {
      connected: clients.length,
      failed,
      firstError,
      elapsedMs,
      connectsPerSec: (clients.length * 1000) / elapsedMs,
      connectLatency: summarizeLatency(histogram),
      broker:
        rssBefore !== undefined && rssAfter !== undefined && clients.length > 0
          ? { rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter, perConnectionKiB: (rssAfter - rssBefore) / clients.length }
          : undefined,
      droppedWhileHeld: dropped,
      generatorCpu: {
        userMs: used.user / 1000,
        systemMs: used.system / 1000,
        percentOfCore: ((used.user + used.system) / 1000 / elapsedMs) * 100,
      },
    };
  } finally {
    // With DISCONNECT: an idle connection closed by its client is not a lost one (no will, no error logged).
    for (const client of clients) client.close();
  }
}
