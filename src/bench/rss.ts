import { readFileSync } from "node:fs";

/** A process's resident set size (VmRSS) from /proc, in KiB; undefined where there is none (not Linux, gone). */
export function rssKiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The same in MB; NaN where there is none. */
export function rssMb(pid: number): number {
  return (rssKiB(pid) ?? NaN) / 1024;
}
