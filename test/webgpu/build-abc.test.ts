/**
 * buildABC: the host BigInt path against the same computation done with
 * ffjavascript's Fr, the native-addon path against the host path, and
 * bad-input errors.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { loadNativeBackend } from '../../src/prover/backends/index.ts';
import { buildAbcHost, createAbcBuilder } from '../../src/prover/backends/webgpu/build-abc.ts';
import { BN254_R } from '../../src/prover/backends/webgpu/twins/field.ts';
import { Rng, frBytes, hex, testSeed } from './helpers.ts';

// The first use of each pipeline compiles it; on a cold lavapipe shader cache,
// with other test files compiling at the same time, one compile can take minutes.
vi.setConfig({ testTimeout: 600_000 });

let curve: FfCurve;
beforeAll(async () => {
  curve = await buildBn128(true);
});
afterAll(async () => {
  await curve?.terminate();
});

/** A zkey coefficients section (count + entries) over random and edge values, and a witness for it. */
function randomSystem(rng: Rng, domainSize: number, nSignals: number, nCoef: number): { coeffs: Uint8Array; witness: Uint8Array } {
  const edges = [0n, 1n, BN254_R - 1n];
  const coeffs = new Uint8Array(4 + nCoef * 44);
  const view = new DataView(coeffs.buffer);
  view.setUint32(0, nCoef, true);
  for (let i = 0; i < nCoef; i++) {
    view.setUint32(4 + i * 44, rng.int(2), true);
    view.setUint32(8 + i * 44, rng.int(domainSize - 3), true); // leaves constraints untouched
    view.setUint32(12 + i * 44, rng.int(nSignals), true);
    coeffs.set(frBytes([i < edges.length ? edges[i]! : rng.below(BN254_R)]), 16 + i * 44);
  }
  const witness = frBytes(Array.from({ length: nSignals }, (_, i) => (i === 0 ? 1n : i <= edges.length ? edges[i - 1]! : rng.below(BN254_R))));
  return { coeffs, witness };
}

describe('buildABC', () => {
  const rng = new Rng(testSeed('build-abc'));

  it('runs in the native addon when it loads, and equals the host BigInt path', async () => {
    const native = await createAbcBuilder({ loadNative: loadNativeBackend });
    // CI builds the addon (scripts/setup.sh); without it this comparison would be vacuous.
    expect(native.kind, native.reason).toBe('native');
    const host = await createAbcBuilder({ preferHost: true });
    expect(host.kind).toBe('host');
    for (const [domainSize, nSignals, nCoef] of [
      [16, 11, 60],
      [1000, 300, 2500],
    ] as const) {
      const { coeffs, witness } = randomSystem(rng, domainSize, nSignals, nCoef);
      const [n, h] = [await native.build(coeffs, witness, domainSize), await host.build(coeffs, witness, domainSize)];
      expect(hex(n.a)).toBe(hex(h.a));
      expect(hex(n.b)).toBe(hex(h.b));
      expect(hex(n.c)).toBe(hex(h.c));
    }
  });

  it('equals the snarkjs buildABC1 recipe computed with ffjavascript', () => {
    const domainSize = 16;
    const nSignals = 11;
    const nCoef = 60;
    const coeffs = new Uint8Array(4 + nCoef * 44);
    const view = new DataView(coeffs.buffer);
    view.setUint32(0, nCoef, true);
    for (let i = 0; i < nCoef; i++) {
      view.setUint32(4 + i * 44, rng.int(2), true);
      view.setUint32(8 + i * 44, rng.int(domainSize - 3), true); // leaves constraints untouched
      view.setUint32(12 + i * 44, rng.int(nSignals), true);
      coeffs.set(frBytes([rng.below(BN254_R)]), 16 + i * 44);
    }
    const witness = frBytes(Array.from({ length: nSignals }, (_, i) => (i === 0 ? 1n : rng.below(BN254_R))));
    const got = buildAbcHost(coeffs, witness, domainSize);
    const Fr = curve.Fr;
    const acc = [new Uint8Array(domainSize * 32), new Uint8Array(domainSize * 32)];
    for (let i = 0; i < nCoef; i++) {
      const m = view.getUint32(4 + i * 44, true);
      const c = view.getUint32(8 + i * 44, true);
      const s = view.getUint32(12 + i * 44, true);
      const target = acc[m]!;
      const prod = Fr.mul(coeffs.slice(16 + i * 44, 48 + i * 44), witness.slice(s * 32, s * 32 + 32));
      target.set(Fr.add(target.slice(c * 32, c * 32 + 32), prod), c * 32);
    }
    const cExp = new Uint8Array(domainSize * 32);
    for (let i = 0; i < domainSize; i++) cExp.set(Fr.mul(acc[0]!.slice(i * 32, i * 32 + 32), acc[1]!.slice(i * 32, i * 32 + 32)), i * 32);
    expect(hex(got.a)).toBe(hex(acc[0]!));
    expect(hex(got.b)).toBe(hex(acc[1]!));
    expect(hex(got.c)).toBe(hex(cExp));
  });

  it('names the problem in bad input', () => {
    const coeffs = new Uint8Array(4 + 44);
    new DataView(coeffs.buffer).setUint32(0, 1, true);
    new DataView(coeffs.buffer).setUint32(12, 5, true); // signal 5
    expect(() => buildAbcHost(coeffs, new Uint8Array(64), 4)).toThrow(/signal 5 but the witness has 2 values/);
    expect(() => buildAbcHost(coeffs.subarray(0, 10), new Uint8Array(64), 4)).toThrow(/coefficients section/);
  });
});
