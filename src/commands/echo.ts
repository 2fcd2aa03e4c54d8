import { defineCommand } from "citty";
import { startEcho } from "../clients/echo";
import { ExitCode } from "../core/exit-codes";
import { log, setLogLevel } from "../log";
import { connectionArgs, toConnectionOptions, withEveryUrl } from "./client-args";
import { onShutdownSignal, qosFlag, topicFlag } from "./common-args";
import { exitOnConnectionError, logFailover } from "./client-run";

export const echoArgs = {
  ...connectionArgs,
  "ping-topic": { type: "string", description: "Topic to listen on", default: "/ping" },
  "pong-topic": { type: "string", description: "Topic to answer on", default: "/pong" },
  qos: { type: "string", alias: "q", description: "QoS of the subscription and the answers: 0, 1 or 2", default: "0" },
  quiet: { type: "boolean", description: "Do not log each message" },
} as const;

export default defineCommand({
  meta: { name: "echo", description: "Subscribe to /ping and republish every payload unchanged to /pong" },
  args: echoArgs,
  async run({ args, rawArgs }) {
    setLogLevel({ verbose: args.verbose || args.debug });
    const options = {
      connection: toConnectionOptions(withEveryUrl(args, rawArgs), "echo"),
      pingTopic: topicFlag("ping-topic", String(args["ping-topic"])),
      pongTopic: topicFlag("pong-topic", String(args["pong-topic"])),
      qos: qosFlag(String(args.qos)),
      logMessages: !args.quiet,
    };
    const echo = await exitOnConnectionError(() => startEcho(options));
    logFailover(echo.connection);
    echo.connection.onLost((reason) => {
      log.error(reason);
      process.exit(ExitCode.connection);
    });
    onShutdownSignal(async () => {
      await echo.close();
      process.exit(ExitCode.ok);
    });
  },
});
