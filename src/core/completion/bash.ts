// The bash completion script: one function that finds the subcommand, then offers its flags, a
// flag's values (files or fixed words), or its positional arguments.
import { flagWords, type CommandSpec, type CompletionSpec, type FlagSpec } from "./spec";

const words = (list: string[]) => list.join(" ");

function valueCase(flags: FlagSpec[]): string[] {
  const lines: string[] = [];
  const files = flags.filter((flag) => flag.takesValue && flag.files).flatMap(flagWords);
  if (files.length) lines.push(`        ${files.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`);
  for (const flag of flags.filter((flag) => flag.takesValue && flag.choices.length)) {
    lines.push(`        ${flagWords(flag).join("|")}) COMPREPLY=($(compgen -W "${words(flag.choices)}" -- "$cur")); return ;;`);
  }
  // Any other value (a port, a duration): nothing sensible to offer.
  const free = flags.filter((flag) => flag.takesValue && !flag.files && !flag.choices.length).flatMap(flagWords);
  if (free.length) lines.push(`        ${free.join("|")}) return ;;`);
  return lines;
}

function commandCase(command: CommandSpec): string[] {
  const flags = words(command.flags.flatMap(flagWords));
  const lines = [`    ${command.name})`, `      case "$prev" in`, ...valueCase(command.flags), `      esac`];
  const positional = command.positional;
  if (positional && (positional.files || positional.choices.length)) {
    lines.push(`      if [[ "$cur" != -* ]]; then`);
    if (positional.choices.length) lines.push(`        COMPREPLY=($(compgen -W "${words(positional.choices)}" -- "$cur"))`);
    else lines.push(`        COMPREPLY=($(compgen -f -- "$cur"))`);
    lines.push(`        return`, `      fi`);
  }
  lines.push(`      COMPREPLY=($(compgen -W "${flags}" -- "$cur"))`, `      ;;`);
  return lines;
}

export function bashScript(spec: CompletionSpec): string {
  const topWords = words([...spec.commands.map((command) => command.name), ...spec.topFlags.flatMap(flagWords)]);
  return [
    `# ${spec.program} completion for bash. Load it with:  source <(${spec.program} completion bash)`,
    `${spec.functionName}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" command="" i`,
    `  COMPREPLY=()`,
    `  for ((i = 1; i < COMP_CWORD; i++)); do`,
    `    if [[ "\${COMP_WORDS[i]}" != -* ]]; then command="\${COMP_WORDS[i]}"; break; fi`,
    `  done`,
    `  case "$command" in`,
    `    "") COMPREPLY=($(compgen -W "${topWords}" -- "$cur")) ;;`,
    ...spec.commands.flatMap(commandCase),
    `  esac`,
    `}`,
    `complete -o filenames -F ${spec.functionName} ${spec.program}`,
    ``,
  ].join("\n");
}
