/**
 * Optional timing trace of one node, for finding where slow commits spend
 * their time. Off unless RAFT_TRACE_DIR names a directory; then each node
 * writes `<dir>/<node id>.trace.jsonl` when it closes: one line per event,
 * `[wall_ms, event, a, b]`, with wall_ms = performance.timeOrigin + now(), so
 * the lines of several processes on one host can be merged on one time axis.
 *
 * Events: propose (index), ready (first new entry, last new entry),
 * persisted (last entry, fdatasync+write ms), committed (last applied index),
 * recv (messages, first message type code), sent (messages), gc (pause ms, kind),
 * tick-late (ms since the previous tick, expected tick ms: an event-loop stall),
 * snapshot (index, ms the install took on the event loop).
 *
 * Recording is an array push of numbers; nothing is written while running.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';

export type TraceEvent = 'propose' | 'ready' | 'persisted' | 'committed' | 'recv' | 'sent' | 'gc' | 'tick-late' | 'snapshot';

export class LatencyTrace {
  private readonly records: (number | string)[] = [];
  private readonly gcObserver: PerformanceObserver;
  private lastTick_ms = 0;

  private constructor(private readonly file: string) {
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as unknown as { detail?: { kind?: number } }).detail;
        this.records.push(performance.timeOrigin + entry.startTime, 'gc', entry.duration, detail?.kind ?? 0);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** A trace writing to RAFT_TRACE_DIR, or null when that is not set. */
  static fromEnv(nodeId: string): LatencyTrace | null {
    const dir = process.env.RAFT_TRACE_DIR;
    if (dir === undefined || dir.length === 0) return null;
    fs.mkdirSync(dir, { recursive: true });
    return new LatencyTrace(path.join(dir, `${nodeId}.trace.jsonl`));
  }

  mark(event: TraceEvent, a: number, b: number | string = 0): void {
    this.records.push(performance.timeOrigin + performance.now(), event, a, b);
  }

  /** Called on every tick; records the gap when the event loop delivered it late. */
  tick(expected_ms: number): void {
    const now_ms = performance.now();
    const gap_ms = now_ms - this.lastTick_ms;
    if (this.lastTick_ms > 0 && gap_ms > 2 * expected_ms) this.records.push(performance.timeOrigin + now_ms, 'tick-late', gap_ms, expected_ms);
    this.lastTick_ms = now_ms;
  }

  write(): void {
    this.gcObserver.disconnect();
    const lines: string[] = [];
    for (let i = 0; i < this.records.length; i += 4) lines.push(JSON.stringify(this.records.slice(i, i + 4)));
    fs.writeFileSync(this.file, `${lines.join('\n')}\n`);
  }
}
