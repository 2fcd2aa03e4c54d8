// `mqtt-pingpong completion bash|zsh|fish`: every subcommand's every flag, as the citty definitions
// give them. Each shell is asked to complete for real (zsh in a pseudo-terminal, through zsh/zpty).
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { subCommands } from "../../src/commands";
import type { FlagDefinition } from "../../src/core/flags";
import { BINARY, testWithPrograms } from "./harness";

/** Every way to write every flag of a subcommand, straight from its definition, plus --help/--version. */
async function flagWordsOf(name: string): Promise<string[]> {
  const command = await subCommands[name]!();
  const args = ((typeof command.args === "function" ? await command.args() : command.args) ?? {}) as Record<string, FlagDefinition>;
  const words = ["--help", "--version"];
  for (const [key, definition] of Object.entries(args)) {
    if (definition.type === "positional") continue;
    words.push(`--${key}`, ...[definition.alias ?? []].flat().filter((alias) => alias.length === 1).map((alias) => `-${alias}`));
  }
  if (!words.includes("-h")) words.push("-h"); // cli.ts answers -h with usage unless it is the command's own flag
  return words.sort();
}

function script(shell: string): string {
  const result = Bun.spawnSync([BINARY, "completion", shell]);
  expect(result.exitCode).toBe(0);
  return result.stdout.toString();
}

/** What the bash function offers for the words typed so far (the last one is being completed). */
function bashComplete(bashScript: string, words: string[], cwd = tmpdir()): string[] {
  const file = join(mkdtempSync(join(tmpdir(), "pingpong-completion-")), "mqtt-pingpong.bash");
  writeFileSync(file, bashScript);
  const quoted = words.map((word) => `'${word}'`).join(" ");
  const run = Bun.spawnSync(["bash", "-c", `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _mqtt_pingpong; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd });
  expect(run.stderr.toString()).toBe("");
  return run.stdout.toString().split("\n").filter(Boolean).sort();
}

/**
 * What zsh offers when Tab is pressed after `line`: an interactive zsh in a pseudo-terminal (zsh's
 * own zsh/zpty) with our script on $fpath and compinit run, whose compadd also prints every match it
 * adds between two marks. Only the matches are read back, not the screen.
 */
function zshComplete(functionDir: string, line: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "pingpong-zsh-"));
  writeFileSync(
    join(dir, "capture.zsh"),
    [
      "PROMPT=''",
      `fpath=('${functionDir}' $fpath)`,
      "autoload -U compinit && compinit -u -D",
      "bindkey '^I' complete-word",
      "zstyle ':completion:*' insert-tab false",
      "mark () { print -r -- '<<MARK>>' }",
      "compprefuncs=( mark )",
      "comppostfuncs=( mark exit )",
      // compadd calls that only ask for the matches (-O, -A, -D) pass through; the others print theirs.
      "compadd () {",
      "  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd \"$@\"; return $?; fi",
      "  local -a found",
      "  builtin compadd -O found \"$@\"",
      "  (( $#found )) && print -rl -- '<<HIT>>'${^found}",
      "  builtin compadd \"$@\"",
      "}",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "drive.zsh"),
    [
      "zmodload zsh/zpty",
      "zpty z zsh -f -i",
      `zpty -w z "source '${join(dir, "capture.zsh")}'"`,
      "zpty -w -n z \"$1\"$'\\t'",
      "out=''",
      // Reads until both marks are in, giving up after 3 s with nothing new.
      "integer idle=0",
      "while (( idle++ < 60 )); do",
      "  if zpty -r -t z chunk; then out+=\"$chunk\"; idle=0; else sleep 0.05; fi",
      "  [[ $out == *'<<MARK>>'*'<<MARK>>'* ]] && break",
      "done",
      "zpty -d z",
      "print -r -- \"$out\"",
    ].join("\n"),
  );
  const run = Bun.spawnSync(["zsh", "-f", join(dir, "drive.zsh"), line], { timeout: 15_000 });
  const out = run.stdout.toString().replaceAll("\r", "");
  expect(out).toContain("<<MARK>>");
  return [...new Set(out.split("\n").filter((text) => text.startsWith("<<HIT>>")).map((text) => text.slice("<<HIT>>".length)))].sort();
}

describe("completion", () => {
  const names = Object.keys(subCommands);

  test("bash offers every subcommand, and in each every flag of its definition", async () => {
    const bash = script("bash");
    expect(bashComplete(bash, ["mqtt-pingpong", ""])).toEqual([...names, "--help", "--version", "-h", "-v"].sort());
    expect(bashComplete(bash, ["mqtt-pingpong", "b"])).toEqual(["bench", "broker"]);
    for (const name of names) {
      const offered = bashComplete(bash, ["mqtt-pingpong", name, "-"]);
      expect({ name, offered }).toEqual({ name, offered: await flagWordsOf(name) });
    }
  });

  test("bash completes file names after a file flag, fixed words where there are some, nothing after a port", () => {
    const bash = script("bash");
    const dir = mkdtempSync(join(tmpdir(), "pingpong-completion-"));
    writeFileSync(join(dir, "acl.conf"), "");
    writeFileSync(join(dir, "passwd"), "");
    mkdirSync(join(dir, "certs"));
    expect(bashComplete(bash, ["mqtt-pingpong", "broker", "--acl-file", "a"], dir)).toEqual(["acl.conf"]);
    expect(bashComplete(bash, ["mqtt-pingpong", "broker", "--port", "10", "--password-file", ""], dir)).toEqual(["acl.conf", "certs", "passwd"]);
    expect(bashComplete(bash, ["mqtt-pingpong", "broker", "--port", ""], dir)).toEqual([]);
    expect(bashComplete(bash, ["mqtt-pingpong", "completion", ""], dir)).toEqual(["bash", "fish", "zsh"]);
    expect(bashComplete(bash, ["mqtt-pingpong", "bench", "l"], dir)).toEqual(["latency"]);
    expect(bashComplete(bash, ["mqtt-pingpong", "bench", "r"], dir)).toEqual(["retained"]);
    expect(bashComplete(bash, ["mqtt-pingpong", "passwd", "-b", "p"], dir)).toEqual(["passwd"]);
    expect(bashComplete(bash, ["mqtt-pingpong", "broker", "--pass"], dir)).toEqual(["--password-file"]);
  });

  testWithPrograms(["fish"], "fish's own completer offers every subcommand and every flag", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pingpong-completion-"));
    const file = join(dir, "mqtt-pingpong.fish");
    writeFileSync(file, script("fish"));
    expect(Bun.spawnSync(["fish", "--no-execute", file]).exitCode).toBe(0);
    const complete = (line: string) => {
      const run = Bun.spawnSync(["fish", "--no-config", "-c", `source '${file}'; complete -C '${line}'`]);
      expect(run.stderr.toString()).toBe("");
      return run.stdout.toString().split("\n").filter(Boolean).map((entry) => entry.split("\t")[0]!).sort();
    };
    expect(complete("mqtt-pingpong ")).toEqual([...names].sort());
    for (const name of names) {
      // fish lists long flags for "--" and short ones for "-"; together they are every flag.
      const offered = [...complete(`mqtt-pingpong ${name} --`), ...complete(`mqtt-pingpong ${name} -`).filter((word) => /^-[^-]$/.test(word))].sort();
      expect({ name, offered: [...new Set(offered)].sort() }).toEqual({ name, offered: await flagWordsOf(name) });
    }
    expect(complete("mqtt-pingpong completion ")).toEqual(["bash", "fish", "zsh"]);
  });

  testWithPrograms(["zsh"], "the zsh script parses, registers itself sourced or from $fpath, and names every flag of every subcommand", async () => {
    const zsh = script("zsh");
    const dir = mkdtempSync(join(tmpdir(), "pingpong-completion-"));
    writeFileSync(join(dir, "_mqtt-pingpong"), zsh);
    expect(Bun.spawnSync(["zsh", "-n", join(dir, "_mqtt-pingpong")]).exitCode).toBe(0);
    const registered = (setup: string) =>
      Bun.spawnSync(["zsh", "-f", "-c", `${setup}; autoload -U compinit && compinit -u -D; ${setup ? "" : `source '${join(dir, "_mqtt-pingpong")}';`} print -r -- \${_comps[mqtt-pingpong]}`]).stdout.toString().trim();
    expect(registered("")).toBe("_mqtt_pingpong");
    expect(registered(`fpath=('${dir}' $fpath)`)).toBe("_mqtt-pingpong");
    for (const name of names) {
      const section = zsh.slice(zsh.indexOf(`        ${name})\n`), zsh.indexOf("          ;;", zsh.indexOf(`        ${name})\n`)));
      // Each _arguments spec line starts with the flag: '--name[...' or '(--name -n)'{--name,-n}'[...'.
      const named = new Set(
        section.split("\n").flatMap((line) => {
          const single = /^\s+'(--?[A-Za-z][\w-]*)\[/.exec(line);
          const both = /^\s+'\([^)]*\)'\{([^}]*)\}'\[/.exec(line);
          return single ? [single[1]!] : both ? both[1]!.split(",") : [];
        }),
      );
      const expected = await flagWordsOf(name);
      expect({ name, named: expected.filter((word) => named.has(word)) }).toEqual({ name, named: expected });
    }
  });

  testWithPrograms(["zsh"], "zsh, asked in a terminal, offers every subcommand, and in each every flag of its definition", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pingpong-completion-"));
    writeFileSync(join(dir, "_mqtt-pingpong"), script("zsh"));
    expect(zshComplete(dir, "mqtt-pingpong ")).toEqual([...names].sort());
    expect(zshComplete(dir, "mqtt-pingpong b")).toEqual(["bench", "broker"]);
    for (const name of names) {
      const offered = zshComplete(dir, `mqtt-pingpong ${name} -`);
      expect({ name, offered }).toEqual({ name, offered: await flagWordsOf(name) });
    }
  }, 120_000);

  test("an unknown or missing shell is a usage error (exit 2)", () => {
    for (const args of [["completion", "tcsh"], ["completion"]]) {
      const result = Bun.spawnSync([BINARY, ...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.toString()).toMatch(/bash, zsh or fish/);
    }
  });
});
