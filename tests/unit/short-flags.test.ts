import { describe, expect, test } from "bun:test";
import { subCommands } from "../../src/commands";
import type { FlagDefinition } from "../../src/core/flags";

/**
 * Short flags shared on purpose by tools that mirror different originals: ping's -c (count) and
 * -s (size) are ping(8)'s, pub/sub's -c (keep the session) and -s (message from stdin) are
 * mosquitto_pub/mosquitto_sub's, so each tool keeps the habits its users bring. Any other short
 * flag means one thing in every subcommand.
 */
const INHERITED = new Map([
  ["c", new Set(["--count", "--disable-clean-session"])],
  ["s", new Set(["--size", "--stdin-file"])],
]);

async function flagsOf(name: string): Promise<Record<string, FlagDefinition>> {
  const command = await subCommands[name]!();
  const args = typeof command.args === "function" ? await command.args() : command.args;
  return (args ?? {}) as Record<string, FlagDefinition>;
}

const shortNames = (definition: FlagDefinition) => [definition.alias ?? []].flat().filter((alias) => alias.length === 1);

describe("short flags", () => {
  test("no subcommand gives one short flag to two options (bench once listed -d for --debug and --duration)", async () => {
    for (const name of Object.keys(subCommands)) {
      const owners = new Map<string, string>();
      for (const [flag, definition] of Object.entries(await flagsOf(name))) {
        for (const alias of shortNames(definition)) {
          expect({ command: name, alias, owner: owners.get(alias) ?? flag }).toEqual({ command: name, alias, owner: flag });
          owners.set(alias, flag);
        }
      }
    }
  });

  test("a short flag means the same long option in every subcommand", async () => {
    const meanings = new Map<string, Map<string, string>>();
    for (const name of Object.keys(subCommands)) {
      for (const [flag, definition] of Object.entries(await flagsOf(name))) {
        for (const alias of shortNames(definition)) {
          const byLong = meanings.get(alias) ?? new Map<string, string>();
          byLong.set(`--${flag}`, byLong.get(`--${flag}`) ?? name);
          meanings.set(alias, byLong);
        }
      }
    }
    expect(meanings.size).toBeGreaterThan(10);
    for (const [alias, byLong] of meanings) {
      const longs = [...byLong.keys()];
      const allowed = INHERITED.get(alias);
      if (allowed && longs.every((long) => allowed.has(long))) continue;
      expect({ alias: `-${alias}`, longs }).toEqual({ alias: `-${alias}`, longs: longs.slice(0, 1) });
    }
  });
});
