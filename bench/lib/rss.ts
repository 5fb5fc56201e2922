import { readFileSync } from 'node:fs';

/** A byte count in MiB, for the memory tables. */
export const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Resident set (VmRSS) of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The summed resident sets of several processes (NaN once any of them is gone). */
export const rssOfAll = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + rssOf(pid), 0);

/** Samples the RSS of some processes every 50 ms: the value at the start, the peak, the value at the end. */
export function sampleRss(pids: Record<string, number>) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssOf(pid)]));
  const peak = { ...start };
  const timer = setInterval(() => {
    for (const [k, pid] of Object.entries(pids)) peak[k] = Math.max(peak[k]!, rssOf(pid));
  }, 50);
  return () => {
    clearInterval(timer);
    const end = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssOf(pid)]));
    for (const k of Object.keys(pids)) peak[k] = Math.max(peak[k]!, end[k]!);
    return { start, peak, end };
  };
}
