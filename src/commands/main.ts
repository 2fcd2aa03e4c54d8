// The main command: help, version, and dispatch to a subcommand with every flag checked first.
import { defineCommand, renderUsage, runCommand, type CommandDef } from "citty";
import { buildInfo, formatVersion } from "../build-info";
import { checkFlags, type FlagDefinition } from "../core/flags";
import { UsageError } from "../core/usage-error";
import { useColor } from "../log";
import { subCommands } from "./index";

export const main = defineCommand({
  meta: { name: "mqtt-pingpong", version: buildInfo.version, description: "An MQTT broker, ping prober and echo responder in one binary" },
  subCommands,
});

async function printUsage(command: CommandDef<any>, parent?: CommandDef<any>): Promise<void> {
  let text = (await renderUsage(command, parent)).replace("USAGE", "Usage");
  // citty colours regardless of NO_COLOR or a pipe; strip it where colour is not wanted.
  if (!useColor(process.stdout)) text = text.replace(/\x1b\[[0-9;]*m/g, "");
  process.stdout.write(text + "\n");
}

/** The flags before a `--` (after it, `--version` is a value, e.g. a payload). */
const flagsOf = (args: string[]) => (args.includes("--") ? args.slice(0, args.indexOf("--")) : args);

function printVersion(args: string[]): void {
  console.log(formatVersion(buildInfo, flagsOf(args).includes("--json")));
}

/** Runs the command line `argv` (without the program): help, version, or a subcommand; a mistake throws UsageError. */
export async function runCli(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  // `-v` only here: in a subcommand it means --verbose.
  if (name === "-v" || (name?.startsWith("-") && flagsOf(argv).includes("--version"))) return printVersion(argv);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    await printUsage(main);
    return;
  }
  const load = subCommands[name];
  if (!load) throw new UsageError(name.startsWith("-") ? `unknown option "${name}"` : `unknown command "${name}"`);
  const command = await load();
  const args = (command.args ?? {}) as Record<string, FlagDefinition>;
  const hasShortH = Object.values(args).some((def) => [def.alias ?? []].flat().includes("h"));
  if (rest.includes("--help") || (!hasShortH && rest.includes("-h"))) {
    await printUsage(command, main);
    return;
  }
  if (flagsOf(rest).includes("--version")) return printVersion(rest);
  checkFlags(rest, args);
  await runCommand(command, { rawArgs: rest });
}
