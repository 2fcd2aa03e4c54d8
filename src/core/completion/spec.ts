// What shell completion knows about the command line, taken from the citty definitions themselves
// (src/commands/completion.ts feeds them in), so a completion script cannot drift from the flags.

import type { FlagDefinition } from "../flags";

/** The parts of a citty argument definition completion reads: flag checking's, and what is shown. */
export interface ArgDefinition extends FlagDefinition {
  description?: string;
  /** "file", "path" or "dir": complete file names; "a|b|c": complete these words. */
  valueHint?: string;
  options?: string[];
}

export interface FlagSpec {
  /** The long name without dashes, e.g. "password-file". */
  name: string;
  /** One-letter aliases, e.g. ["p"]. */
  short: string[];
  description: string;
  takesValue: boolean;
  /** The value is a file name. */
  files: boolean;
  /** The value is one of these words. */
  choices: string[];
}

export interface CommandSpec {
  name: string;
  description: string;
  flags: FlagSpec[];
  /** Whether it takes positional arguments, and what they are. */
  positional?: { files: boolean; choices: string[] };
}

export interface CompletionSpec {
  program: string;
  /** The shell function's name, e.g. _mqtt_pingpong. */
  functionName: string;
  commands: CommandSpec[];
  /** Flags of the program itself, before any subcommand. */
  topFlags: FlagSpec[];
}

const FILE_HINTS = new Set(["file", "path", "dir", "directory"]);

function valueCompletion(definition: ArgDefinition): { files: boolean; choices: string[] } {
  if (definition.options?.length) return { files: false, choices: definition.options };
  const hint = definition.valueHint ?? "";
  if (hint.includes("|")) return { files: false, choices: hint.split("|") };
  return { files: FILE_HINTS.has(hint), choices: [] };
}

/** --help and --version, which cli.ts answers for every subcommand. */
function builtinFlags(takenShort: Set<string>): FlagSpec[] {
  const flag = (name: string, description: string): FlagSpec => ({ name, short: [], description, takesValue: false, files: false, choices: [] });
  const help = flag("help", "Show usage");
  if (!takenShort.has("h")) help.short.push("h");
  return [help, flag("version", "Show the version, commit and target")];
}

export function commandSpec(name: string, description: string, args: Record<string, ArgDefinition>): CommandSpec {
  const flags: FlagSpec[] = [];
  let positional: CommandSpec["positional"];
  for (const [key, definition] of Object.entries(args)) {
    if (definition.type === "positional") {
      const values = valueCompletion(definition);
      positional = { files: Boolean(positional?.files) || values.files, choices: [...(positional?.choices ?? []), ...values.choices] };
      continue;
    }
    flags.push({
      name: key,
      short: [definition.alias ?? []].flat().filter((alias) => alias.length === 1),
      description: firstClause(definition.description ?? ""),
      takesValue: definition.type !== "boolean",
      ...valueCompletion(definition),
    });
  }
  const takenShort = new Set(flags.flatMap((flag) => flag.short));
  return { name, description: firstClause(description), flags: [...flags, ...builtinFlags(takenShort)], positional };
}

export function completionSpec(program: string, commands: CommandSpec[]): CompletionSpec {
  const topFlags = builtinFlags(new Set());
  topFlags[1]!.short.push("v");
  return { program, functionName: `_${program.replace(/[^A-Za-z0-9]/g, "_")}`, commands, topFlags };
}

/** Descriptions are shown beside each candidate: the first sentence, kept short. */
function firstClause(text: string): string {
  let clause = text.split(/(?<=[.;])\s/)[0]!.replace(/[.;]$/, "");
  // A clause cut inside a parenthesis ends before it: "like mosquitto_pub (its flags" reads as a typo.
  const open = clause.lastIndexOf("(");
  if (open >= 0 && !clause.includes(")", open)) clause = clause.slice(0, open).trimEnd();
  return clause.length > 80 ? `${clause.slice(0, 77)}...` : clause;
}

/** Every way to write a flag: --name and -x. */
export const flagWords = (flag: FlagSpec) => [`--${flag.name}`, ...flag.short.map((alias) => `-${alias}`)];
