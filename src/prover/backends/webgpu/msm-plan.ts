/** The MSM's shape constants and per-size choices, shared by the engine (msm.ts) and its scratch arena (msm-arena.ts). */
export const MSM_WORKGROUP_SIZE = 64;
/** Entries per accumulation thread: bounds each thread's work (watchdog) and sets the level shrink factor K/2. */
export const ENTRIES_PER_THREAD = 32;

/** Window width for a chunk of n points: wider windows for more points, capped by the 16-bit digit codes. */
export function windowBits(n: number): number {
  return Math.max(4, Math.min(16, Math.ceil(Math.log2(Math.max(n, 2))) - 3));
}

/**
 * Elements per segment of each bucket-reduction level (msm_reduce_level): the
 * first level runs nw * nb / REDUCE_SEGMENT threads (65,536 for c = 16), each
 * level shrinks its input by this factor (twins/msm.ts reducePlan).
 */
export const REDUCE_SEGMENT = 8;
