/**
 * Which rungs a ladder run climbs, and by when it must be done, from the
 * environment (run.sh sets it; each variable is optional):
 *
 *   DEVICE_LADDER           full (default: MSM/NTT 2^16..2^22, proves 2^16..2^20)
 *                           or small (MSM/NTT 2^8..2^10, one prove at 2^10: the lavapipe test)
 *   DEVICE_KERNEL_LOG2N     MSM/NTT sizes, "lo-hi" or one number (overrides the ladder's)
 *   DEVICE_PROVE_LOG2N      prove sizes, likewise ("none" for no proves)
 *   DEVICE_DEADLINE_EPOCH_MS  the hard deadline (run.sh passes its own, less a margin)
 *   DEVICE_BUDGET_S         without a deadline: seconds from now (default 450)
 *   OUT                     the report's folder (default ./out)
 *   DEVICE_WORK_DIR         where circuits and keys go (default: a new folder under the OS temp dir)
 */
import { InvalidArgumentError } from '../../src/errors/index.ts';

export interface LadderConfig {
  readonly ladder: 'full' | 'small';
  readonly kernelSizes: readonly number[];
  readonly proveSizes: readonly number[];
  readonly deadline_epoch_ms: number;
  /** Kept free at the end for closing the backends and writing the report. */
  readonly reserve_ms: number;
  readonly outDir: string;
  readonly workDir: string | null;
}

const LADDERS = {
  full: { kernel: [16, 22], prove: [16, 20], reserve_ms: 15_000 },
  small: { kernel: [8, 10], prove: [10, 10], reserve_ms: 3_000 },
} as const;

const LOG2N_MIN = 5;
const LOG2N_MAX = 26;
const DEFAULT_BUDGET_S = 450;

export function ladderConfig(env: NodeJS.ProcessEnv = process.env, now_ms = Date.now()): LadderConfig {
  const name = env.DEVICE_LADDER || 'full';
  if (name !== 'full' && name !== 'small') throw new InvalidArgumentError(`DEVICE_LADDER must be 'full' or 'small', got '${name}'`);
  const ladder = LADDERS[name];
  return {
    ladder: name,
    kernelSizes: sizes(env.DEVICE_KERNEL_LOG2N, ladder.kernel, 'DEVICE_KERNEL_LOG2N'),
    proveSizes: sizes(env.DEVICE_PROVE_LOG2N, ladder.prove, 'DEVICE_PROVE_LOG2N'),
    deadline_epoch_ms: deadline(env, now_ms),
    reserve_ms: ladder.reserve_ms,
    outDir: env.OUT || 'out',
    workDir: env.DEVICE_WORK_DIR || null,
  };
}

function sizes(text: string | undefined, fallback: readonly [number, number], variable: string): number[] {
  if (text === 'none') return [];
  const [lo, hi] = text === undefined || text === '' ? fallback : parseRange(text, variable);
  return Array.from({ length: hi - lo + 1 }, (_, index) => lo + index);
}

function parseRange(text: string, variable: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const lo = Number(match?.[1]);
  const hi = Number(match?.[2] ?? match?.[1]);
  if (!match || lo < LOG2N_MIN || hi > LOG2N_MAX || lo > hi) {
    throw new InvalidArgumentError(`${variable} must be 'lo-hi', one size or 'none', with ${LOG2N_MIN} <= lo <= hi <= ${LOG2N_MAX}; got '${text}'`);
  }
  return [lo, hi];
}

function deadline(env: NodeJS.ProcessEnv, now_ms: number): number {
  if (env.DEVICE_DEADLINE_EPOCH_MS) {
    const value = Number(env.DEVICE_DEADLINE_EPOCH_MS);
    if (!Number.isSafeInteger(value))
      throw new InvalidArgumentError(`DEVICE_DEADLINE_EPOCH_MS must be an integer (ms since the epoch), got '${env.DEVICE_DEADLINE_EPOCH_MS}'`);
    return value;
  }
  const budget_s = env.DEVICE_BUDGET_S ? Number(env.DEVICE_BUDGET_S) : DEFAULT_BUDGET_S;
  if (!Number.isFinite(budget_s) || budget_s <= 0)
    throw new InvalidArgumentError(`DEVICE_BUDGET_S must be a positive number of seconds, got '${env.DEVICE_BUDGET_S}'`);
  return now_ms + budget_s * 1000;
}
