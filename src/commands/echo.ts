import { defineCommand } from "citty";
import { startEcho, type EchoOptions } from "../clients/echo";
import { flagValues } from "../core/flags";
import { echoJson } from "../core/message-format";
import { logToStderrOnly, setLogLevel } from "../log";
import { connectionArgs, toConnectionOptions, withEveryUrl } from "./client-args";
import { endOnLostOrSignal, exitOnConnectionError, logFailover } from "./client-run";
import { qosFlag, topicFlag } from "../core/flag-parsers";

export const echoArgs = {
  ...connectionArgs,
  "ping-topic": { type: "string", description: "Topic to listen on", default: "/ping" },
  "pong-topic": { type: "string", description: "Topic to answer on (unless a request names a Response Topic)", default: "/pong" },
  qos: { type: "string", alias: "q", description: "QoS of the subscription and the answers: 0, 1 or 2", default: "0" },
  json: { type: "boolean", description: "One JSON object per echoed message on stdout, nothing else there" },
  quiet: { type: "boolean", description: "Do not log each message" },
} as const;

export default defineCommand({
  meta: { name: "echo", description: "Subscribe to /ping and republish every payload unchanged to /pong (or to its Response Topic)" },
  args: echoArgs,
  async run({ args, rawArgs }) {
    setLogLevel({ verbose: args.verbose || args.debug });
    const json = Boolean(args.json);
    if (json) logToStderrOnly(); // stdout carries the JSON lines only
    const writeLine = (line: string) => process.stdout.write(line + "\n");
    const options: EchoOptions = {
      connection: toConnectionOptions(withEveryUrl(args, flagValues(rawArgs, echoArgs, "url")), "echo"),
      pingTopic: topicFlag("ping-topic", String(args["ping-topic"])),
      pongTopic: topicFlag("pong-topic", String(args["pong-topic"])),
      qos: qosFlag(String(args.qos)),
      logMessages: !args.quiet && !json,
      onEcho: json ? (echo) => writeLine(echoJson(echo, echo.answeredAtMs)) : undefined,
    };
    const echo = await exitOnConnectionError(() => startEcho(options));
    logFailover(echo.connection);
    endOnLostOrSignal(echo);
  },
});
