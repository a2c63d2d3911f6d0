/**
 * Where a process's time goes: named, non-overlapping spans on one clock
 * (performance.now(), milliseconds since the process's time origin, which
 * Node takes as it starts), and what no span covers. Used by `zkp prove
 * --timings` and `zkp fullprove --timings` to account for the whole run:
 * node's own start-up up to its bootstrap, module loading, reading and
 * parsing the files, each proving stage, verifying and writing.
 *
 * Spans are measured independently (start and end of each), so the gaps
 * between them are real time that nothing named, reported as 'unaccounted';
 * it is the check that the names cover the run. Each span also records the
 * resident set size and its high-water mark as it ends, so a memory peak can
 * be placed too.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface StageSpan {
  readonly name: string;
  readonly start_ms: number;
  readonly end_ms: number;
  /** process.memoryUsage.rss() as the span ended. */
  readonly rss_bytes: number;
  /** VmHWM (peak resident set so far) as the span ended; null where /proc is absent. */
  readonly peak_rss_bytes: number | null;
}

export interface TimingsReport {
  readonly spans: readonly StageSpan[];
  /** Sum of the spans. */
  readonly accounted_ms: number;
  /** From the time origin to the report. */
  readonly total_ms: number;
  /** total_ms - accounted_ms: time inside the run that no span names. */
  readonly unaccounted_ms: number;
  readonly peak_rss_bytes: number | null;
}

/** VmHWM of this process in bytes, or null where /proc/self/status is absent. */
export function peakRss_bytes(): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export class StageTimings {
  private readonly spans: StageSpan[] = [];
  private readonly open = new Map<string, number>();

  /**
   * Node's own start-up, from the time origin to the end of its bootstrap
   * (performance.nodeTiming.bootstrapComplete), as the first span.
   */
  static fromProcessStart(): StageTimings {
    const timings = new StageTimings();
    timings.add('node start-up', 0, performance.nodeTiming.bootstrapComplete);
    return timings;
  }

  /** Records a span that ran from start_ms to end_ms (performance.now() clock). */
  add(name: string, start_ms: number, end_ms: number): void {
    this.spans.push({ name, start_ms, end_ms: Math.max(start_ms, end_ms), rss_bytes: process.memoryUsage.rss(), peak_rss_bytes: peakRss_bytes() });
  }

  /** Marks the start of a span ended by end(name), at `at_ms` (default now); for stages reported as start/end events. */
  start(name: string, at_ms: number = performance.now()): void {
    this.open.set(name, at_ms);
  }

  end(name: string, at_ms: number = performance.now()): void {
    const start_ms = this.open.get(name);
    if (start_ms === undefined) return;
    this.open.delete(name);
    this.add(name, start_ms, at_ms);
  }

  /** Times `body` as the span `name` (recorded even when it throws). */
  async time<T>(name: string, body: () => Promise<T> | T): Promise<T> {
    const start_ms = performance.now();
    try {
      return await body();
    } finally {
      this.add(name, start_ms, performance.now());
    }
  }

  report(end_ms: number = performance.now()): TimingsReport {
    const spans = [...this.spans].sort((left, right) => left.start_ms - right.start_ms);
    const accounted_ms = spans.reduce((sum, span) => sum + (span.end_ms - span.start_ms), 0);
    return { spans, accounted_ms, total_ms: end_ms, unaccounted_ms: end_ms - accounted_ms, peak_rss_bytes: peakRss_bytes() };
  }
}

const MB = 1024 * 1024;

/** The report as lines `timing <stage> <ms> ms  from <ms>  rss <MB> MB  peak <MB> MB`, then unaccounted and total (parsed by bench:prover). */
export function formatTimings(report: TimingsReport): string[] {
  const width = Math.max(12, ...report.spans.map((span) => span.name.length));
  const mb = (bytes: number | null) => (bytes === null ? '?' : (bytes / MB).toFixed(1));
  const lines = report.spans.map(
    (span) =>
      `timing ${span.name.padEnd(width)} ${(span.end_ms - span.start_ms).toFixed(1).padStart(8)} ms  from ${span.start_ms.toFixed(1).padStart(7)}  rss ${mb(span.rss_bytes)} MB  peak ${mb(span.peak_rss_bytes)} MB`,
  );
  lines.push(`timing ${'unaccounted'.padEnd(width)} ${report.unaccounted_ms.toFixed(1).padStart(8)} ms`);
  lines.push(`timing ${'total'.padEnd(width)} ${report.total_ms.toFixed(1).padStart(8)} ms  peak ${mb(report.peak_rss_bytes)} MB`);
  return lines;
}

/** Parses formatTimings' lines out of a process's stderr: stage name to milliseconds, 'unaccounted' and 'total' included. */
export function parseTimings(text: string): Map<string, number> {
  const stages = new Map<string, number>();
  for (const match of text.matchAll(/^(?:zkp: )?timing (.+?)\s+(-?\d+(?:\.\d+)?) ms\b/gm)) stages.set(match[1]!, Number(match[2]));
  return stages;
}
