import { UsageError } from "./usage-error";

/** The shape of a citty args definition that flag checking needs. */
export interface FlagDefinition {
  type?: "string" | "boolean" | "positional" | "enum" | "number";
  alias?: string | string[];
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * citty accepts any flag silently; a typo such as `--intervall 1s` must instead stop with exit 2.
 * Returns the keys of the flags given (so a config file can fill in the others); throws UsageError
 * naming the first unknown or incomplete flag.
 */
export function checkFlags(rawArgs: string[], definitions: Record<string, FlagDefinition>): Set<string> {
  const byName = new Map<string, FlagDefinition & { key: string }>();
  const given = new Set<string>();
  for (const [key, definition] of Object.entries(definitions)) {
    if (definition.type === "positional") continue;
    byName.set(camel(key), { ...definition, key });
    const aliases = definition.alias === undefined ? [] : [definition.alias].flat();
    for (const alias of aliases) byName.set(alias, { ...definition, key });
  }
  const positionalCount = Object.values(definitions).filter((d) => d.type === "positional").length;
  let positionalsSeen = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") return given;
    if (!token.startsWith("-") || token === "-") {
      if (++positionalsSeen > positionalCount) throw new UsageError(`unexpected argument "${token}"`);
      continue;
    }
    const [flag, inlineValue] = splitOnce(token.replace(/^--?/, ""), "=");
    let definition = byName.get(token.startsWith("--") ? camel(flag) : flag);
    if (!definition && flag.startsWith("no-")) {
      const negated = byName.get(camel(flag.slice(3)));
      if (negated?.type === "boolean") definition = negated;
    }
    if (!definition) throw new UsageError(`unknown option "${token.split("=")[0]}"`);
    given.add(definition.key);
    const takesValue = definition.type !== "boolean";
    if (takesValue && inlineValue === undefined) {
      if (i + 1 >= rawArgs.length) throw new UsageError(`option "${token}" needs a value`);
      i++;
    }
    if (!takesValue && inlineValue !== undefined && !["true", "false"].includes(inlineValue)) {
      throw new UsageError(`option "${token.split("=")[0]}" takes no value`);
    }
  }
  return given;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}
