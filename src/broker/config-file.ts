// --config FILE: one flag per line, `name value`, as in mosquitto.conf; pure, no I/O.
import type { FlagDefinition } from "../core/flags";

export class ConfigFileError extends Error {}

/**
 * Reads lines such as `port 1883`, `password-file /etc/mqtt/passwd` or `allow-anonymous` (a boolean
 * alone means true; `true`/`false` also work) into flag name -> value. Names are the long flag names
 * without the dashes; # starts a comment line. Throws ConfigFileError naming the line.
 */
export function parseConfigFile(text: string, definitions: Record<string, FlagDefinition>): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (why: string) => new ConfigFileError(`line ${index + 1}: ${why}`);
    const match = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    const name = match[1]!.replace(/^--/, "");
    const value = match[2]?.trim();
    const definition = definitions[name];
    if (!definition || definition.type === "positional" || name === "config") throw fail(`unknown setting "${name}"`);
    if (name in values) throw fail(`"${name}" is set twice`);
    if (definition.type === "boolean") {
      if (value !== undefined && value !== "true" && value !== "false") throw fail(`"${name}" takes true or false, not "${value}"`);
      values[name] = value !== "false";
    } else {
      if (value === undefined || value === "") throw fail(`"${name}" needs a value`);
      values[name] = value;
    }
  }
  return values;
}
