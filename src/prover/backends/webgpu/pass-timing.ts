/**
 * Per-pass device timings for benchmarks and the device probe. Two methods:
 * - 'timestamp': a timestamp query at the start and end of every compute
 *   pass (adapters with 'timestamp-query' that record them); the passes
 *   still go out in one command buffer, so the times are pure device time.
 * - 'submission': every labelled pass is submitted alone and timed from its
 *   submission to onSubmittedWorkDone (for adapters without usable
 *   timestamps, e.g. lavapipe through Dawn, which records zeros). These
 *   times include the driver's submission and wake-up latency per pass.
 * Labels are '<kernel entry>' or '<kernel entry> <detail>' (a level, a
 * stage); totals per entry add up the details.
 */
import { assert } from '../../../errors/index.ts';

export type TimingMethod = 'timestamp' | 'submission';

export interface PassTime {
  readonly label: string;
  /** Null where the timestamps of this pass were not recorded. */
  readonly ms: number | null;
}

export interface PassTiming {
  readonly method: TimingMethod;
  readonly passes: readonly PassTime[];
  /** Sum of the recorded passes, null when none was recorded. */
  readonly total_ms: number | null;
  /** Passes past the query set's capacity (timestamp method), not timed. */
  readonly untimed_passes: number;
}

/** WebGPU caps a query set at 4096 queries: two per pass. */
export const MAX_TIMED_PASSES = 2048;

/** The kernel entry of a pass label ('msm_accumulate_jac L2' -> 'msm_accumulate_jac'). */
export function passEntry(label: string): string {
  const space = label.indexOf(' ');
  return space < 0 ? label : label.slice(0, space);
}

/** Milliseconds and pass count per kernel entry, in first-seen order. */
export function passTotals(timing: PassTiming): Array<{ entry: string; ms: number | null; passes: number }> {
  const totals = new Map<string, { entry: string; ms: number | null; passes: number }>();
  for (const p of timing.passes) {
    const entry = passEntry(p.label);
    const row = totals.get(entry) ?? { entry, ms: 0, passes: 0 };
    row.passes += 1;
    row.ms = row.ms === null || p.ms === null ? null : row.ms + p.ms;
    totals.set(entry, row);
  }
  return [...totals.values()];
}

/** The state of one timing window (GpuDevice.startPassTiming .. stopPassTiming). */
export class PassTimer {
  readonly method: TimingMethod;
  private readonly labels: string[] = [];
  private readonly submissionMs: number[] = [];
  private untimed = 0;
  private readonly querySet: GPUQuerySet | null;
  private readonly capacity: number;

  constructor(device: GPUDevice, method: TimingMethod, maxPasses = MAX_TIMED_PASSES) {
    this.method = method;
    this.capacity = Math.min(maxPasses, MAX_TIMED_PASSES);
    this.querySet = method === 'timestamp' ? device.createQuerySet({ type: 'timestamp', count: 2 * this.capacity }) : null;
  }

  get timedPasses(): number {
    return this.labels.length;
  }

  /** Timestamp method: the pass descriptor that records this pass, or undefined once the set is full. */
  timestampWrites(label: string): GPUComputePassTimestampWrites | undefined {
    assert(this.querySet !== null, 'timestampWrites needs the timestamp method');
    if (this.labels.length >= this.capacity) {
      this.untimed += 1;
      return undefined;
    }
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Submission method: one pass's wall time. */
  recordSubmission(label: string, ms: number): void {
    assert(this.method === 'submission', 'recordSubmission needs the submission method');
    this.labels.push(label);
    this.submissionMs.push(ms);
  }

  /** The query set and the number of queries to resolve (timestamp method). */
  queries(): { querySet: GPUQuerySet; count: number } | null {
    return this.querySet === null || this.labels.length === 0 ? null : { querySet: this.querySet, count: 2 * this.labels.length };
  }

  /** Builds the result; `ticks` are the resolved timestamps in ns (timestamp method). */
  result(ticks: BigUint64Array | null): PassTiming {
    let passes: PassTime[];
    if (this.method === 'submission') {
      passes = this.labels.map((label, i) => ({ label, ms: this.submissionMs[i]! }));
    } else {
      // A pass whose end timestamp is 0 was not recorded (lavapipe through Dawn writes zeros): unknown, not 0 ms.
      passes = this.labels.map((label, i) => {
        const begin = ticks?.[2 * i];
        const end = ticks?.[2 * i + 1];
        return { label, ms: begin === undefined || end === undefined || end === 0n ? null : Number(end - begin) / 1e6 };
      });
    }
    const recorded = passes.filter((p) => p.ms !== null);
    const total_ms = recorded.length === 0 ? null : recorded.reduce((s, p) => s + p.ms!, 0);
    return { method: this.method, passes, total_ms, untimed_passes: this.untimed };
  }

  destroy(): void {
    this.querySet?.destroy();
  }
}
