import { defineCommand } from "citty";
import { startSub } from "../clients/sub";
import { describeGrant } from "../clients/subscribe";
import { ExitCode } from "../core/exit-codes";
import { flagValues } from "../core/flags";
import { compileFormat, FormatError, formatPlain, messageJson, type PayloadEncoding, type ReceivedMessage } from "../core/message-format";
import { filterProblem, topicMatches } from "../core/topic-filter";
import { UsageError } from "../core/usage-error";
import { log, logToStderrOnly, setLogLevel } from "../log";
import { connectionArgs, keepSessionArg, withEveryUrl, toConnectionOptions } from "./client-args";
import { endOnLostOrSignal, exitOnConnectionError, logFailover } from "./client-run";
import { onShutdownSignal } from "./shutdown-signal";
import { durationFlag, parseIntegerFlag, qosFlag } from "../core/flag-parsers";

/** mosquitto_sub's flags, with its short forms. */
const subArgs = {
  ...connectionArgs,
  ...keepSessionArg,
  topic: { type: "string", alias: "t", description: "Topic filter, wildcards + and # allowed (repeatable, required)" },
  qos: { type: "string", alias: "q", description: "QoS of the subscription: 0, 1 or 2", default: "0" },
  verbose: { type: "boolean", alias: "v", description: "Print the topic before each payload" },
  count: { type: "string", alias: "C", description: "Exit after this many messages" },
  timeout: { type: "string", alias: "W", description: "Exit with status 27 this long after connecting (seconds or a duration), as mosquitto_sub" },
  "idle-timeout": { type: "string", description: "Exit with status 27 when no message comes for this long" },
  "omit-newline": { type: "boolean", alias: "N", description: "No newline after a payload (binary payloads byte for byte)" },
  "skip-retained": { type: "boolean", alias: "R", description: "Do not print retained (stale) messages" },
  "filter-out": { type: "string", alias: "T", description: "Do not print topics matching this filter (repeatable)" },
  "retained-only": { type: "boolean", description: "Print retained messages only; exit 0 at the first message that is not" },
  "remove-retained": { type: "boolean", description: "Clear every retained message received (publishes an empty retained message)" },
  "subscribe-only": { type: "boolean", alias: "E", description: "Exit once subscribed (to set up a persistent session)" },
  format: { type: "string", alias: "F", description: "Output format: %t topic, %p payload, %x hex, %b base64, %j JSON, ... (see docs/cli.md)" },
  json: { type: "boolean", description: "One JSON object per message (payload_base64 when not UTF-8)" },
  hex: { type: "boolean", description: "Print payloads as hex" },
  base64: { type: "boolean", description: "Print payloads as base64" },
} as const;

type SubArgValues = { [K in keyof typeof subArgs]?: string | boolean };

/** One function from message to output bytes, chosen once from the flags. */
function outputFormat(args: SubArgValues): (message: ReceivedMessage) => Buffer {
  const chosen = (["format", "json", "hex", "base64"] as const).filter((name) => args[name] !== undefined && args[name] !== false);
  if (chosen.length > 1) throw new UsageError(`${chosen.map((name) => `--${name}`).join(" and ")} do not go together (in -F use %x or %b)`);
  const eol = !args["omit-newline"];
  const newline = Buffer.from("\n");
  if (args.format !== undefined) {
    let format;
    try {
      format = compileFormat(String(args.format));
    } catch (error) {
      if (error instanceof FormatError) throw new UsageError(`--format: ${error.message}`);
      throw error;
    }
    return (message) => {
      const text = format(message, performance.timeOrigin + performance.now());
      return eol ? Buffer.concat([text, newline]) : text;
    };
  }
  if (args.json) return (message) => Buffer.from(messageJson(message, performance.timeOrigin + performance.now()) + "\n");
  const encoding: PayloadEncoding = args.hex ? "hex" : args.base64 ? "base64" : "raw";
  const options = { verbose: Boolean(args.verbose), encoding, eol };
  return (message) => formatPlain(message, options);
}

/** Resolves once everything written to stdout so far has been handed to the OS. */
const flushStdout = () => new Promise<void>((resolve) => process.stdout.write("", () => resolve()));

export default defineCommand({
  meta: { name: "sub", description: "Subscribe and print messages, like mosquitto_sub (its flags; -c is spelled --disable-clean-session)" },
  args: subArgs,
  async run({ args, rawArgs }) {
    logToStderrOnly();
    setLogLevel({ verbose: args.debug });
    const filters = flagValues(rawArgs, subArgs, "topic");
    if (filters.length === 0) throw new UsageError("-t/--topic is required");
    for (const filter of filters) {
      const problem = filterProblem(filter);
      if (problem) throw new UsageError(`--topic "${filter}": ${problem}`);
    }
    const count = args.count === undefined ? undefined : parseIntegerFlag("count", String(args.count), 1);
    const timeoutMs = args.timeout === undefined ? undefined : durationFlag("timeout", String(args.timeout), 1);
    const idleTimeoutMs = args["idle-timeout"] === undefined ? undefined : durationFlag("idle-timeout", String(args["idle-timeout"]), 1);
    const format = outputFormat(args);
    const skipRetained = Boolean(args["skip-retained"]);
    const retainedOnly = Boolean(args["retained-only"]);
    if (skipRetained && retainedOnly) throw new UsageError("-R and --retained-only do not go together");
    const filtersOut = flagValues(rawArgs, subArgs, "filter-out");
    for (const filter of filtersOut) {
      const problem = filterProblem(filter);
      if (problem) throw new UsageError(`--filter-out "${filter}": ${problem}`);
    }
    const qos = qosFlag(String(args.qos));
    const connection = toConnectionOptions(withEveryUrl(args, flagValues(rawArgs, subArgs, "url")), "sub");

    let printed = 0;
    let exiting = false;
    let connected = false;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const exit = async (status: number) => {
      if (exiting) return;
      exiting = true;
      // Let the acknowledgement of the last message go out before DISCONNECT.
      await new Promise((resolve) => setImmediate(resolve));
      // Still connecting (Ctrl-C during retries): do not wait for a broker that may never come.
      const closed = started.then((sub) => sub.close(), () => {});
      await (connected ? closed : Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]));
      await flushStdout();
      process.exit(status);
    };
    const timedOut = () => {
      log.info("Timed out.");
      void exit(ExitCode.subTimeout);
    };
    const armIdleTimer = () => {
      if (idleTimeoutMs === undefined) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(timedOut, idleTimeoutMs);
    };
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      // A reader that went away (`sub ... | head -1`) is a normal end, not a failure.
      if (error.code === "EPIPE") process.exit(ExitCode.ok);
      throw error;
    });

    const onMessage = (message: ReceivedMessage) => {
      if (exiting || (skipRetained && message.retain)) return;
      if (retainedOnly && !message.retain) return void exit(ExitCode.ok);
      if (filtersOut.length && filtersOut.some((filter) => topicMatches(filter, message.topic))) return;
      process.stdout.write(format(message));
      armIdleTimer();
      if (count !== undefined && ++printed >= count) void exit(ExitCode.ok);
    };
    const started = startSub({ connection, filters, qos, removeRetained: Boolean(args["remove-retained"]) }, onMessage);
    started.then(() => (connected = true), () => {});
    // Ctrl-C ends a sub normally (status 0, as mosquitto_sub), even while it is still connecting.
    onShutdownSignal(() => exit(ExitCode.ok));
    const sub = await exitOnConnectionError(() => started); // a refused SUBSCRIBE too: one line, status 3
    for (const grant of sub.granted) {
      if (grant.code >= 0x80) log.warn(`the broker refused the subscription to ${describeGrant(grant)}`);
      else log.debug(`subscribed to ${grant.topic} (QoS ${grant.code})`);
    }
    if (args["subscribe-only"]) return void exit(ExitCode.ok);
    if (timeoutMs !== undefined) setTimeout(timedOut, timeoutMs);
    armIdleTimer();
    logFailover(sub.connection);
    endOnLostOrSignal(sub, {
      lost: (reason) => {
        if (exiting) return;
        log.error(reason);
        void flushStdout().then(() => process.exit(ExitCode.connection));
      },
      stop: null, // set above, before the connection is up
    });
  },
});
