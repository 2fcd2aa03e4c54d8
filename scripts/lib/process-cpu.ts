// A running process's CPU time, for the benchmark scripts (the parsing: scripts/bench/cadence-probes.ts).
import { readFileSync } from "node:fs";
import { cpuMsOfStat } from "../bench/cadence-probes";

/** utime + stime of process `pid` in ms, from /proc; NaN when it cannot be read (the process is gone). */
export function cpuMsOfPid(pid: number): number {
  try {
    return cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return NaN;
  }
}
