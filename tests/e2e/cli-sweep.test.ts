// The binary's edge for a wrong flag value: one `error:` line naming it, and exit status 2. One case
// per subcommand here; every flag's cases run in-process in tests/unit/flag-sweep.test.ts.
import { describe, expect, test } from "bun:test";
import { subCommands } from "../../src/commands";
import { namesTheMistake, sweepCases, type SweepCase } from "../support/flag-sweep";
import { pingpong } from "./harness";

const firstPerCommand = new Map<string, SweepCase>();
for (const sweepCase of sweepCases()) if (!firstPerCommand.has(sweepCase.command)) firstPerCommand.set(sweepCase.command, sweepCase);

describe("a wrong flag value: one line, exit 2", () => {
  test("every subcommand with a flag that takes a value has a case", async () => {
    const withValues: string[] = [];
    for (const [name, load] of Object.entries(subCommands)) {
      const command = await load();
      const args = (typeof command.args === "function" ? await command.args() : command.args) as Record<string, { type?: string }>;
      if (Object.values(args ?? {}).some((def) => def.type === "string")) withValues.push(name);
    }
    expect([...firstPerCommand.keys()].sort()).toEqual(withValues.sort());
  });

  for (const sweepCase of firstPerCommand.values()) {
    test(sweepCase.title, async () => {
      const proc = pingpong(sweepCase.command, ...sweepCase.args);
      const code = await proc.waitExit(15_000);
      const lines = proc.lines.filter((line) => line.trim() !== "");
      expect({ code, lines: lines.length }).toEqual({ code: 2, lines: 1 });
      expect(lines[0]).toMatch(/^error: /);
      expect(namesTheMistake(lines[0]!, sweepCase)).toBe(true);
    });
  }
});
