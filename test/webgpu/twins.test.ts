/**
 * CPU twins against each other and ffjavascript (no device needed): the
 * staged MSM pipeline equals a naive MSM, the curve programs (the shader's
 * formulas) equal the twin formulas, the NTT twin equals ffjavascript.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { ADD_PART1, ADD_PART2, DOUBLE, MADD_PART1, MADD_PART2, runProgram } from '../../src/prover/backends/webgpu/curve-programs.ts';
import { G1, G2 } from '../../src/prover/backends/webgpu/twins/curve.ts';
import { readG1Affine, readG2Affine } from '../../src/prover/backends/webgpu/twins/codec.ts';
import { BN254_R, Fq, Fr, bytesToBigint } from '../../src/prover/backends/webgpu/twins/field.ts';
import {
  accumulateTwin,
  bucketOffsetsTwin,
  combineTwin,
  decomposeTwin,
  naiveMsm,
  planWindows,
  reducePlan,
  reduceTwin,
  scatterTwin,
  windowSumsDirect,
  SIGN_BIT,
  NO_DIGIT,
} from '../../src/prover/backends/webgpu/twins/msm.ts';
import { cosetShiftTwin, nttTwin, rootOfUnity } from '../../src/prover/backends/webgpu/twins/ntt.ts';
import { Rng, edgeScalars, frBytes, testSeed } from './helpers.ts';

let curve: FfCurve;
beforeAll(async () => {
  curve = await buildBn128(true);
});
afterAll(async () => {
  await curve.terminate();
});

function g1Bases(n: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) {
    // every fifth point repeats an earlier one, one is infinity
    if (i === 3) continue;
    const k = i % 5 === 4 ? 7 : 1 + rng.int(1000);
    out.set(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, k)), i * 64);
  }
  return out;
}

describe('MSM twins', () => {
  const seed = testSeed('twins');
  const rng = new Rng(seed);

  it('signed decomposition reconstructs every scalar', () => {
    for (const c of [4, 7, 13, 16]) {
      const plan = planWindows(c);
      const scalars = edgeScalars(rng, 37);
      const digits = decomposeTwin(scalars, plan);
      scalars.forEach((s, i) => {
        let v = 0n;
        for (let w = 0; w < plan.nw; w++) {
          const code = digits[w * scalars.length + i]!;
          if (code === NO_DIGIT) continue;
          const mag = BigInt((code & ~SIGN_BIT) + 1);
          expect(mag <= BigInt(plan.nb)).toBe(true);
          v += ((code & SIGN_BIT) !== 0 ? -mag : mag) << BigInt(w * c);
        }
        expect(v).toBe(s);
      });
    }
  });

  it('counting sort: keys nondecreasing, every digit placed once', () => {
    const plan = planWindows(5);
    const scalars = edgeScalars(rng, 53);
    const digits = decomposeTwin(scalars, plan);
    const offsets = bucketOffsetsTwin(digits, scalars.length, plan);
    const { keys, vals } = scatterTwin(digits, scalars.length, plan, offsets);
    for (let i = 1; i < keys.length; i++) expect(keys[i]! >= keys[i - 1]!).toBe(true);
    expect(keys.length).toBe([...digits].filter((d) => d !== NO_DIGIT).length);
    expect(new Set([...vals].map((v, i) => `${keys[i]}:${v}`)).size).toBe(vals.length);
  });

  it('reduction plan: levels chain, shrink by the segment, end at one element per window', () => {
    for (const nb of [1, 2, 8, 64, 512, 32768]) {
      for (const segment of [2, 8, 16]) {
        const levels = reducePlan(nb, segment);
        expect(levels[0]!.inLen).toBe(nb);
        expect(levels.at(-1)!.outLen).toBe(1);
        let stride = 1;
        for (const [i, l] of levels.entries()) {
          if (i > 0) expect(l.inLen).toBe(levels[i - 1]!.outLen);
          expect(l.outLen).toBe(Math.ceil(l.inLen / l.seg));
          expect(2 ** l.shift).toBe(stride);
          stride *= l.seg;
        }
      }
    }
  });

  it('segmented bucket reduction and window combine equal the direct window sums and Horner (G1 and G2, edge buckets)', () => {
    const g1 = G1.fromAffine({ x: 1n, y: 2n, infinity: false });
    const g2 = G2.fromAffine(readG2Affine(curve.G2.toAffine(curve.G2.g), 0));
    for (const [c, segment] of [
      [4, 2],
      [5, 8],
      [6, 4],
      [6, 16],
    ] as const) {
      const plan = planWindows(c);
      // Buckets: random multiples, infinity, repeated and opposite points (exercising doubling and P + (-P) in the sums).
      const bucket1 = (k: number): ReturnType<typeof G1.identity> => {
        if (k % 11 === 3) return G1.identity();
        if (k % 7 === 2) return G1.mulScalar(g1, 5n);
        if (k % 13 === 6) return G1.neg(G1.mulScalar(g1, 5n));
        return G1.mulScalar(g1, BigInt(1 + rng.int(1 << 20)));
      };
      const buckets = Array.from({ length: plan.nw * plan.nb }, (_, k) => bucket1(k));
      const levels = reducePlan(plan.nb, segment);
      const final = reduceTwin(G1, buckets, plan, levels);
      const direct = windowSumsDirect(G1, buckets, plan);
      for (let w = 0; w < plan.nw; w++) expect(G1.eq(G1.add(final.a![w]!, final.t[w]!), direct[w]!), `c=${c} window ${w}`).toBe(true);
      let horner = G1.identity();
      for (let w = plan.nw - 1; w >= 0; w--) horner = G1.add(G1.mulScalar(horner, 1n << BigInt(c)), direct[w]!);
      expect(G1.eq(combineTwin(G1, final, plan), horner)).toBe(true);
      const previous = G1.mulScalar(g1, 12345n);
      expect(G1.eq(combineTwin(G1, final, plan, previous), G1.add(horner, previous))).toBe(true);
    }
    // G2, one small plan.
    const plan = planWindows(4);
    const buckets = Array.from({ length: plan.nw * plan.nb }, (_, k) => (k % 5 === 1 ? G2.identity() : G2.mulScalar(g2, BigInt(1 + rng.int(1000)))));
    const final = reduceTwin(G2, buckets, plan, reducePlan(plan.nb, 2));
    const direct = windowSumsDirect(G2, buckets, plan);
    for (let w = 0; w < plan.nw; w++) expect(G2.eq(G2.add(final.a![w]!, final.t[w]!), direct[w]!)).toBe(true);
  });

  it('staged pipeline (decompose, sort, balanced accumulation, reduction, windows) equals the naive MSM, G1', () => {
    const n = 45;
    const bases = g1Bases(n, rng);
    // heavy buckets: many equal scalars exercise multi-level accumulation
    const scalars = edgeScalars(rng, n).map((s, i) => (i % 3 === 0 ? 5n : s));
    const aff = Array.from({ length: n }, (_, i) => readG1Affine(bases, i));
    for (const [c, K, segment] of [
      [4, 4, 2],
      [6, 8, 8],
      [9, 16, 4],
    ] as const) {
      const plan = planWindows(c);
      const digits = decomposeTwin(scalars, plan);
      const offsets = bucketOffsetsTwin(digits, n, plan);
      const { keys, vals } = scatterTwin(digits, n, plan, offsets);
      const buckets = accumulateTwin(G1, keys, vals, aff, plan.nw * plan.nb, K);
      const final = reduceTwin(G1, buckets, plan, reducePlan(plan.nb, segment));
      const got = combineTwin(G1, final, plan);
      expect(G1.eq(got, naiveMsm(G1, aff, scalars))).toBe(true);
    }
  });

  it('naive twin MSM equals ffjavascript (G1 and G2)', async () => {
    const n = 9;
    const bases = g1Bases(n, rng);
    const scalars = edgeScalars(rng, n);
    const exp = curve.G1.toAffine(await curve.G1.multiExpAffine(bases, frBytes(scalars), false));
    const got = G1.toAffine(
      naiveMsm(
        G1,
        Array.from({ length: n }, (_, i) => readG1Affine(bases, i)),
        scalars,
      ),
    );
    expect(got.x).toBe(Fq.fromMont(bytesToBigint(exp, 0)));
    const b2 = new Uint8Array(4 * 128);
    for (let i = 0; i < 4; i++) b2.set(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.g, 3 + i)), i * 128);
    const s2 = [5n, BN254_R - 1n, 0n, 77n];
    const exp2 = curve.G2.toAffine(await curve.G2.multiExpAffine(b2, frBytes(s2), false));
    const got2 = G2.toAffine(
      naiveMsm(
        G2,
        Array.from({ length: 4 }, (_, i) => readG2Affine(b2, i)),
        s2,
      ),
    );
    expect(got2.x[0]).toBe(Fq.fromMont(bytesToBigint(exp2, 0)));
    expect(got2.y[1]).toBe(Fq.fromMont(bytesToBigint(exp2, 96)));
  });

  it('curve programs (the shader formulas) equal the twin formulas', () => {
    const F = { mul: (a: bigint, b: bigint) => Fq.mul(a, b), add: (a: bigint, b: bigint) => Fq.add(a, b), sub: (a: bigint, b: bigint) => Fq.sub(a, b) };
    const p = G1.mulScalar(G1.fromAffine({ x: 1n, y: 2n, infinity: false }), rng.below(BN254_R));
    const q = G1.mulScalar(G1.fromAffine({ x: 1n, y: 2n, infinity: false }), rng.below(BN254_R));
    const d = runProgram(DOUBLE, [p.x, p.y, p.z], F);
    expect(G1.eq({ x: d[9]!, y: d[10]!, z: d[11]! }, G1.double(p))).toBe(true);
    const a = runProgram(ADD_PART2, runProgram(ADD_PART1, [p.x, p.y, p.z, q.x, q.y, q.z], F), F);
    expect(G1.eq({ x: a[9]!, y: a[11]!, z: a[16]! }, G1.add(p, q))).toBe(true);
    const qa = G1.toAffine(q);
    const m = runProgram(MADD_PART2, runProgram(MADD_PART1, [p.x, p.y, p.z, qa.x, qa.y], F), F);
    expect(G1.eq({ x: m[15]!, y: m[16]!, z: m[8]! }, G1.add(p, q))).toBe(true);
  });
});

describe('NTT twins', () => {
  const rng = new Rng(testSeed('ntt-twins'));
  it('roots of unity match ffjavascript', () => {
    for (const k of [1, 5, 12, 28]) expect(Fr.toMont(rootOfUnity(k))).toBe(bytesToBigint(curve.Fr.w[k]!, 0));
  });
  it('forward, inverse and coset equal ffjavascript', async () => {
    for (const log2n of [0, 1, 3, 6]) {
      const values = Array.from({ length: 1 << log2n }, () => rng.below(BN254_R));
      const mont = frBytes(values.map((v) => Fr.toMont(v)));
      const fromMont = (b: Uint8Array): bigint[] => values.map((_, i) => Fr.fromMont(bytesToBigint(b, i * 32)));
      expect(nttTwin(values, 'forward')).toEqual(fromMont(await curve.Fr.fft(mont)));
      expect(nttTwin(values, 'inverse')).toEqual(fromMont(await curve.Fr.ifft(mont)));
      expect(cosetShiftTwin(values)).toEqual(fromMont(await curve.Fr.batchApplyKey(mont, curve.Fr.e(1), curve.Fr.w[log2n + 1]!)));
    }
  });
});
