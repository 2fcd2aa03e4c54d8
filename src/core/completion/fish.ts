// The fish completion script: one `complete` line per subcommand and per flag.
import { type CommandSpec, type CompletionSpec, type FlagSpec } from "./spec";

const quote = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function flagLine(program: string, condition: string, flag: FlagSpec): string {
  const parts = [`complete -c ${program} -n ${quote(condition)} -l ${flag.name}`];
  for (const alias of flag.short) parts.push(`-s ${alias}`);
  if (flag.takesValue) parts.push(flag.files ? "-r -F" : flag.choices.length ? `-x -a ${quote(flag.choices.join(" "))}` : "-x");
  parts.push(`-d ${quote(flag.description)}`);
  return parts.join(" ");
}

function commandLines(program: string, command: CommandSpec): string[] {
  const condition = `__fish_seen_subcommand_from ${command.name}`;
  const lines = command.flags.map((flag) => flagLine(program, condition, flag));
  const positional = command.positional;
  if (positional?.choices.length) lines.push(`complete -c ${program} -n ${quote(condition)} -a ${quote(positional.choices.join(" "))}`);
  else if (positional?.files) lines.push(`complete -c ${program} -n ${quote(condition)} -F`);
  return lines;
}

export function fishScript(spec: CompletionSpec): string {
  const p = spec.program;
  return [
    `# ${p} completion for fish. Load it with:  ${p} completion fish | source`,
    `complete -c ${p} -f`,
    ...spec.topFlags.map((flag) => flagLine(p, "__fish_use_subcommand", flag)),
    ...spec.commands.map((command) => `complete -c ${p} -n __fish_use_subcommand -a ${command.name} -d ${quote(command.description)}`),
    ...spec.commands.flatMap((command) => commandLines(p, command)),
    ``,
  ].join("\n");
}
