/**
 * The ladder's time budget: a hard deadline (wall clock, epoch ms) and, per
 * kind of stage, the last measured duration, from which the next size's is
 * estimated (each doubling of n costs `growth_per_doubling` times as much;
 * MSM and NTT grow a little faster than n, so 2.2 rather than 2). A stage
 * whose estimate does not fit in what is left, less a reserve for writing
 * the report, is skipped with the reason, never started to overrun.
 */

export interface Admission {
  readonly run: boolean;
  /** The estimate it was admitted or refused on; null for the first size of a kind. */
  readonly estimate_ms: number | null;
  /** Why not, when run is false. */
  readonly reason?: string;
}

export class Budget {
  private readonly measured = new Map<string, { log2n: number; duration_ms: number }>();
  private readonly refused = new Map<string, number>();

  constructor(
    readonly deadline_epoch_ms: number,
    readonly reserve_ms: number,
    readonly growth_per_doubling = 2.2,
    private readonly now_ms: () => number = Date.now,
  ) {}

  remaining_ms(): number {
    return this.deadline_epoch_ms - this.now_ms();
  }

  /** Estimated duration of `kind` at 2^log2n from its last measurement, or null when none was made. */
  estimate_ms(kind: string, log2n: number): number | null {
    const last = this.measured.get(kind);
    if (last === undefined) return null;
    return last.duration_ms * this.growth_per_doubling ** (log2n - last.log2n);
  }

  admit(kind: string, log2n: number): Admission {
    const estimate_ms = this.estimate_ms(kind, log2n);
    const refusedAt = this.refused.get(kind);
    if (refusedAt !== undefined && refusedAt <= log2n) {
      return { run: false, estimate_ms, reason: `${kind} at 2^${refusedAt} was already skipped for time` };
    }
    const available_ms = this.remaining_ms() - this.reserve_ms;
    const needed_ms = estimate_ms ?? 0;
    if (available_ms <= 0 || needed_ms > available_ms) {
      this.refused.set(kind, log2n);
      const estimate = estimate_ms === null ? 'no estimate yet' : `estimated ${seconds(estimate_ms)} from the last size`;
      return { run: false, estimate_ms, reason: `out of time: ${estimate}, ${seconds(Math.max(0, available_ms))} left before the deadline less the reserve` };
    }
    return { run: true, estimate_ms };
  }

  record(kind: string, log2n: number, duration_ms: number): void {
    this.measured.set(kind, { log2n, duration_ms });
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
