import { defineCommand } from "citty";
import type { IClientOptions, IClientPublishOptions } from "mqtt";
import { PublishNotAcknowledged, PublishRefused, startPub, type PubOptions } from "../clients/pub";
import { ExitCode } from "../core/exit-codes";
import { flagValues } from "../core/flags";
import { LineSplitter, parseUserProperties, PropertyError } from "../core/publish-input";
import { UsageError } from "../core/usage-error";
import { log, logToStderrOnly, setLogLevel } from "../log";
import { connectionArgs, keepSessionArg, withEveryUrl, toConnectionOptions } from "./client-args";
import { endOnLostOrSignal, exitOnConnectionError, logFailover } from "./client-run";
import { durationFlag, parseIntegerFlag, qosFlag, topicFlag } from "../core/flag-parsers";
import { readFlagFile } from "../flag-file";

/** mosquitto_pub's flags, with its short forms. */
const pubArgs = {
  ...connectionArgs,
  ...keepSessionArg,
  topic: { type: "string", alias: "t", description: "Topic to publish to (required)" },
  message: { type: "string", alias: "m", description: "Send this message" },
  file: { type: "string", alias: "f", description: "Send the bytes of this file as one message", valueHint: "file" },
  "stdin-file": { type: "boolean", description: "Send all of stdin as one message" },
  "stdin-line": { type: "boolean", alias: "l", description: "Send each line of stdin as a message" },
  "null-message": { type: "boolean", alias: "n", description: "Send an empty message" },
  qos: { type: "string", alias: "q", description: "QoS: 0, 1 or 2", default: "0" },
  retain: { type: "boolean", alias: "r", description: "Ask the broker to retain the message" },
  repeat: { type: "string", description: "Publish the message this many times", default: "1" },
  "repeat-delay": { type: "string", description: "Wait this long between repeats: seconds or a duration", default: "0" },
  timeout: { type: "string", description: "QoS 1/2: give up (exit 3) when the broker has not acknowledged a message within this long", default: "10s" },
  "will-topic": { type: "string", description: "Last will: topic the broker publishes to if we vanish" },
  "will-payload": { type: "string", description: "Last will: payload", default: "" },
  "will-qos": { type: "string", description: "Last will: QoS", default: "0" },
  "will-retain": { type: "boolean", description: "Last will: retain it" },
  "content-type": { type: "string", description: "MQTT 5: Content Type property" },
  "user-property": { type: "string", description: "MQTT 5: User Property key=value (repeatable)" },
  "message-expiry": { type: "string", description: "MQTT 5: Message Expiry Interval: seconds or a duration" },
  "response-topic": { type: "string", description: "MQTT 5: Response Topic" },
  "correlation-data": { type: "string", description: "MQTT 5: Correlation Data (text)" },
  "payload-format-utf8": { type: "boolean", description: "MQTT 5: Payload Format Indicator 1 (the payload is UTF-8)" },
} as const;

type PubArgValues = { [K in keyof typeof pubArgs]?: string | boolean };
type Source = "message" | "file" | "stdin-file" | "stdin-line" | "null-message";
const SOURCES: Source[] = ["message", "file", "stdin-file", "stdin-line", "null-message"];
const FLAG_OF: Record<Source, string> = { message: "-m", file: "-f", "stdin-file": "--stdin-file", "stdin-line": "-l", "null-message": "-n" };

function sourceOf(args: PubArgValues): Source {
  const given = SOURCES.filter((source) => args[source] !== undefined && args[source] !== false);
  if (given.length !== 1) {
    const what = given.length === 0 ? "no message given" : `${given.map((source) => FLAG_OF[source]).join(" and ")} together`;
    throw new UsageError(`${what}: use exactly one of -m, -f, --stdin-file, -l, -n`);
  }
  return given[0]!;
}

function publishProperties(args: PubArgValues, rawArgs: string[]): IClientPublishOptions["properties"] {
  let userProperties;
  try {
    userProperties = parseUserProperties(flagValues(rawArgs, pubArgs, "user-property"));
  } catch (error) {
    if (error instanceof PropertyError) throw new UsageError(`--user-property: ${error.message}`);
    throw error;
  }
  const properties: NonNullable<IClientPublishOptions["properties"]> = {
    contentType: args["content-type"] === undefined ? undefined : String(args["content-type"]),
    userProperties,
    messageExpiryInterval: args["message-expiry"] === undefined ? undefined : Math.round(durationFlag("message-expiry", String(args["message-expiry"])) / 1000),
    responseTopic: args["response-topic"] === undefined ? undefined : topicFlag("response-topic", String(args["response-topic"])),
    correlationData: args["correlation-data"] === undefined ? undefined : Buffer.from(String(args["correlation-data"])),
    payloadFormatIndicator: args["payload-format-utf8"] ? true : undefined,
  };
  const given = Object.entries(properties).filter(([, value]) => value !== undefined);
  return given.length ? Object.fromEntries(given) : undefined;
}

function willOf(args: PubArgValues): IClientOptions["will"] {
  if (args["will-topic"] === undefined) {
    if (args["will-retain"] || args["will-payload"] !== "" || args["will-qos"] !== "0") throw new UsageError("the will flags need --will-topic");
    return undefined;
  }
  return {
    topic: topicFlag("will-topic", String(args["will-topic"])),
    payload: Buffer.from(String(args["will-payload"])),
    qos: qosFlag(String(args["will-qos"]), "will-qos"),
    retain: Boolean(args["will-retain"]),
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function* stdinLines(stream: NodeJS.ReadableStream): AsyncIterable<Buffer> {
  const splitter = new LineSplitter();
  for await (const chunk of stream) yield* splitter.push(Buffer.from(chunk as Buffer));
  const last = splitter.end();
  if (last) yield last;
}

function* repeated(message: Buffer, times: number): Iterable<Buffer> {
  for (let i = 0; i < times; i++) yield message;
}

export default defineCommand({
  meta: { name: "pub", description: "Publish messages, like mosquitto_pub (its flags; -c and -s are spelled out)" },
  args: pubArgs,
  async run({ args, rawArgs }) {
    logToStderrOnly();
    setLogLevel({ verbose: args.debug || args.verbose });
    if (args.topic === undefined) throw new UsageError("-t/--topic is required");
    const source = sourceOf(args);
    const repeat = parseIntegerFlag("repeat", String(args.repeat), 1);
    if (repeat > 1 && source === "stdin-line") throw new UsageError("--repeat does not go with -l");
    const connection = toConnectionOptions(withEveryUrl(args, flagValues(rawArgs, pubArgs, "url")), "pub");
    const will = willOf(args);
    if (will) connection.extra = { ...connection.extra, will };
    const options: PubOptions = {
      connection,
      topic: topicFlag("topic", String(args.topic)),
      qos: qosFlag(String(args.qos)),
      retain: Boolean(args.retain),
      properties: publishProperties(args, rawArgs),
      // Checked even without --repeat: a wrong value is an error, not silently ignored.
      delayMs: durationFlag("repeat-delay", String(args["repeat-delay"])) * (repeat > 1 ? 1 : 0),
      ackTimeoutMs: durationFlag("timeout", String(args.timeout), 1),
    };
    // Read files before connecting, so a bad path is a usage error and not a half-done run.
    const fileBytes = source === "file" ? readFlagFile("file", String(args.file)) : undefined;

    const pub = await exitOnConnectionError(() => startPub(options));
    log.debug(`connected to ${pub.connection.target} with MQTT ${pub.connection.protocolVersion === 5 ? "5" : "3.1.1"}`);
    if (options.properties && pub.connection.protocolVersion !== 5) log.warn("MQTT 5 properties are left out under MQTT 3.1.1.");
    logFailover(pub.connection);
    endOnLostOrSignal(pub);

    let messages: AsyncIterable<Buffer> | Iterable<Buffer>;
    if (source === "stdin-line") messages = stdinLines(process.stdin);
    else {
      const message =
        source === "message" ? Buffer.from(String(args.message))
        : source === "file" ? fileBytes!
        : source === "stdin-file" ? await readAll(process.stdin)
        : Buffer.alloc(0);
      messages = repeated(message, repeat);
    }
    try {
      const sent = await pub.publish(messages);
      log.debug(`published ${sent} message${sent === 1 ? "" : "s"} to ${options.topic}`);
    } catch (error) {
      if (!(error instanceof PublishRefused) && !(error instanceof PublishNotAcknowledged)) throw error;
      log.error(error.message);
      await pub.close();
      process.exit(ExitCode.connection);
    }
    await pub.close();
    process.exit(ExitCode.ok);
  },
});
