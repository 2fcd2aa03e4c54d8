import { LatencyHistogram } from "../core/histogram";
import { nowUs } from "./stamp";

/** TLS settings of a bench connection: the broker's certificate is verified unless rejectUnauthorized is false. */
export interface BenchTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** Options every scenario shares. */
export interface BenchTarget {
  hostname: string;
  port: number;
  /** TLS, as the connection flags give it (--cafile, --cert, --key, --insecure); undefined: plain TCP. */
  tls?: BenchTls;
  username?: string;
  password?: string;
  keepaliveSec: number;
  protocolVersion: 4 | 5;
  connectTimeoutMs: number;
  /** Client ids are this prefix plus a role and an index. */
  clientIdPrefix: string;
}

export interface Progress {
  /** Seconds since measuring started (negative during warm-up). */
  second: number;
  messagesPerSec: number;
  p50Us: number;
  p99Us: number;
  lost: number;
}

export interface LatencySummary {
  count: number;
  minUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export interface CpuSummary {
  userMs: number;
  systemMs: number;
  /** CPU time over wall time: 100 means one core fully busy, i.e. the generator may be the limit. */
  percentOfCore: number;
}

export function summarizeLatency(histogram: LatencyHistogram): LatencySummary {
  return {
    count: histogram.count,
    minUs: histogram.count ? histogram.minUs : NaN,
    p50Us: histogram.percentileUs(0.5),
    p90Us: histogram.percentileUs(0.9),
    p99Us: histogram.percentileUs(0.99),
    p999Us: histogram.percentileUs(0.999),
    maxUs: histogram.count ? histogram.maxUs : NaN,
  };
}

/**
 * The measurement window: warm-up first (nothing recorded), then `durationMs` of deliveries counted
 * per second and latencies recorded, and the generator's own CPU time over the same window.
 */
export class Meter {
  readonly histogram = new LatencyHistogram();
  /** Deliveries per whole second of the window. */
  readonly perSecond: number[];
  startUs = Infinity;
  endUs = Infinity;
  delivered = 0;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  private cpu: CpuSummary | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly warmupMs: number,
    readonly durationMs: number,
    private readonly onProgress?: (progress: Progress) => void,
    private readonly lostSoFar: () => number = () => 0,
  ) {
    this.perSecond = new Array(Math.ceil(durationMs / 1000)).fill(0);
  }

  /** Starts the clock; resolves when the window has closed. */
  run(): Promise<void> {
    const began = nowUs();
    this.startUs = began + this.warmupMs * 1000;
    this.endUs = this.startUs + this.durationMs * 1000;
    let lastCount = 0;
    let lastAt = began;
    if (this.onProgress) {
      this.ticker = setInterval(() => {
        const now = nowUs();
        const count = this.delivered;
        this.onProgress!({
          second: Math.floor((now - this.startUs) / 1e6),
          messagesPerSec: ((count - lastCount) * 1e6) / (now - lastAt),
          p50Us: this.histogram.percentileUs(0.5),
          p99Us: this.histogram.percentileUs(0.99),
          lost: this.lostSoFar(),
        });
        lastCount = count;
        lastAt = now;
      }, 1000);
    }
    return new Promise((resolve) => {
      setTimeout(() => {
        this.cpuAtStart = process.cpuUsage();
        setTimeout(() => {
          const used = process.cpuUsage(this.cpuAtStart);
          const wallMs = (nowUs() - this.startUs) / 1000;
          this.cpu = {
            userMs: used.user / 1000,
            systemMs: used.system / 1000,
            percentOfCore: ((used.user + used.system) / 1000 / wallMs) * 100,
          };
          clearInterval(this.ticker);
          resolve();
        }, this.durationMs);
      }, this.warmupMs);
    });
  }

  /** A delivery at `now` of a message sent (or due) at `sentUs`. */
  record(sentUs: number, now: number): void {
    if (now < this.startUs || now >= this.endUs) {
      if (now < this.startUs) this.delivered++; // live progress during warm-up
      return;
    }
    this.delivered++;
    this.perSecond[Math.floor((now - this.startUs) / 1e6)]!++;
    if (sentUs >= this.startUs) this.histogram.recordUs(now - sentUs);
  }

  get measuring(): boolean {
    const now = nowUs();
    return now >= this.startUs && now < this.endUs;
  }

  get windowDelivered(): number {
    return this.perSecond.reduce((a, b) => a + b, 0);
  }

  get cpuSummary(): CpuSummary {
    return this.cpu ?? { userMs: NaN, systemMs: NaN, percentOfCore: NaN };
  }
}
