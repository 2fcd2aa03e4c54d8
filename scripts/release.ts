// `npm run release`: the binary for every platform we ship, plus SHA256SUMS, in dist/ (or --out DIR).
// Bun fetches each target's runtime from the npm registry once and caches it (~/.bun/install/cache).
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { applyPatches, buildCommit, compile } from "./compile";

/** Release name -> Bun target. x64 uses the baseline CPU target: it runs on CPUs without AVX2 too. */
export const RELEASE_TARGETS: Record<string, string> = {
  "linux-x64": "bun-linux-x64-baseline",
  "linux-arm64": "bun-linux-arm64",
  "linux-x64-musl": "bun-linux-x64-musl-baseline",
  "darwin-x64": "bun-darwin-x64-baseline",
  "darwin-arm64": "bun-darwin-arm64",
  "windows-x64": "bun-windows-x64-baseline",
};

export const releaseFileName = (target: string) => `mqtt-pingpong-${target}${target.startsWith("windows") ? ".exe" : ""}`;

const { values } = parseArgs({
  options: { out: { type: "string", default: "dist" }, only: { type: "string" } },
});
const outDir = values.out!;
const targets = values.only ? values.only.split(",") : Object.keys(RELEASE_TARGETS);
for (const target of targets) {
  if (!RELEASE_TARGETS[target]) {
    console.error(`unknown target "${target}"; known: ${Object.keys(RELEASE_TARGETS).join(", ")}`);
    process.exit(2);
  }
}

const started = performance.now();
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
await applyPatches();
const commit = await buildCommit();
const sums: string[] = [];
for (const target of targets) {
  const outfile = join(outDir, releaseFileName(target));
  const targetStarted = performance.now();
  await compile({ outfile, bunTarget: RELEASE_TARGETS[target], targetName: target }, commit);
  const digest = new Bun.CryptoHasher("sha256").update(readFileSync(outfile)).digest("hex");
  // The format `sha256sum -c SHA256SUMS` reads: hash, two spaces, file name.
  sums.push(`${digest}  ${basename(outfile)}`);
  const mib = (statSync(outfile).size / 2 ** 20).toFixed(1);
  console.log(`built ${outfile} (${mib} MiB) in ${Math.round(performance.now() - targetStarted)} ms`);
}
writeFileSync(join(outDir, "SHA256SUMS"), sums.join("\n") + "\n");
console.log(`release ${commit}: ${targets.length} binaries and SHA256SUMS in ${outDir}/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
