// `npm run release`: six binaries and SHA256SUMS, checked by format and architecture (file(1)), by
// checksum (sha256sum -c), and by running them: the x64 one here, the arm64 one under qemu-user.
// The release is built once for this file into a temporary directory (a few seconds once Bun has
// cached the targets' runtimes; see docs/operations.md), so the test checks the script itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BINARY, freePort, IN_CI, Proc, testWithPrograms } from "./harness";

const root = resolve(import.meta.dir, "../..");
const { version } = await Bun.file(join(root, "package.json")).json();
const commit = Bun.spawnSync(["git", "rev-parse", "--short=7", "HEAD"], { cwd: root }).stdout.toString().trim();

/** What file(1) must say of each release file. */
const EXPECTED_FORMAT: Record<string, RegExp> = {
  "mqtt-pingpong-linux-x64": /^ELF 64-bit LSB .*x86-64.*interpreter \/lib64\/ld-linux-x86-64\.so\.2/,
  "mqtt-pingpong-linux-arm64": /^ELF 64-bit LSB .*ARM aarch64.*interpreter \/lib\/ld-linux-aarch64\.so\.1/,
  "mqtt-pingpong-linux-x64-musl": /^ELF 64-bit LSB .*x86-64.*interpreter \/lib\/ld-musl-x86_64\.so\.1/,
  "mqtt-pingpong-darwin-x64": /^Mach-O 64-bit x86_64 executable/,
  "mqtt-pingpong-darwin-arm64": /^Mach-O 64-bit arm64 executable/,
  "mqtt-pingpong-windows-x64.exe": /^PE32\+ executable \(console\) x86-64, for MS Windows/,
};

const ARM64_SYSROOT = "/usr/aarch64-linux-gnu"; // Debian's libc6-arm64-cross: the arm64 loader and libc
let dist = "";

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), "mqtt-pingpong-release-"));
  const release = Bun.spawn([process.execPath, "scripts/release.ts", "--out", dist], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [status, out, err] = await Promise.all([release.exited, new Response(release.stdout).text(), new Response(release.stderr).text()]);
  if (status !== 0) throw new Error(`scripts/release.ts exited ${status}\n${out}${err}`);
}, 300_000);

afterAll(() => rmSync(dist, { recursive: true, force: true }));

/** broker, echo and ping --count 3 from one binary (run through `runner`, e.g. qemu), as three processes. */
async function roundTrip(command: string[]): Promise<Proc> {
  const port = String(await freePort());
  const broker = new Proc([...command, "broker", "--port", port]);
  await broker.waitFor(/Broker listening on/, 30_000);
  const echo = new Proc([...command, "echo", "--port", port]);
  await echo.waitFor(/Subscribed to \/ping/, 30_000);
  const ping = new Proc([...command, "ping", "--port", port, "--count", "3", "--interval", "100ms"]);
  expect(await ping.waitExit(60_000)).toBe(0);
  expect(ping.output()).toContain("3 probes transmitted, 3 received");
  return ping;
}

describe("npm run release", () => {
  test("writes the six binaries and SHA256SUMS, nothing else", () => {
    expect(readdirSync(dist).sort()).toEqual([...Object.keys(EXPECTED_FORMAT), "SHA256SUMS"].sort());
  });

  testWithPrograms(["file"], "each binary has the format and architecture its name says (file)", async () => {
    for (const [name, format] of Object.entries(EXPECTED_FORMAT)) {
      const described = Bun.spawnSync(["file", "-b", join(dist, name)]).stdout.toString().trim();
      expect(`${name}: ${described}`).toMatch(new RegExp(`^${name.replace(/[.+]/g, "\\$&")}: ${format.source.slice(1)}`));
    }
  }, 60_000);

  testWithPrograms(["sha256sum"], "SHA256SUMS lists every binary and verifies with sha256sum -c", async () => {
    const listed = (await Bun.file(join(dist, "SHA256SUMS")).text()).trim().split("\n").map((line) => line.split("  ")[1]);
    expect(listed.sort()).toEqual(Object.keys(EXPECTED_FORMAT).sort());
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: dist });
    expect(check.stdout.toString().trim().split("\n").sort()).toEqual(Object.keys(EXPECTED_FORMAT).map((name) => `${name}: OK`).sort());
    expect(check.exitCode).toBe(0);
  }, 120_000);

  const onLinuxX64 = process.platform === "linux" && process.arch === "x64";
  if (!onLinuxX64) console.warn(`SKIPPED the linux-x64 release binary's run: this machine is ${process.platform}-${process.arch}`);
  test.skipIf(!onLinuxX64)("the linux-x64 binary says its version and runs broker + echo + ping --count 3", async () => {
    const binary = join(dist, "mqtt-pingpong-linux-x64");
    const shown = Bun.spawnSync([binary, "--version"]).stdout.toString().trim();
    expect(shown).toMatch(new RegExp(`^mqtt-pingpong ${version} \\(${commit}(-dirty)?, linux-x64\\)$`));
    await roundTrip([binary]);
  }, 120_000);

  testWithPrograms(["qemu-aarch64-static"], "the linux-arm64 binary says its version and runs broker + echo + ping --count 3 under qemu", async () => {
    if (!existsSync(join(ARM64_SYSROOT, "lib/ld-linux-aarch64.so.1"))) {
      if (IN_CI) throw new Error(`${ARM64_SYSROOT} has no arm64 loader; .ci/run must install libc6-arm64-cross`);
      console.warn(`SKIPPED the arm64 run: ${ARM64_SYSROOT} missing (apt-get install libc6-arm64-cross)`);
      return;
    }
    const qemu = ["qemu-aarch64-static", "-L", ARM64_SYSROOT, join(dist, "mqtt-pingpong-linux-arm64")];
    const shown = JSON.parse(Bun.spawnSync([...qemu, "--version", "--json"]).stdout.toString());
    expect(shown).toEqual({ name: "mqtt-pingpong", version, commit: expect.stringMatching(new RegExp(`^${commit}(-dirty)?$`)), target: "linux-arm64" });
    await roundTrip(qemu);
  }, 180_000);
});

describe("--version", () => {
  const run = (...args: string[]) => Bun.spawnSync([BINARY, ...args]);
  const host = `${process.platform}-${process.arch}`;
  const line = new RegExp(`^mqtt-pingpong ${version.replaceAll(".", "\\.")} \\([0-9a-f]{7}(-dirty)?, ${host}\\)\\n$`);

  test("prints the name, version, commit and target, before or after a subcommand", () => {
    for (const args of [["--version"], ["-v"], ["broker", "--version"], ["ping", "--port", "1", "--version"]]) {
      const result = run(...args);
      expect({ args, out: result.stdout.toString(), status: result.exitCode }).toEqual({ args, out: expect.stringMatching(line), status: 0 });
    }
  });

  test("--json prints one JSON object with the same fields", () => {
    for (const args of [["--version", "--json"], ["--json", "--version"], ["-v", "--json"], ["sub", "--json", "--version"]]) {
      const shown = JSON.parse(run(...args).stdout.toString());
      expect(shown).toEqual({ name: "mqtt-pingpong", version, commit: expect.stringMatching(/^[0-9a-f]{7}(-dirty)?$/), target: host });
    }
  });
});
