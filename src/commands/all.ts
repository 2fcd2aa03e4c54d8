import { defineCommand } from "citty";
import { DEFAULT_CONNECT_RETRY_MS, defaultClientId } from "../clients/connection";
import { startEcho } from "../clients/echo";
import { log, setLogLevel } from "../log";
import { startBrokerOrExit } from "./broker";
import { exitOnConnectionError } from "./client-run";
import { probeArgs, runPing, toProbeOptions } from "./ping";
import { portFlag } from "../core/flag-parsers";
import { httpWithConsole } from "../broker/console";
import { BrokerMetrics } from "../broker/metrics";
import { PasswordChecker } from "../broker/auth/password-check";
import type { BrokerOptions } from "../broker/server";
import { onReloadSignal } from "./reload-signal";

export default defineCommand({
  meta: { name: "all", description: "Broker, echo and ping together in one process" },
  args: {
    port: { type: "string", alias: "p", description: "TCP port of the broker", default: "10008" },
    "http-port": { type: "string", description: "Serve the web console, /healthz and /metrics on localhost at this port" },
    ...probeArgs,
    verbose: { type: "boolean", alias: "v", description: "Debug output, every publish included" },
  },
  async run({ args }) {
    setLogLevel({ verbose: args.verbose, quiet: args.json });
    const probe = toProbeOptions(args);
    const brokerOptions: BrokerOptions = { host: "localhost", port: portFlag(args.port) };
    if (args["http-port"] !== undefined) {
      const metrics = new BrokerMetrics();
      const http = httpWithConsole({ host: "localhost", port: portFlag(args["http-port"], "http-port"), metrics, access: { passwords: new PasswordChecker() }, pingTopic: probe.pingTopic, pongTopic: probe.pongTopic });
      Object.assign(brokerOptions, { listeners: [http.listener], services: [metrics.attach, http.service], onConnection: metrics.countConnection, onListening: http.onListening });
    }
    // SIGHUP means reload, as for `broker` (systemctl reload, log rotation); all's broker reads no files.
    onReloadSignal(() => log.info("SIGHUP: nothing to reload (all's broker reads no files)."));
    const broker = await startBrokerOrExit(brokerOptions);
    // Clients use the port actually bound, so --port 0 works too.
    const connection = (role: string) => ({
      url: `mqtt://127.0.0.1:${broker.port}`,
      clientId: defaultClientId(role),
      keepaliveSec: 60,
      clean: true,
      protocolVersion: 5 as const,
      connectTimeoutMs: 5_000,
      connectRetryMs: DEFAULT_CONNECT_RETRY_MS,
    });
    const echo = await exitOnConnectionError(() =>
      startEcho({ connection: connection("echo"), pingTopic: probe.pingTopic, pongTopic: probe.pongTopic, qos: probe.qos, logMessages: !args.quiet && !args.json }),
    );
    await runPing({ connection: connection("ping"), ...probe }, { json: Boolean(args.json), quiet: Boolean(args.quiet) }, async () => {
      await echo.close();
      await broker.close();
    });
  },
});
