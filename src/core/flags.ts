import { UsageError } from "./usage-error";

/** The shape of a citty args definition that flag checking needs. */
export interface FlagDefinition {
  type?: "string" | "boolean" | "positional" | "enum" | "number";
  alias?: string | string[];
}

/**
 * mosquitto's short forms of options that are spelled out here, because the letter means one thing
 * in every subcommand (-c and -s are ping's --count and --size): the error names the long form.
 */
const MOSQUITTO_SHORT_FORMS: Record<string, string> = { c: "disable-clean-session", s: "stdin-file" };

const camel = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * citty accepts any flag silently; a typo such as `--intervall 1s` must instead stop with exit 2.
 * Returns the keys of the flags given (so a config file can fill in the others); throws UsageError
 * naming the first unknown or incomplete flag.
 */
export function checkFlags(rawArgs: string[], definitions: Record<string, FlagDefinition>): Set<string> {
  const given = new Set<string>();
  scanFlags(rawArgs, definitions, (key) => given.add(key));
  return given;
}

/**
 * Every value given to a flag, in order, under any of its names: citty keeps only the last of a
 * repeated flag, but `sub -t a -t b` and `--user-property` need them all.
 */
export function flagValues(rawArgs: string[], definitions: Record<string, FlagDefinition>, key: string): string[] {
  const values: string[] = [];
  scanFlags(rawArgs, definitions, (found, value) => {
    if (found === key && value !== undefined) values.push(value);
  });
  return values;
}

/** Walks the flags as citty reads them, calling `seen` with each one's definition key and value. */
function scanFlags(
  rawArgs: string[],
  definitions: Record<string, FlagDefinition>,
  seen: (key: string, value: string | undefined) => void,
): void {
  const byName = new Map<string, [string, FlagDefinition]>();
  for (const [key, definition] of Object.entries(definitions)) {
    if (definition.type === "positional") continue;
    byName.set(camel(key), [key, definition]);
    const aliases = definition.alias === undefined ? [] : [definition.alias].flat();
    for (const alias of aliases) byName.set(alias, [key, definition]);
  }
  const positionalCount = Object.values(definitions).filter((d) => d.type === "positional").length;
  let positionalsSeen = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") return;
    if (!token.startsWith("-") || token === "-") {
      if (++positionalsSeen > positionalCount) throw new UsageError(`unexpected argument "${token}"`);
      continue;
    }
    const [flag, inlineValue] = splitOnce(token.replace(/^--?/, ""), "=");
    let entry = byName.get(token.startsWith("--") ? camel(flag) : flag);
    if (!entry && flag.startsWith("no-")) {
      const negated = byName.get(camel(flag.slice(3)));
      if (negated?.[1].type === "boolean") entry = negated;
    }
    if (!entry) throw new UsageError(unknownOption(token.split("=")[0]!, definitions));
    const [key, definition] = entry;
    const takesValue = definition.type !== "boolean";
    let value = inlineValue;
    if (takesValue && inlineValue === undefined) {
      if (i + 1 >= rawArgs.length) throw new UsageError(`option "${token}" needs a value`);
      value = rawArgs[++i];
    }
    if (!takesValue && inlineValue !== undefined && !["true", "false"].includes(inlineValue)) {
      throw new UsageError(`option "${token.split("=")[0]}" takes no value`);
    }
    seen(key, value);
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

function unknownOption(token: string, definitions: Record<string, FlagDefinition>): string {
  const long = token.startsWith("--") ? undefined : MOSQUITTO_SHORT_FORMS[token.slice(1)];
  if (!long || !(long in definitions)) return `unknown option "${token}"`;
  return `unknown option "${token}": use --${long} (mosquitto's ${token}; short flags mean one thing in every subcommand here)`;
}
