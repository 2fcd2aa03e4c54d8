import { defineCommand } from "citty";
import { bashScript } from "../core/completion/bash";
import { fishScript } from "../core/completion/fish";
import { commandSpec, completionSpec, type ArgDefinition, type CompletionSpec } from "../core/completion/spec";
import { zshScript } from "../core/completion/zsh";
import { UsageError } from "../core/usage-error";
import { subCommands } from "./index";

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript };

/** Every subcommand's flags, read from its citty definition. */
export async function cliCompletionSpec(): Promise<CompletionSpec> {
  const commands = [];
  for (const [name, load] of Object.entries(subCommands)) {
    const command = await load();
    const meta = typeof command.meta === "function" ? await command.meta() : await command.meta;
    const args = typeof command.args === "function" ? await command.args() : await command.args;
    commands.push(commandSpec(name, meta?.description ?? "", (args ?? {}) as Record<string, ArgDefinition>));
  }
  return completionSpec("mqtt-pingpong", commands);
}

export default defineCommand({
  meta: { name: "completion", description: "Print a shell completion script (bash, zsh or fish); see docs/cli.md" },
  args: {
    shell: { type: "positional", required: false, description: "bash, zsh or fish", valueHint: "bash|zsh|fish" },
  },
  async run({ args }) {
    const shell = args.shell === undefined ? "" : String(args.shell);
    if (!shell) throw new UsageError("name a shell: bash, zsh or fish");
    if (!Object.hasOwn(SCRIPTS, shell)) throw new UsageError(`no completion for the shell "${shell}" (bash, zsh or fish)`);
    process.stdout.write(SCRIPTS[shell as keyof typeof SCRIPTS](await cliCompletionSpec()));
  },
});
