// Builds the single executable ./mqtt-pingpong from src/cli.ts with `bun build --compile`.
import { applyPatches, buildCommit, compile, hostTargetName } from "./compile";

const outfile = process.argv[2] ?? "./mqtt-pingpong";
const started = performance.now();
await applyPatches();
try {
  await compile({ outfile, targetName: hostTargetName(), sourcemap: true }, await buildCommit());
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
console.log(`built ${outfile} in ${Math.round(performance.now() - started)} ms`);
