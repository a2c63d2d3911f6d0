/**
 * CPU twins of shaders/ntt.wgsl: roots of unity with ffjavascript's
 * convention, the radix-2 stages, the fused radix-4 pass, coset shift and
 * join. Values are standard form bigints (the device works in Montgomery form; the math is the same).
 */
import { assert } from '../../../../errors/index.ts';
import { Fr } from './field.ts';

const TWO_ADICITY = 28;

/** Smallest quadratic non-residue from 2 up, as ffjavascript picks it. */
function smallestNonResidue(): bigint {
  for (let x = 2n; ; x++) if (Fr.pow(x, (Fr.p - 1n) / 2n) === Fr.p - 1n) return x;
}

let rootTable: bigint[] | null = null;
/** roots[k] is a primitive 2^k-th root of unity: roots[28] = nqr^t, roots[k-1] = roots[k]^2. */
export function rootsOfUnity(): readonly bigint[] {
  if (rootTable) return rootTable;
  const t = (Fr.p - 1n) >> BigInt(TWO_ADICITY);
  const table = new Array<bigint>(TWO_ADICITY + 1);
  table[TWO_ADICITY] = Fr.pow(smallestNonResidue(), t);
  for (let k = TWO_ADICITY; k > 0; k--) table[k - 1] = Fr.mul(table[k]!, table[k]!);
  rootTable = table;
  return table;
}

export function rootOfUnity(log2n: number): bigint {
  assert(log2n >= 0 && log2n <= TWO_ADICITY, `log2n ${log2n} out of 0..28`);
  return rootsOfUnity()[log2n]!;
}

export function bitReverseTwin(values: readonly bigint[]): bigint[] {
  const n = values.length;
  const bits = Math.log2(n);
  const out = new Array<bigint>(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    out[r] = values[i]!;
  }
  return out;
}

/** One decimation-in-time stage of span m with twiddles w^(j * n/(2m)), in place. */
export function nttStageTwin(values: bigint[], half: number, w: bigint): void {
  const n = values.length;
  for (let k = 0; k < n / 2; k++) {
    const j = k % half;
    const i0 = Math.floor(k / half) * 2 * half + j;
    const i1 = i0 + half;
    const tw = Fr.pow(w, BigInt(j * (n / (2 * half))));
    const u = values[i0]!;
    const v = Fr.mul(values[i1]!, tw);
    values[i0] = Fr.add(u, v);
    values[i1] = Fr.sub(u, v);
  }
}

/**
 * The stages of span m and 2m in one pass (ntt_radix4): the 4-point
 * butterfly of i, i+m, i+2m, i+3m with twiddles w^(2js), w^(js), w^((j+m)s),
 * s = n/(4m), in place. Equals nttStageTwin(m) then nttStageTwin(2m).
 */
export function nttRadix4Twin(values: bigint[], half: number, w: bigint): void {
  const n = values.length;
  const m = half;
  const step = n / (4 * m);
  for (let k = 0; k < n / 4; k++) {
    const j = k % m;
    const i0 = Math.floor(k / m) * 4 * m + j;
    const w1 = Fr.pow(w, BigInt(2 * j * step));
    const p1 = Fr.mul(values[i0 + m]!, w1);
    const p3 = Fr.mul(values[i0 + 3 * m]!, w1);
    const [x0, x2] = [values[i0]!, values[i0 + 2 * m]!];
    const [y0, y1] = [Fr.add(x0, p1), Fr.sub(x0, p1)];
    const q2 = Fr.mul(Fr.add(x2, p3), Fr.pow(w, BigInt(j * step)));
    const q3 = Fr.mul(Fr.sub(x2, p3), Fr.pow(w, BigInt((j + m) * step)));
    values[i0] = Fr.add(y0, q2);
    values[i0 + 2 * m] = Fr.sub(y0, q2);
    values[i0 + m] = Fr.add(y1, q3);
    values[i0 + 3 * m] = Fr.sub(y1, q3);
  }
}

export function nttTwin(values: readonly bigint[], direction: 'forward' | 'inverse'): bigint[] {
  const n = values.length;
  const log2n = Math.log2(n);
  assert(Number.isInteger(log2n), 'NTT length must be a power of two');
  const root = rootOfUnity(log2n);
  const w = direction === 'forward' ? root : Fr.inv(root);
  const a = bitReverseTwin(values);
  for (let half = 1; half < n; half *= 2) nttStageTwin(a, half, w);
  if (direction === 'inverse') {
    const nInv = Fr.inv(BigInt(n));
    for (let i = 0; i < n; i++) a[i] = Fr.mul(a[i]!, nInv);
  }
  return a;
}

/** out[i] = in[i] * g^i with g = roots[log2n + 1]. */
export function cosetShiftTwin(values: readonly bigint[]): bigint[] {
  const g = rootOfUnity(Math.log2(values.length) + 1);
  let gi = 1n;
  return values.map((v) => {
    const r = Fr.mul(v, gi);
    gi = Fr.mul(gi, g);
    return r;
  });
}

export function joinTwin(a: readonly bigint[], b: readonly bigint[], c: readonly bigint[]): bigint[] {
  return a.map((ai, i) => Fr.sub(Fr.mul(ai, b[i]!), c[i]!));
}
