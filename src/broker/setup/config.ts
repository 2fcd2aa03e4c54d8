import { dirname, resolve } from "node:path";
import { checkFlags } from "../../core/flags";
import { UsageError } from "../../core/usage-error";
import { readFlagFile } from "../../flag-file";
import { parseConfigFile } from "../config-file";
import { brokerArgs, type BrokerArgValues } from "./flags";

/** Settings whose value is a file: relative names in a config file are relative to that file. */
const FILE_SETTINGS = new Set(["password-file", "acl-file", "cert", "key", "cafile"]);

/** The flags given on the command line, with --config's values filling in the ones not given. */
export function withConfigFile(args: BrokerArgValues, rawArgs: string[]): BrokerArgValues {
  if (!args.config) return args;
  const file = String(args.config);
  const text = readFlagFile("config", file).toString("utf8");
  let values: Record<string, string | boolean>;
  try {
    values = parseConfigFile(text, brokerArgs);
  } catch (error) {
    throw new UsageError(`--config ${file}: ${(error as Error).message}`);
  }
  const given = checkFlags(rawArgs, brokerArgs);
  const merged: BrokerArgValues = { ...args };
  for (const [name, value] of Object.entries(values)) {
    if (given.has(name)) continue;
    merged[name as keyof BrokerArgValues] = FILE_SETTINGS.has(name) ? resolve(dirname(file), String(value)) : value;
  }
  return merged;
}
