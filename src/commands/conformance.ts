import { defineCommand } from "citty";
import type { Expectations, SuiteSettings } from "../conformance/check";
import { checks } from "../conformance/checks/index";
import { formatJson, formatTable, totals } from "../conformance/report";
import { BrokerUnreachable, probeBroker, runChecks } from "../conformance/runner";
import { parseTarget, TargetError } from "../conformance/target";
import { ExitCode } from "../core/exit-codes";
import { durationFlag, parseChoiceFlag, parseIntegerFlag } from "../core/flag-parsers";
import { UsageError } from "../core/usage-error";
import { readFlagFile } from "../flag-file";
import { log } from "../log";

const conformanceArgs = {
  url: { type: "string", description: "Broker to check: mqtt://, mqtts://, ws:// or wss://host:port[/path] (required)" },
  protocol: { type: "string", description: "Statements of MQTT 3.1.1, 5 or all", default: "all" },
  json: { type: "boolean", description: "One JSON object with every result on stdout" },
  only: { type: "string", description: "Run only checks whose id starts with one of these, comma-separated (e.g. MQTT-3.1.2,MQTT-4.7)" },
  username: { type: "string", alias: "u", description: "User name every check connects with" },
  password: { type: "string", alias: "P", description: "Password every check connects with" },
  insecure: { type: "boolean", description: "mqtts: accept a server certificate that does not verify" },
  cafile: { type: "string", description: "mqtts: CA certificates (PEM) the server's certificate must chain to", valueHint: "file" },
  concurrency: { type: "string", description: "Checks running at once", default: "8" },
  "check-timeout": { type: "string", description: "A check with no verdict by then fails", default: "15s" },
  "reply-timeout": { type: "string", description: "How long the broker has to send what it owes", default: "5s" },
  quiet: { type: "string", description: "How long to watch for something the broker must not send", default: "500ms" },
  "expect-auth-required": { type: "boolean", description: "The broker refuses a CONNECT without credentials" },
  "expect-denied-topic": { type: "string", description: "A topic the ACL forbids us to publish and subscribe to" },
  "expect-max-qos": { type: "string", description: "The broker's Maximum QoS (0 or 1) when below 2" },
  "expect-no-retain": { type: "boolean", description: "The broker does not support retained messages" },
} as const;

type ConformanceArgValues = { [K in keyof typeof conformanceArgs]?: string | boolean };

function toSettings(args: ConformanceArgValues): SuiteSettings {
  if (typeof args.url !== "string" || args.url === "") throw new UsageError("--url is required (mqtt://host:port)");
  let target;
  try {
    target = parseTarget(args.url, Boolean(args.insecure), typeof args.cafile === "string" ? readFlagFile("cafile", args.cafile) : undefined);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(`--url: ${error.message}`);
    throw error;
  }
  const expectations: Expectations = {
    authRequired: args["expect-auth-required"] ? true : undefined,
    deniedTopic: typeof args["expect-denied-topic"] === "string" ? args["expect-denied-topic"] : undefined,
    maxQos: args["expect-max-qos"] === undefined ? undefined : parseIntegerFlag("expect-max-qos", String(args["expect-max-qos"]), 0, 1),
    retainUnavailable: args["expect-no-retain"] ? true : undefined,
  };
  return {
    target,
    username: typeof args.username === "string" ? args.username : undefined,
    password: typeof args.password === "string" ? args.password : undefined,
    expectations,
    replyMs: durationFlag("reply-timeout", String(args["reply-timeout"]), 1),
    quietMs: durationFlag("quiet", String(args.quiet), 1),
  };
}

export default defineCommand({
  meta: { name: "conformance", description: "Check a broker against the normative statements of MQTT 3.1.1 and 5.0" },
  args: conformanceArgs,
  async run({ args }) {
    const values = args as ConformanceArgValues;
    const settings = toSettings(values);
    const protocol = parseChoiceFlag("protocol", String(values.protocol), ["3.1.1", "5", "all"]);
    const concurrency = parseIntegerFlag("concurrency", String(values.concurrency), 1, 256);
    const checkTimeoutMs = durationFlag("check-timeout", String(values["check-timeout"]), 1);
    const only = typeof values.only === "string" ? values.only.split(",").map((prefix) => prefix.trim()).filter(Boolean) : undefined;
    const selected = checks.filter((check) => (protocol === "all" || check.protocol === protocol) && (!only || only.some((prefix) => check.id.startsWith(prefix))));
    if (selected.length === 0) throw new UsageError(`no check matches --protocol ${protocol}${only ? ` --only ${only.join(",")}` : ""}`);
    try {
      await probeBroker(settings);
    } catch (error) {
      if (!(error instanceof BrokerUnreachable)) throw error;
      log.error(error.message);
      process.exit(ExitCode.connection);
    }
    const results = await runChecks(selected, settings, { concurrency, checkTimeoutMs });
    process.stdout.write((values.json ? formatJson(settings.target.url, results) : formatTable(results)) + "\n");
    process.exit(totals(results).fail > 0 ? ExitCode.conformanceFailures : ExitCode.ok);
  },
});
