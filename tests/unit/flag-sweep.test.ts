// Every flag of every subcommand with a wrong value, run in this process through the same entry the
// binary uses (runCli): the mistake is a UsageError naming the flag or the value, thrown before any
// socket, file write or child process. The binary's edge (one line, exit 2) is pinned per command
// by tests/e2e/cli-sweep.test.ts.
import { describe, expect, test } from "bun:test";
import { subCommands } from "../../src/commands";
import { UsageError } from "../../src/core/usage-error";
import { FREE_TEXT, namesTheMistake, SWEEP, sweepCases } from "../support/flag-sweep";
import { usageErrorOf } from "../support/usage-error";

type FlagDef = { type?: string };

describe("every flag with a wrong value is a usage error naming it", () => {
  test("the table covers every flag that takes a value, in every subcommand", async () => {
    const uncovered: string[] = [];
    for (const name of new Set(SWEEP.map(([name]) => name))) {
      const command = await subCommands[name]!();
      const args = (typeof command.args === "function" ? await command.args() : command.args) as Record<string, FlagDef>;
      for (const [flag, def] of Object.entries(args)) {
        const covered = SWEEP.some(([other, , cases]) => other === name && cases[flag]);
        if (def.type !== "string" || FREE_TEXT.has(flag) || covered) continue;
        uncovered.push(`${name} --${flag}`);
      }
    }
    expect(uncovered).toEqual([]);
  });

  for (const sweepCase of sweepCases()) {
    test(sweepCase.title, async () => {
      const outcome = await usageErrorOf([sweepCase.command, ...sweepCase.args]);
      expect(outcome).toBeInstanceOf(UsageError);
      expect(namesTheMistake((outcome as UsageError).message, sweepCase)).toBe(true);
    });
  }
});
