import { defineCommand } from "citty";
import type { AedesOptions } from "aedes";
import { DEFAULT_PROTOCOL_LIMITS, PROTOCOL_LIMIT_MAXIMUM, type ProtocolLimits } from "../broker/protocol-options";
import { startBroker, ListenError, type BrokerHandle } from "../broker/server";
import { ExitCode } from "../core/exit-codes";
import { parseIntegerFlag } from "../core/usage-error";
import { log, setLogLevel } from "../log";
import { portFlag } from "./client-args";
import { durationFlag, onShutdownSignal } from "./common-args";

const limitDefaults = DEFAULT_PROTOCOL_LIMITS;

/** Protocol limits (MQTT 3.1.1 and 5.0); see src/broker/protocol-options.ts. */
export const protocolLimitArgs = {
  "max-connections": { type: "string", description: "Clients connected at once; more are refused (0: no limit)", default: String(limitDefaults.maxConnections) },
  "max-packet-size": { type: "string", description: "Largest packet accepted, bytes (told to MQTT 5 clients)", default: String(limitDefaults.maxPacketSize) },
  "max-inflight": { type: "string", description: "Unacknowledged QoS 1/2 messages per client, each way (MQTT 5 Receive Maximum)", default: String(limitDefaults.maxInflight) },
  "idle-timeout": { type: "string", description: "Close a socket that sends no CONNECT within this long", default: `${limitDefaults.connectTimeoutMs / 1000}s` },
  "max-keepalive": { type: "string", description: "Largest keep-alive, seconds; MQTT 5 clients are told it (0: no cap)", default: String(limitDefaults.maxKeepaliveSec) },
  "max-topic-alias": { type: "string", description: "MQTT 5 topic aliases per connection, each way (0: none)", default: String(limitDefaults.maxTopicAlias) },
} as const;

type ProtocolLimitArgValues = { [K in keyof typeof protocolLimitArgs]?: string };

export function toProtocolLimits(args: ProtocolLimitArgValues): ProtocolLimits {
  return {
    maxConnections: parseIntegerFlag("max-connections", String(args["max-connections"]), 0),
    maxPacketSize: parseIntegerFlag("max-packet-size", String(args["max-packet-size"]), 64, PROTOCOL_LIMIT_MAXIMUM.maxPacketSize),
    maxInflight: parseIntegerFlag("max-inflight", String(args["max-inflight"]), 1, PROTOCOL_LIMIT_MAXIMUM.maxInflight),
    connectTimeoutMs: durationFlag("idle-timeout", String(args["idle-timeout"]), 1),
    maxKeepaliveSec: parseIntegerFlag("max-keepalive", String(args["max-keepalive"]), 0, PROTOCOL_LIMIT_MAXIMUM.maxKeepaliveSec),
    maxTopicAlias: parseIntegerFlag("max-topic-alias", String(args["max-topic-alias"]), 0, PROTOCOL_LIMIT_MAXIMUM.maxTopicAlias),
  };
}
import { clusterArgs, joinClusterFromArgs } from "./cluster-join";

export const brokerArgs = {
  host: { type: "string", description: 'Address to listen on ("localhost": 127.0.0.1 and ::1 only)', default: "localhost" },
  port: { type: "string", alias: "p", description: "TCP port", default: "10008" },
  verbose: { type: "boolean", alias: "v", description: "Log every publish (debug)" },
  ...protocolLimitArgs,
  ...clusterArgs,
} as const;

/** Starts the broker or ends the process with exit status 4 and one line. */
export async function startBrokerOrExit(host: string, port: number, limits?: ProtocolLimits, aedes?: AedesOptions): Promise<BrokerHandle> {
  try {
    const broker = await startBroker({ host, port, limits, aedes });
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
    const limits = toProtocolLimits(args);
    // --cluster: Redis carries the messages and holds the sessions (src/broker/cluster.ts).
    const cluster = await joinClusterFromArgs(args);
    const broker = await startBrokerOrExit(String(args.host), portFlag(args.port), limits, cluster?.aedesOptions);
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
