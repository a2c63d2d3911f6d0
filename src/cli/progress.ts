/**
 * Progress of a job being waited on, on stderr: on a terminal one line
 * updated in place (state, stage, percentage); otherwise one line per change
 * of state or stage (never one per percentage step, so logs stay short).
 */
import type { JobMessage } from '../api/types.ts';

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export class JobProgress {
  readonly #sink: ProgressSink;
  readonly #tty: boolean;
  #lastStep = '';
  #lineOpen = false;

  constructor(sink: ProgressSink) {
    this.#sink = sink;
    this.#tty = sink.isTTY === true;
  }

  /** Shows one job event. */
  update(job: JobMessage): void {
    const step = stepOf(job);
    if (this.#tty) {
      this.#sink.write(`\r\x1b[2Kzkp: ${describe(job)}`);
      this.#lineOpen = true;
      return;
    }
    if (step === this.#lastStep) return;
    this.#lastStep = step;
    this.#sink.write(`zkp: ${describe(job)}\n`);
  }

  /** Ends the updating line (call before printing anything else). */
  finish(): void {
    if (this.#lineOpen) this.#sink.write('\n');
    this.#lineOpen = false;
  }
}

/** What counts as a change for line-per-change output. */
function stepOf(job: JobMessage): string {
  return `${job.state}|${job.attempts}|${job.worker_id}|${job.progress?.stage ?? ''}`;
}

/** "job-7 RUNNING on w1 (attempt 1): msm-A 42%". */
export function describe(job: JobMessage): string {
  const where = job.worker_id !== '' && (job.state === 'ASSIGNED' || job.state === 'RUNNING') ? ` on ${job.worker_id}` : '';
  const attempt = job.attempts > 1 ? ` (attempt ${job.attempts})` : '';
  const progress = job.progress;
  const stage = job.state === 'RUNNING' && progress !== null && progress.stage !== '' ? `: ${progress.stage} ${Math.floor(progress.fraction * 100)}%` : '';
  return `${job.id} ${job.state}${where}${attempt}${stage}`;
}
