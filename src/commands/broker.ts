import { defineCommand } from "citty";
import { startBroker, ListenError, type BrokerHandle } from "../broker/server";
import { ExitCode } from "../core/exit-codes";
import { log, setLogLevel } from "../log";
import { portFlag } from "./client-args";
import { onShutdownSignal } from "./common-args";

export const brokerArgs = {
  host: { type: "string", description: 'Address to listen on ("localhost": 127.0.0.1 and ::1 only)', default: "localhost" },
  port: { type: "string", alias: "p", description: "TCP port", default: "10008" },
  verbose: { type: "boolean", alias: "v", description: "Log every publish (debug)" },
} as const;

/** Starts the broker or ends the process with exit status 4 and one line. */
export async function startBrokerOrExit(host: string, port: number): Promise<BrokerHandle> {
  try {
    const broker = await startBroker({ host, port });
    log.info(`Broker listening on ${broker.addresses.join(", ")}.`);
    return broker;
  } catch (error) {
    if (error instanceof ListenError) {
      log.error(error.message);
      process.exit(ExitCode.listen);
    }
    throw error;
  }
}

export default defineCommand({
  meta: { name: "broker", description: "Run an MQTT broker (anonymous, in memory) on localhost:10008" },
  args: brokerArgs,
  async run({ args }) {
    setLogLevel({ verbose: args.verbose });
    const broker = await startBrokerOrExit(String(args.host), portFlag(args.port));
    onShutdownSignal(async (signal) => {
      log.info(`${signal}: stopping the broker.`);
      await broker.close();
      log.info("Broker stopped.");
      process.exit(ExitCode.ok);
    });
  },
});
