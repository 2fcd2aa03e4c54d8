import { defineCommand } from "citty";
import { startBroker, ListenError, type BrokerHandle, type BrokerOptions } from "../broker/server";
import { withConfigFile } from "../broker/setup/config";
import { brokerArgs } from "../broker/setup/flags";
import { brokerSetupOf } from "../broker/setup/options";
import { ExitCode } from "../core/exit-codes";
import { log, setLogLevel } from "../log";
import { joinClusterFromArgs } from "./cluster-join";
import { onShutdownSignal } from "./shutdown-signal";
import { onReloadSignal, reloadBrokerFiles } from "./reload-signal";

/** Starts the broker or ends the process with exit status 4 and one line. */
export async function startBrokerOrExit(options: BrokerOptions): Promise<BrokerHandle> {
  try {
    const broker = await startBroker(options);
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
  meta: { name: "broker", description: "Run an MQTT broker (in memory) on localhost:10008" },
  args: brokerArgs,
  async run({ args, rawArgs }) {
    const settings = withConfigFile(args, rawArgs);
    setLogLevel({ verbose: Boolean(settings.verbose) });
    const { options, reliability, reload } = brokerSetupOf(settings);
    // Before the listeners: once "Broker listening" is logged, a SIGHUP must not end the process.
    onReloadSignal(reloadBrokerFiles(reload));
    // --cluster: Redis carries the messages and holds the sessions (src/broker/cluster.ts).
    const cluster = await joinClusterFromArgs(settings);
    options.aedes = { ...cluster?.aedesOptions, ...options.aedes };
    const broker = await startBrokerOrExit(options);
    cluster?.attach(broker.aedes);
    if (reliability.storage) log.info(`Keeping retained messages, subscriptions and sessions in ${reliability.storage} (SQLite).`);
    onShutdownSignal(async (signal) => {
      log.info(`${signal}: stopping the broker (no new connections; delivering what is in flight for up to ${reliability.drainTimeoutMs / 1000} s).`);
      const close = () => broker.close({ drainMs: reliability.drainTimeoutMs });
      await (cluster ? cluster.shutdown(close) : close());
      await reliability.closePersistence();
      log.info("Broker stopped.");
      process.exit(ExitCode.ok);
    });
  },
});
