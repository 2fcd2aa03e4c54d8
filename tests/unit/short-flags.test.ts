import { describe, expect, test } from "bun:test";
import { subCommands } from "../../src/commands";
import { checkFlags, type FlagDefinition } from "../../src/core/flags";

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
      expect({ alias: `-${alias}`, longs }).toEqual({ alias: `-${alias}`, longs: longs.slice(0, 1) });
    }
  });

  test("mosquitto's -c and -s, which mean --count and --size here, point pub and sub users to the long form", async () => {
    for (const [name, short, long] of [["sub", "-c", "--disable-clean-session"], ["pub", "-c", "--disable-clean-session"], ["pub", "-s", "--stdin-file"]] as const) {
      const definitions = await flagsOf(name);
      expect(() => checkFlags([short], definitions)).toThrow(`unknown option "${short}": use ${long}`);
    }
  });
});
