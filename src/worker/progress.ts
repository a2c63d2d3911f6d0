/**
 * Job progress: the stages a job goes through, the share of the whole job
 * each one takes (rough, for a progress bar; the MSMs and the NTTs dominate
 * a large circuit), and a throttle so that at most one ReportProgress per
 * interval leaves the worker (the latest state wins; nothing is queued).
 */
import type { ProgressMessage } from '../api/types.ts';
import type { ProveStage } from '../prover/groth16.ts';
import { assert } from '../errors/index.ts';

export type JobStage = 'fetch' | 'witness' | 'buildABC' | 'ntt' | 'load' | 'msm-A' | 'msm-B1' | 'msm-B2' | 'msm-C' | 'msm-H' | 'assemble' | 'verify';

/** In order; weights sum to 1. */
export const JOB_STAGES: readonly { readonly stage: JobStage; readonly weight: number }[] = [
  { stage: 'fetch', weight: 0.02 },
  { stage: 'witness', weight: 0.1 },
  { stage: 'buildABC', weight: 0.05 },
  { stage: 'ntt', weight: 0.15 },
  { stage: 'load', weight: 0.03 },
  { stage: 'msm-A', weight: 0.1 },
  { stage: 'msm-B1', weight: 0.1 },
  { stage: 'msm-B2', weight: 0.2 },
  { stage: 'msm-C', weight: 0.1 },
  { stage: 'msm-H', weight: 0.1 },
  { stage: 'assemble', weight: 0.01 },
  { stage: 'verify', weight: 0.04 },
];

/** The prover's stage names (src/prover/groth16.ts) as job stages. */
export const JOB_STAGE_OF: Readonly<Record<ProveStage, JobStage>> = {
  buildABC: 'buildABC',
  computeH: 'ntt',
  loadCircuit: 'load',
  msmA: 'msm-A',
  msmB1: 'msm-B1',
  msmB2: 'msm-B2',
  msmC: 'msm-C',
  msmH: 'msm-H',
  assemble: 'assemble',
};

/** Progress at the start of `stage`: done = stages before it, fraction = their weight. */
export function progressAtStart(stage: JobStage): ProgressMessage {
  const index = JOB_STAGES.findIndex((entry) => entry.stage === stage);
  assert(index >= 0, `known job stage ${stage}`);
  let fraction = 0;
  for (let at = 0; at < index; at++) fraction += JOB_STAGES[at]!.weight;
  return { stage, done: index, total: JOB_STAGES.length, fraction: Math.min(1, Math.round(fraction * 1000) / 1000) };
}

/**
 * Sends at most one report per `interval_ms`: the first at once, later ones
 * coalesced (the latest wins) and sent when the interval has passed and the
 * previous send finished. Send failures are the sender's to log; progress is
 * advisory and never retried.
 */
export class ProgressThrottle<P> {
  readonly #send: (progress: P) => Promise<void>;
  readonly #interval_ms: number;
  readonly #now: () => number;
  #lastSent_ms = Number.NEGATIVE_INFINITY;
  #pending: P | null = null;
  #timer: NodeJS.Timeout | null = null;
  #inFlight = false;
  #stopped = false;
  sent = 0;

  constructor(send: (progress: P) => Promise<void>, interval_ms: number, now: () => number = () => performance.now()) {
    assert(interval_ms > 0, 'progress interval is positive');
    this.#send = send;
    this.#interval_ms = interval_ms;
    this.#now = now;
  }

  push(progress: P): void {
    if (this.#stopped) return;
    this.#pending = progress;
    this.#schedule();
  }

  /** No more reports: a pending one is dropped (the job's result follows). */
  stop(): void {
    this.#stopped = true;
    this.#pending = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#stopped || this.#pending === null || this.#timer !== null || this.#inFlight) return;
    const wait_ms = this.#lastSent_ms + this.#interval_ms - this.#now();
    if (wait_ms > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#schedule();
      }, wait_ms);
      return;
    }
    const progress = this.#pending;
    this.#pending = null;
    this.#lastSent_ms = this.#now();
    this.#inFlight = true;
    this.sent++;
    void this.#send(progress)
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = false;
        this.#schedule();
      });
  }
}
