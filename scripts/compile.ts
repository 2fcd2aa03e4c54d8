// One `bun build --compile` of src/cli.ts, shared by the local build (build-binary.ts) and the
// release (release.ts), so every binary is built with the same options.
import { $ } from "bun";
import { version } from "../package.json";
import { debugShim } from "./shims/debug-plugin";

export interface CompileRequest {
  outfile: string;
  /** A Bun compile target (bun-linux-arm64, ...); undefined: this machine. */
  bunTarget?: string;
  /** The platform name `--version` shows, e.g. linux-arm64. */
  targetName: string;
  /** A map file beside the binary (the local build; releases ship without one). */
  sourcemap?: boolean;
}

/** Applies the patch series, so the bundled aedes is always the patched one (npm does not). */
export async function applyPatches(): Promise<void> {
  await $`${process.execPath} scripts/apply-patches.mjs`;
}

/** The short commit id, with "-dirty" when the work tree has uncommitted changes; "unknown" outside git. */
export async function buildCommit(): Promise<string> {
  const head = await $`git rev-parse --short=7 HEAD`.nothrow().quiet();
  if (head.exitCode !== 0) return "unknown";
  const changes = await $`git status --porcelain --untracked-files=no`.nothrow().quiet();
  return head.text().trim() + (changes.text().trim() ? "-dirty" : "");
}

/** The name of this machine's platform as the release names it (linux-x64, darwin-arm64, ...). */
export function hostTargetName(): string {
  return `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
}

export async function compile(request: CompileRequest, commit: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: ["src/cli.ts"],
    compile: request.bunTarget ? { outfile: request.outfile, target: request.bunTarget as Bun.Build.CompileTarget } : { outfile: request.outfile },
    minify: true,
    sourcemap: request.sourcemap ? "linked" : "none",
    // Precompiled to JSC bytecode: parsing the bundle was most of the cold start.
    bytecode: true,
    format: "esm",
    plugins: [debugShim],
    // Read by src/build-info.ts.
    define: {
      MQTT_PINGPONG_VERSION: JSON.stringify(version),
      MQTT_PINGPONG_COMMIT: JSON.stringify(commit),
      MQTT_PINGPONG_TARGET: JSON.stringify(request.targetName),
    },
  });
  if (!result.success) {
    for (const message of result.logs) console.error(message);
    throw new Error(`building ${request.outfile} failed`);
  }
}
