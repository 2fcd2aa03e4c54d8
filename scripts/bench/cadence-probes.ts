// Pure logic of the cadence scenarios (scripts/bench/cadence.ts): which probes count, and CPU per
// second from /proc figures (percentiles: scripts/lib/stats.ts). No I/O here; tests/unit/cadence-probes.test.ts.

/** One probe of one stream, on the bench process's clock (ms). */
export interface TimedProbe {
  stream: string;
  sentAtMs: number;
  rttMs: number;
}

/**
 * The streams run side by side, each at its own phase; a probe that was in flight while another
 * stream's probe was (within `marginMs`) could have waited for a core, so it does not count.
 * Returns the probes that had the machine's attention to themselves.
 */
export function withoutOverlaps(probes: TimedProbe[], marginMs: number): TimedProbe[] {
  const byStart = [...probes].sort((a, b) => a.sentAtMs - b.sentAtMs);
  const overlapped = new Set<TimedProbe>();
  for (let i = 0; i < byStart.length; i++) {
    const probe = byStart[i]!;
    const end = probe.sentAtMs + probe.rttMs + marginMs;
    for (let j = i + 1; j < byStart.length && byStart[j]!.sentAtMs <= end; j++) {
      if (byStart[j]!.stream === probe.stream) continue;
      overlapped.add(probe);
      overlapped.add(byStart[j]!);
    }
  }
  return probes.filter((probe) => !overlapped.has(probe));
}

/** A process's CPU time in ms from the text of /proc/<pid>/stat (utime + stime, in clock ticks). */
export function cpuMsOfStat(stat: string, ticksPerSecond = 100): number {
  const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** CPU use as a percentage of one core between two readings. */
export function percentOfCore(cpuMsBefore: number, cpuMsAfter: number, wallMs: number): number {
  return wallMs > 0 ? ((cpuMsAfter - cpuMsBefore) / wallMs) * 100 : NaN;
}
