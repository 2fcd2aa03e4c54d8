import { createConsola, type ConsolaReporter, type LogObject } from "consola";

/**
 * The one consola instance. Every message is exactly one line: info on stdout, warnings and errors
 * on stderr with a short tag, so scripts can grep and people can read. Colour only on a terminal,
 * never with NO_COLOR.
 */
export const useColor = (stream: NodeJS.WriteStream) =>
  Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";

const TAGS: Record<string, [string, string]> = {
  fatal: ["error", "\x1b[31m"],
  error: ["error", "\x1b[31m"],
  warn: ["warning", "\x1b[33m"],
  debug: ["debug", "\x1b[90m"],
  trace: ["trace", "\x1b[90m"],
};

// sub and pub keep stdout for payloads only; their messages for people all go to stderr.
let everythingToStderr = false;
export function logToStderrOnly(): void {
  everythingToStderr = true;
}

const oneLineReporter: ConsolaReporter = {
  log(logObj: LogObject) {
    const text = logObj.args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(" ");
    const tag = TAGS[logObj.type];
    const toStderr = everythingToStderr || logObj.level <= 1;
    const stream = toStderr ? process.stderr : process.stdout;
    if (!tag) {
      stream.write(text + "\n");
      return;
    }
    const prefix = useColor(stream) ? `${tag[1]}${tag[0]}:\x1b[0m` : `${tag[0]}:`;
    stream.write(`${prefix} ${text}\n`);
  },
};

export const log = createConsola({ level: 3, reporters: [oneLineReporter] });

/**
 * log.info for lines logged per connection: the same line, without consola's work per call (its
 * argument checks, a Date and a JSON copy for its repeat filter), which a connect pays every time.
 */
export function infoLine(text: string): void {
  if (log.level < 3) return;
  (everythingToStderr ? process.stderr : process.stdout).write(text + "\n");
}

/** `--verbose` turns on debug lines; `--quiet` keeps only warnings and errors. */
export function setLogLevel(options: { verbose?: boolean; quiet?: boolean }): void {
  log.level = options.verbose ? 4 : options.quiet ? 1 : 3;
}

export const isDebugEnabled = () => log.level >= 4;

/** Whether a line about `key` is due: one per key every `everyMs` at most, so a flood of one event logs a line now and then. */
export class SparseLog {
  private readonly lastAt = new Map<string, number>();

  constructor(
    private readonly everyMs = 10_000,
    private readonly keysKept = 10_000,
  ) {}

  due(key: string): boolean {
    const now = performance.now();
    if (now - (this.lastAt.get(key) ?? -Infinity) < this.everyMs) return false;
    if (this.lastAt.size > this.keysKept) this.lastAt.clear();
    this.lastAt.set(key, now);
    return true;
  }

  forget(key: string): void {
    this.lastAt.delete(key);
  }
}
