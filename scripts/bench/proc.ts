/**
 * What the benches read of a process from Linux's /proc: CPU time, resident memory and its peak.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux for every common architecture). */
const CLOCK_TICKS = 100;

/**
 * CPU time a process has used so far (user and system), in ms: all its threads, or the one thread given (a
 * process's main thread, its event loop's, has the process's id).
 */
export function cpuMs(pid: number, thread?: number): number {
  const file = thread === undefined ? `/proc/${String(pid)}/stat` : `/proc/${String(pid)}/task/${String(thread)}/stat`;
  const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return (ticks * 1000) / CLOCK_TICKS;
}

/** A process's resident memory now (VmRSS) or at its peak (VmHWM), in MB. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? '0') / 1024;
}

/**
 * Resets a process's peak resident memory (VmHWM) to its resident memory now, so that the next reading of the peak
 * is the peak since this call (Linux 4.0 and later; the process must be ours).
 * @returns false when the system does not allow it (the peak read next then covers the process's whole life).
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
