import { describe, expect, test } from "bun:test";
import { bashScript } from "../../src/core/completion/bash";
import { fishScript } from "../../src/core/completion/fish";
import { commandSpec, completionSpec } from "../../src/core/completion/spec";
import { zshScript } from "../../src/core/completion/zsh";

const tool = commandSpec("tool", "Does things. More words here.", {
  target: { type: "positional", valueHint: "one|two" },
  config: { type: "string", description: "Read settings from FILE", valueHint: "file" },
  host: { type: "string", alias: ["h", "hostname"], description: "Where [the broker] is, it's loopback" },
  verbose: { type: "boolean", alias: "v", description: "Say more" },
});

describe("completion spec from citty definitions", () => {
  test("flags keep their long name and one-letter aliases; value kinds come from valueHint", () => {
    const byName = Object.fromEntries(tool.flags.map((flag) => [flag.name, flag]));
    expect(byName.config).toMatchObject({ short: [], takesValue: true, files: true, choices: [] });
    expect(byName.host).toMatchObject({ short: ["h"], takesValue: true, files: false });
    expect(byName.verbose).toMatchObject({ short: ["v"], takesValue: false });
    expect(tool.positional).toEqual({ files: false, choices: ["one", "two"] });
    expect(tool.description).toBe("Does things");
  });

  test("a description's first clause never ends inside a parenthesis", () => {
    expect(commandSpec("pub", "Publish messages, like mosquitto_pub (its flags; -c and -s are spelled out)", {}).description).toBe("Publish messages, like mosquitto_pub");
    expect(commandSpec("x", "Run it (quickly); then more", {}).description).toBe("Run it (quickly)");
  });

  test("--help gets -h only where the command does not use -h itself; --version is everywhere", () => {
    expect(tool.flags.find((flag) => flag.name === "help")!.short).toEqual([]);
    const plain = commandSpec("plain", "", {});
    expect(plain.flags.map((flag) => [flag.name, flag.short])).toEqual([["help", ["h"]], ["version", []]]);
    expect(completionSpec("my-tool", [plain]).functionName).toBe("_my_tool");
  });

  test("quotes and brackets in descriptions cannot break the scripts", () => {
    const spec = completionSpec("tool", [tool]);
    expect(zshScript(spec)).toContain(`[Where \\[the broker\\] is, it'\\''s loopback]`);
    expect(fishScript(spec)).toContain(`-d 'Where [the broker] is, it\\'s loopback'`);
    expect(bashScript(spec)).toContain(`--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;`);
  });
});
