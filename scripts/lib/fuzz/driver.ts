// Sends generated cases to a broker over real sockets, many at once, and judges how each ended.
import net from "node:net";
import mqttPacket from "mqtt-packet";
import { generateCase, type FuzzCase, type FuzzKind } from "./generator";

export interface FuzzOptions {
  host: string;
  port: number;
  seed: number;
  iterations: number;
  /** Index of the first case (to replay part of a run). */
  first?: number;
  /** Connections open at once. */
  concurrency: number;
  /** How long the broker has to close a connection once it should. */
  closeTimeoutMs: number;
  /** Called after every case, e.g. for progress or memory samples. */
  onCase?: (result: CaseResult, done: number) => void;
}

export interface CaseResult {
  fuzzCase: FuzzCase;
  /** The broker closed the connection (before or after our half-close). */
  closed: boolean;
  /** What the broker sent, decoded; a CONNACK or DISCONNECT carries the reason code. */
  received: Array<{ cmd: string; reasonCode?: number; returnCode?: number }>;
  /** Set when the broker did not behave as the case requires. */
  failure?: string;
  connectFailed?: string;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  failures: CaseResult[];
  byKind: Record<string, { inputs: number; closed: number; withReasonCode: number }>;
  elapsedMs: number;
}

/** Runs cases [first, first + iterations) with `concurrency` sockets in flight. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const first = options.first ?? 0;
  const failures: CaseResult[] = [];
  const byKind: FuzzReport["byKind"] = {};
  let next = first;
  let done = 0;
  const worker = async () => {
    while (next < first + options.iterations) {
      const fuzzCase = generateCase(options.seed, next++);
      const result = await runCase(fuzzCase, options);
      const stats = (byKind[fuzzCase.kind] ??= { inputs: 0, closed: 0, withReasonCode: 0 });
      stats.inputs++;
      if (result.closed) stats.closed++;
      if (fuzzCase.reasonCode !== undefined && reasonCodeSent(result) === fuzzCase.reasonCode) stats.withReasonCode++;
      if (result.failure) failures.push(result);
      done++;
      options.onCase?.(result, done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { seed: options.seed, inputs: done, failures, byKind, elapsedMs: performance.now() - started };
}

function reasonCodeSent(result: CaseResult): number | undefined {
  const wanted = result.fuzzCase.reasonIn === "connack" ? "connack" : "disconnect";
  return result.received.find((packet) => packet.cmd === wanted)?.reasonCode;
}

/** Opens one connection, writes the case, and waits for the broker to close it. */
export function runCase(fuzzCase: FuzzCase, options: Pick<FuzzOptions, "host" | "port" | "closeTimeoutMs">): Promise<CaseResult> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const socket = net.connect({ host: options.host, port: options.port });
    const finish = (closed: boolean, connectFailed?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const result: CaseResult = { fuzzCase, closed, received: decode(Buffer.concat(received), fuzzCase.version ?? 4) };
      if (connectFailed) result.connectFailed = connectFailed;
      result.failure = judge(result);
      resolve(result);
    };
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    // EPIPE / ECONNRESET: the broker closed while we were still writing, which is what we wait for.
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (!socket.readyState || socket.connecting) finish(false, error.code ?? error.message);
      else finish(true);
    });
    socket.on("close", () => finish(true));
    socket.on("connect", () => {
      for (const chunk of fuzzCase.chunks) socket.write(chunk);
      if (fuzzCase.expect === "any") socket.end();
      timer = setTimeout(() => finish(false), options.closeTimeoutMs);
    });
  });
}

/** Decodes whatever complete packets the broker sent, ignoring a torn tail. */
function decode(bytes: Buffer, version: 4 | 5): CaseResult["received"] {
  const packets: CaseResult["received"] = [];
  if (bytes.length === 0) return packets;
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on("packet", (packet: { cmd: string; reasonCode?: number; returnCode?: number }) =>
    packets.push({ cmd: packet.cmd, reasonCode: packet.reasonCode, returnCode: packet.returnCode }),
  );
  parser.on("error", () => {});
  parser.parse(bytes);
  return packets;
}

/** Why a case failed, or undefined when the broker did what the case requires. */
export function judge(result: CaseResult): string | undefined {
  const { fuzzCase } = result;
  if (result.connectFailed) return `could not connect: ${result.connectFailed}`;
  if (!result.closed) {
    return fuzzCase.expect === "close"
      ? "the broker kept the connection open after a packet the spec says it must close for"
      : "the broker kept the connection open after the client half-closed it";
  }
  if (fuzzCase.reasonCode !== undefined) {
    const sent = reasonCodeSent(result);
    const wanted = `0x${fuzzCase.reasonCode.toString(16)}`;
    if (sent === undefined) return `the broker closed without the ${fuzzCase.reasonIn === "connack" ? "CONNACK" : "DISCONNECT"} reason code ${wanted} the spec asks for`;
    if (sent !== fuzzCase.reasonCode) {
      return `the broker sent reason code 0x${sent.toString(16)}, the spec asks for ${wanted}`;
    }
  }
  return undefined;
}

export function describeCase(fuzzCase: FuzzCase): string {
  const hex = Buffer.concat(fuzzCase.chunks).subarray(0, 48).toString("hex");
  return `#${fuzzCase.index} ${fuzzCase.kind}${fuzzCase.version ? ` (v${fuzzCase.version === 4 ? "3.1.1" : "5"})` : ""}: ${hex}`;
}

export type { FuzzKind };
