import { describe, expect, test } from "bun:test";
import { version } from "../../package.json";
import { pingpong } from "./harness";

describe("command line", () => {
  for (const args of [["--help"], ["broker", "--help"], ["echo", "--help"], ["ping", "--help"], ["all", "--help"]]) {
    test(`${args.join(" ")} prints usage and exits 0`, async () => {
      const proc = pingpong(...args);
      expect(await proc.waitExit()).toBe(0);
      expect(proc.output()).toContain("Usage");
      expect(proc.output()).not.toMatch(/\x1b\[/); // NO_COLOR is set by the harness
    });
  }

  test("--version prints the package version (the full line: tests/e2e/release.test.ts)", async () => {
    const proc = pingpong("--version");
    expect(await proc.waitExit()).toBe(0);
    expect(proc.output().trim()).toStartWith(`mqtt-pingpong ${version} (`);
  });

  // The edge: one line, the usage hint, exit 2 (every parsing case: tests/unit/usage-errors.test.ts).
  const bad: Array<[string[], RegExp]> = [
    [["ping", "--intervall", "1s"], /unknown option "--intervall"/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ];
  for (const [args, message] of bad) {
    test(`${args.join(" ")} prints one line and exits 2`, async () => {
      const proc = pingpong(...args);
      expect(await proc.waitExit()).toBe(2);
      const lines = proc.lines.filter((line) => line.trim() !== "");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain("--help' for usage");
    });
  }
});
