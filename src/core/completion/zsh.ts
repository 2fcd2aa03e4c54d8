// The zsh completion script: _arguments specs per subcommand. Works both from a directory in $fpath
// (as the file _mqtt-pingpong) and sourced after compinit.
import { flagWords, type CommandSpec, type CompletionSpec, type FlagSpec } from "./spec";

/** Text inside single quotes and _arguments' [description] brackets. */
const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const description = (text: string) => text.replace(/[[\]]/g, (bracket) => `\\${bracket}`);

function flagSpec(flag: FlagSpec): string {
  const names = flagWords(flag);
  let value = "";
  if (flag.takesValue) {
    const action = flag.files ? "_files" : flag.choices.length ? `(${flag.choices.join(" ")})` : " ";
    value = `:${flag.name}:${action}`;
  }
  const text = `[${description(flag.description)}]${value}`;
  if (names.length === 1) return quote(`${names[0]}${text}`);
  // Either spelling, not both: "(-p --port)"{-p,--port}"[...]".
  return `${quote(`(${names.join(" ")})`)}{${names.join(",")}}${quote(text)}`;
}

function commandCase(command: CommandSpec): string[] {
  const specs = command.flags.map(flagSpec);
  const positional = command.positional;
  if (positional?.choices.length) specs.push(quote(`*:argument:(${positional.choices.join(" ")})`));
  else if (positional?.files) specs.push(quote("*:file:_files"));
  return [`        ${command.name})`, `          _arguments -s \\`, ...specs.map((spec, index) => `            ${spec}${index < specs.length - 1 ? " \\" : ""}`), `          ;;`];
}

export function zshScript(spec: CompletionSpec): string {
  const fn = spec.functionName;
  const commands = spec.commands.map((command) => `    ${quote(`${command.name}:${command.description.replace(/:/g, "\\:")}`)}`);
  return [
    `#compdef ${spec.program}`,
    `# ${spec.program} completion for zsh. Load it with:  source <(${spec.program} completion zsh)  (after compinit)`,
    `${fn}() {`,
    `  local curcontext="$curcontext" state line`,
    `  typeset -A opt_args`,
    `  local -a commands=(`,
    ...commands,
    `  )`,
    `  _arguments -C \\`,
    ...spec.topFlags.map((flag) => `    ${flagSpec(flag)} \\`),
    `    '1:command:->command' \\`,
    `    '*::argument:->argument'`,
    `  case $state in`,
    `    command) _describe -t commands command commands ;;`,
    `    argument)`,
    `      case $line[1] in`,
    ...spec.commands.flatMap(commandCase),
    `      esac`,
    `      ;;`,
    `  esac`,
    `}`,
    // Autoloaded from $fpath the file's body runs as _${spec.program}; sourced, it registers itself.
    `if [[ "\${funcstack[1]}" == "_${spec.program}" ]]; then ${fn} "$@"; else compdef ${fn} ${spec.program}; fi`,
    ``,
  ].join("\n");
}
