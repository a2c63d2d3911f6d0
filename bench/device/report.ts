/**
 * The ladder's JSON report (schema below, `schema: zkp-device-ladder/1`),
 * rewritten in full after every stage (to a temporary name, then renamed), so
 * a run killed at its deadline still leaves every finished stage on disk.
 */
import { renameSync, writeFileSync } from 'node:fs';

export const REPORT_SCHEMA = 'zkp-device-ladder/1';

/**
 * ok: ran, and every result equals the native backend's (proofs: identical
 * to the native proof for the same r and s, and verified); mismatch: ran but
 * a result differs or a proof does not verify; failed: threw (the error is in
 * `reason`); skipped: not run, `reason` says why (time, or a smaller size failed).
 */
export type StageStatus = 'ok' | 'mismatch' | 'failed' | 'skipped';

export interface StageRecord {
  /** open, compile-g1, compile-g2, msm-g1, msm-g2, ntt, prove. */
  readonly stage: string;
  readonly log2n: number | null;
  status: StageStatus;
  reason?: string;
  /** Wall time of the whole stage (inputs, runs, checks). */
  wall_ms?: number;
  /** What the budget expected it to take (null for the first size of a kind). */
  estimate_ms?: number | null;
  /** True when every result was compared with the native backend's and equal. */
  matched_native?: boolean;
  /** Stage-specific figures (see ladder-stages.ts). */
  results?: Record<string, unknown>;
}

export type RunStatus = 'running' | 'complete' | 'killed' | 'crashed';

export interface LadderReport {
  readonly schema: typeof REPORT_SCHEMA;
  status: RunStatus;
  readonly ladder: string;
  readonly seed: number;
  readonly started_at: string;
  finished_at: string | null;
  readonly deadline_at: string;
  elapsed_ms: number;
  readonly bundle: unknown;
  machine: Record<string, unknown>;
  adapter: Record<string, unknown> | null;
  baseline: Record<string, unknown> | null;
  readonly stages: StageRecord[];
  summary: Record<StageStatus, number>;
  /** Anything a reader must know (a CPU driver instead of a GPU, a crash). */
  readonly warnings: string[];
}

export class ReportWriter {
  constructor(
    readonly path: string,
    readonly report: LadderReport,
    private readonly started_ms: number,
  ) {}

  /** Rewrites the file with the summary and elapsed time brought up to date. */
  write(): void {
    const summary: Record<StageStatus, number> = { ok: 0, mismatch: 0, failed: 0, skipped: 0 };
    for (const stage of this.report.stages) summary[stage.status]++;
    this.report.summary = summary;
    this.report.elapsed_ms = Math.round(performance.now() - this.started_ms);
    const partial = `${this.path}.partial`;
    writeFileSync(partial, `${JSON.stringify(this.report, null, 2)}\n`);
    renameSync(partial, this.path);
  }

  finish(status: RunStatus): void {
    this.report.status = status;
    this.report.finished_at = new Date().toISOString();
    this.write();
  }
}

/** True when no stage failed or mismatched (skips are allowed). */
export function reportPassed(report: LadderReport): boolean {
  return report.stages.every((stage) => stage.status === 'ok' || stage.status === 'skipped');
}
