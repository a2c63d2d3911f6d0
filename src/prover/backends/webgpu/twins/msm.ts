/**
 * CPU twins of the MSM stages in shaders/msm.wgsl, stage by stage with the
 * same data layout, so a test can feed a stage the same input on both sides.
 */
import { assert } from '../../../../errors/index.ts';
import type { Aff, Jac, JacobianCurve } from './curve.ts';

// The one definition of the constants msm.wgsl shares with this twin: the shader builder injects them.
/** The digit code of a zero digit (the point adds to no bucket of that window). */
export const NO_DIGIT = 0xffffffff;
/** Set in a digit code, and in a scattered value, when the point is negated (signed digits). */
export const SIGN_BIT = 0x80000000;
/** The key of an empty accumulation output (a thread past the last entry); no bucket key reaches it. */
export const SENTINEL_KEY = 0xffffffff;

export interface WindowPlan {
  readonly c: number; // window width in bits
  readonly nw: number; // windows
  readonly nb: number; // buckets per window
}

/** Scalars must be < 2^255 (any Fr element is); with nw*c >= 256 the top window never carries. */
export function planWindows(c: number): WindowPlan {
  assert(Number.isInteger(c) && c >= 2 && c <= 16, `window width ${c} out of 2..16`);
  return { c, nw: Math.ceil(256 / c), nb: 1 << (c - 1) };
}

/** Digits laid out [window][point], each NO_DIGIT or (|d| - 1) | sign. */
export function decomposeTwin(scalars: readonly bigint[], plan: WindowPlan): Uint32Array {
  const n = scalars.length;
  const digits = new Uint32Array(plan.nw * n);
  const half = 1n << BigInt(plan.c - 1);
  const full = 1n << BigInt(plan.c);
  const mask = full - 1n;
  for (let i = 0; i < n; i++) {
    const s = scalars[i] ?? 0n;
    let carry = 0n;
    for (let w = 0; w < plan.nw; w++) {
      let d = ((s >> BigInt(w * plan.c)) & mask) + carry;
      let negative = false;
      if (d > half) {
        d = full - d;
        negative = true;
        carry = 1n;
      } else {
        carry = 0n;
      }
      digits[w * n + i] = d === 0n ? NO_DIGIT : ((Number(d) - 1) | (negative ? SIGN_BIT : 0)) >>> 0;
    }
    assert(carry === 0n, 'signed decomposition left a carry: too few windows');
  }
  return digits;
}

/** Bucket histogram and exclusive offsets (offsets[total] = entry count). */
export function bucketOffsetsTwin(digits: Uint32Array, n: number, plan: WindowPlan): Uint32Array {
  const total = plan.nw * plan.nb;
  const offsets = new Uint32Array(total + 1);
  for (let w = 0; w < plan.nw; w++) {
    for (let i = 0; i < n; i++) {
      const code = digits[w * n + i] ?? NO_DIGIT;
      if (code !== NO_DIGIT) offsets[w * plan.nb + (code & ~SIGN_BIT) + 1]! += 1;
    }
  }
  for (let k = 1; k <= total; k++) offsets[k]! += offsets[k - 1]!;
  return offsets;
}

/** Counting sort: keys (window*nb + bucket) nondecreasing, vals = point index | sign. Stable (the device's order within a bucket is not). */
export function scatterTwin(digits: Uint32Array, n: number, plan: WindowPlan, offsets: Uint32Array): { keys: Uint32Array; vals: Uint32Array } {
  const count = offsets[plan.nw * plan.nb] ?? 0;
  const keys = new Uint32Array(count);
  const vals = new Uint32Array(count);
  const cursor = offsets.slice();
  for (let w = 0; w < plan.nw; w++) {
    for (let i = 0; i < n; i++) {
      const code = digits[w * n + i] ?? NO_DIGIT;
      if (code === NO_DIGIT) continue;
      const key = w * plan.nb + (code & ~SIGN_BIT);
      const pos = cursor[key]!++;
      keys[pos] = key;
      vals[pos] = (i | (code & SIGN_BIT)) >>> 0;
    }
  }
  return { keys, vals };
}

export interface Level<T> {
  keys: number[];
  points: Jac<T>[];
}

/**
 * One level of the balanced segmented reduction: slices of K entries;
 * interior runs go into `buckets`, first/last runs to the next level.
 */
export function accumulateLevelTwin<T>(curve: JacobianCurve<T>, input: Level<T>, K: number, last: boolean, buckets: Jac<T>[]): Level<T> {
  const out: Level<T> = { keys: [], points: [] };
  const threads = Math.ceil(input.keys.length / K);
  assert(!last || threads <= 1, 'the last level must be a single slice');
  const addToBucket = (key: number, p: Jac<T>): void => {
    if (key >= buckets.length || curve.isIdentity(p)) return;
    buckets[key] = curve.add(buckets[key]!, p);
  };
  for (let t = 0; t < threads; t++) {
    const start = t * K;
    const end = Math.min(start + K, input.keys.length);
    let runKey = input.keys[start]!;
    let acc = curve.identity();
    let first = true;
    for (let p = start; p < end; p++) {
      const key = input.keys[p]!;
      if (key !== runKey) {
        if (first && !last) {
          out.keys.push(runKey);
          out.points.push(acc);
        } else {
          addToBucket(runKey, acc);
        }
        first = false;
        acc = curve.identity();
        runKey = key;
      }
      acc = curve.add(acc, input.points[p]!);
    }
    if (last) {
      addToBucket(runKey, acc);
    } else if (first) {
      out.keys.push(runKey, runKey);
      out.points.push(acc, curve.identity());
    } else {
      out.keys.push(runKey);
      out.points.push(acc);
    }
  }
  return out;
}

/** All levels until one slice remains; returns the filled buckets. */
export function accumulateTwin<T>(
  curve: JacobianCurve<T>,
  keys: Uint32Array,
  vals: Uint32Array,
  bases: readonly Aff<T>[],
  totalBuckets: number,
  K: number,
): Jac<T>[] {
  assert(K >= 4, 'K must be at least 4 so each level shrinks');
  const buckets: Jac<T>[] = Array.from({ length: totalBuckets }, () => curve.identity());
  let level: Level<T> = {
    keys: [...keys],
    points: [...vals].map((v) => {
      const p = curve.fromAffine(bases[v & ~SIGN_BIT]!);
      return (v & SIGN_BIT) !== 0 ? curve.neg(p) : p;
    }),
  };
  while (level.keys.length > K) level = accumulateLevelTwin(curve, level, K, false, buckets);
  accumulateLevelTwin(curve, level, K, true, buckets);
  return buckets;
}

/**
 * One level of the device's bucket reduction (msm_reduce_level): per window,
 * `inLen` elements are cut into segments of `seg` (a power of two, except
 * possibly on the last level) and each segment becomes one element of the
 * next level. `shift` is log2 of the input elements' stride: how many
 * buckets one input element stands for.
 */
export interface ReduceLevel {
  readonly inLen: number;
  readonly outLen: number;
  readonly seg: number;
  readonly shift: number;
}

/** The reduction levels for nb buckets per window, segments of `segment` elements, down to one element per window. */
export function reducePlan(nb: number, segment: number): ReduceLevel[] {
  assert(Number.isInteger(nb) && nb >= 1, `bucket count ${nb}`);
  assert(segment >= 2 && (segment & (segment - 1)) === 0, `reduction segment ${segment} is not a power of two >= 2`);
  const levels: ReduceLevel[] = [];
  let inLen = nb;
  let shift = 0;
  do {
    const seg = Math.min(segment, inLen);
    const outLen = Math.ceil(inLen / seg);
    levels.push({ inLen, outLen, seg, shift });
    // Only the last level may have a segment that is not a power of two; its output stride is never used.
    shift += Math.log2(seg);
    inLen = outLen;
  } while (inLen > 1);
  return levels;
}

/**
 * The state between reduction levels, per window w and element j (laid out
 * [w][j]): element j stands for the buckets [j*s, (j+1)*s) of its window
 * (s = its stride), t[j] is their sum and a[j] the sum of (b - j*s) * B[b]
 * over them. So sum_b b * B[b] = sum_j (a[j] + j*s*t[j]) at every level,
 * and once one element is left it is a[0]. Level 0 reads the buckets as t
 * with a = 0 (null).
 */
export interface ReduceState<T> {
  readonly t: readonly Jac<T>[];
  readonly a: readonly Jac<T>[] | null;
}

/** One msm_reduce_level dispatch: thread (w, J) sums segment J of window w. */
export function reduceLevelTwin<T>(curve: JacobianCurve<T>, nw: number, input: ReduceState<T>, level: ReduceLevel): ReduceState<T> {
  assert(input.t.length === nw * level.inLen, 'reduction input does not match the level');
  const t: Jac<T>[] = [];
  const a: Jac<T>[] = [];
  for (let w = 0; w < nw; w++) {
    for (let J = 0; J < level.outLen; J++) {
      const lo = J * level.seg;
      const hi = Math.min(lo + level.seg, level.inLen);
      let running = curve.identity();
      let weighted = curve.identity(); // sum over the segment of (k - lo) * t[k]
      let aSum = curve.identity();
      for (let k = hi - 1; k >= lo; k--) {
        running = curve.add(running, input.t[w * level.inLen + k]!);
        if (input.a) aSum = curve.add(aSum, input.a[w * level.inLen + k]!);
        if (k > lo) weighted = curve.add(weighted, running);
      }
      for (let i = 0; i < level.shift; i++) weighted = curve.double(weighted);
      t.push(running);
      a.push(curve.add(aSum, weighted));
    }
  }
  return { t, a };
}

/** Every level from the buckets; per window the final (t, a): its window sum is a + t. */
export function reduceTwin<T>(curve: JacobianCurve<T>, buckets: readonly Jac<T>[], plan: WindowPlan, levels: readonly ReduceLevel[]): ReduceState<T> {
  let state: ReduceState<T> = { t: buckets, a: null };
  for (const level of levels) state = reduceLevelTwin(curve, plan.nw, state, level);
  assert(state.t.length === plan.nw, 'the reduction did not end with one element per window');
  return state;
}

/** The reference for a window's sum: sum over its buckets b of (b + 1) * B[b] (bucket b holds digit b + 1), by a running sum. */
export function windowSumsDirect<T>(curve: JacobianCurve<T>, buckets: readonly Jac<T>[], plan: WindowPlan): Jac<T>[] {
  const out: Jac<T>[] = [];
  for (let w = 0; w < plan.nw; w++) {
    let running = curve.identity();
    let sum = curve.identity();
    for (let b = plan.nb - 1; b >= 0; b--) {
      running = curve.add(running, buckets[w * plan.nb + b]!);
      sum = curve.add(sum, running);
    }
    out.push(sum);
  }
  return out;
}

/**
 * msm_combine: the window sums (a + t of the reduction's last level) in
 * Horner order, c doublings per window, plus the previous chunks' total
 * when there is one. The device then converts the result to affine.
 */
export function combineTwin<T>(curve: JacobianCurve<T>, final: ReduceState<T>, plan: WindowPlan, previous: Jac<T> | null = null): Jac<T> {
  assert(final.t.length === plan.nw && final.a !== null && final.a.length === plan.nw, 'combine needs one (t, a) per window');
  let acc = curve.identity();
  for (let w = plan.nw - 1; w >= 0; w--) {
    for (let k = 0; k < plan.c; k++) acc = curve.double(acc);
    acc = curve.add(curve.add(acc, final.t[w]!), final.a[w]!);
  }
  return previous === null ? acc : curve.add(acc, previous);
}

/** The obviously correct reference: sum of k_i * P_i by double-and-add. */
export function naiveMsm<T>(curve: JacobianCurve<T>, bases: readonly Aff<T>[], scalars: readonly bigint[]): Jac<T> {
  let acc = curve.identity();
  for (let i = 0; i < scalars.length; i++) acc = curve.add(acc, curve.mulScalar(curve.fromAffine(bases[i]!), scalars[i]!));
  return acc;
}
