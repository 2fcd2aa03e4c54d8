import { parseDurationMs } from "../core/duration";
import { parseChoiceFlag, UsageError } from "../core/usage-error";

export function durationFlag(name: string, text: string, minMs = 0): number {
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
  if (ms < minMs) throw new UsageError(`--${name} must be at least ${minMs} ms, not "${text}"`);
  return ms;
}

export function qosFlag(text: string, name = "qos"): 0 | 1 | 2 {
  return Number(parseChoiceFlag(name, text, ["0", "1", "2"])) as 0 | 1 | 2;
}

export function topicFlag(name: string, text: string): string {
  if (text.length === 0) throw new UsageError(`--${name} must not be empty`);
  if (/[#+]/.test(text)) throw new UsageError(`--${name} must not contain wildcards (+, #): "${text}"`);
  return text;
}

/** Runs `stop` once on the first Ctrl-C or SIGTERM; a second one exits at once. */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => void | Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    void stop(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
