import { defineCommand } from "citty";
import type { AedesOptions } from "aedes";
import { startBroker, ListenError, type BrokerHandle } from "../broker/server";
import { ExitCode } from "../core/exit-codes";
import { log, setLogLevel } from "../log";
import { portFlag } from "./client-args";
import { onShutdownSignal } from "./common-args";
import { clusterArgs, joinClusterFromArgs } from "./cluster-join";

export const brokerArgs = {
  host: { type: "string", description: 'Address to listen on ("localhost": 127.0.0.1 and ::1 only)', default: "localhost" },
  port: { type: "string", alias: "p", description: "TCP port", default: "10008" },
  verbose: { type: "boolean", alias: "v", description: "Log every publish (debug)" },
  ...clusterArgs,
} as const;

/** Starts the broker or ends the process with exit status 4 and one line. */
export async function startBrokerOrExit(host: string, port: number, aedes?: AedesOptions): Promise<BrokerHandle> {
  try {
    const broker = await startBroker({ host, port, aedes });
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
    const port = portFlag(args.port);
    // --cluster: Redis carries the messages and holds the sessions (src/broker/cluster.ts).
    const cluster = await joinClusterFromArgs(args);
    const broker = await startBrokerOrExit(String(args.host), port, cluster?.aedesOptions);
    cluster?.attach(broker.aedes);
    onShutdownSignal(async (signal) => {
      log.info(`${signal}: stopping the broker.`);
      await broker.close();
      await cluster?.close();
      log.info("Broker stopped.");
      process.exit(ExitCode.ok);
    });
  },
});
