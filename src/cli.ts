#!/usr/bin/env bun
import { ExitCode } from "./core/exit-codes";
import { UsageError } from "./core/usage-error";
import { log } from "./log";
import { subCommands } from "./commands";
import { runCli } from "./commands/main";

runCli(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    const name = process.argv[2] && subCommands[process.argv[2]] ? ` ${process.argv[2]}` : "";
    log.error(`${error.message}. Run 'mqtt-pingpong${name} --help' for usage.`);
    process.exit(ExitCode.usage);
  }
  log.error(error instanceof Error ? error.message : String(error));
  if (process.env.MQTT_PINGPONG_DEBUG && error instanceof Error) console.error(error.stack);
  process.exit(1);
});
