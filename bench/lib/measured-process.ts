/**
 * Runs one program as a child process and measures it: wall time from spawn
 * to exit, and peak resident set size.
 *
 * Peak RSS comes from polling VmHWM ("high water mark" of resident memory) in
 * /proc/<pid>/status every POLL_INTERVAL_MS while the child runs. Node offers
 * no wait4/getrusage(RUSAGE_CHILDREN), and /usr/bin/time is not on every
 * machine, so this is the portable way on Linux. VmHWM never decreases, so
 * a peak reached mid-run is kept; what the figure can miss is only growth in
 * the last poll interval before the process exits (its memory is gone by the
 * time the exit is seen). It counts the whole process, all threads included;
 * a program that forks does its work in a child, whose memory is not counted.
 * Elsewhere than Linux the peak is null.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const POLL_INTERVAL_MS = 2;
/** Enough for `zkp prove --timings`'s report (about 25 lines). */
const STDERR_TAIL_BYTES = 8000;

/** Children started by runMeasured that have not exited yet. */
const liveChildren = new Set<ChildProcess>();

/** SIGKILLs every child of runMeasured still running, so a bench stopped by a signal leaves none behind. */
export function killLiveChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
}

export interface MeasuredRun {
  readonly wall_ms: number;
  /** VmHWM at the last poll before exit, in bytes; null when /proc could not be read. */
  readonly peakRss_bytes: number | null;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last STDERR_TAIL_BYTES of the child's stderr. */
  readonly stderrTail: string;
}

/** VmHWM of a live process in bytes, or null when it has gone or /proc is absent. */
export function highWaterRss_bytes(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

export function runMeasured(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly timeout_ms?: number } = {},
): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const started_ms = performance.now();
    const child = spawn(command, [...args], { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    liveChildren.add(child);
    let peak: number | null = null;
    let stderr = '';
    const poll = (): void => {
      if (child.pid === undefined) return;
      const now = highWaterRss_bytes(child.pid);
      // A read after the process turned zombie finds no VmHWM line: keep the last figure.
      if (now !== null && (peak === null || now > peak)) peak = now;
    };
    const timer = setInterval(poll, POLL_INTERVAL_MS);
    const killer = options.timeout_ms === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeout_ms);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.on('error', (error) => {
      liveChildren.delete(child);
      clearInterval(timer);
      if (killer) clearTimeout(killer);
      reject(new Error(`cannot start ${command}: ${error.message}`));
    });
    let wall_ms = 0;
    child.on('exit', () => {
      wall_ms = performance.now() - started_ms;
      liveChildren.delete(child);
      clearInterval(timer);
      if (killer) clearTimeout(killer);
    });
    // 'close' comes after 'exit', once stderr has drained too.
    child.on('close', (exitCode, signal) => resolve({ wall_ms, peakRss_bytes: peak, exitCode, signal, stderrTail: stderr }));
  });
}
