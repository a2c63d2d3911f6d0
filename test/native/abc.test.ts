/** buildABC against a JS twin written exactly like snarkjs's buildABC1, plus index validation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import { FR_ORDER, SeededRandom, bigintToLe32, randomFr, randomFrVector, referenceCurve, testSeed, type FfCurve } from './fixtures.ts';

let curve: FfCurve;
let backend: ProverBackend;
const rng = new SeededRandom(testSeed('native buildABC'));
const COEF_BYTES = 12 + 32;

beforeAll(async () => {
  curve = await referenceCurve();
  backend = await createNativeBackend();
});
afterAll(async () => {
  await backend.close();
  await curve.terminate();
});

interface Coef {
  matrix: number;
  constraint: number;
  signal: number;
  value: Uint8Array;
}

function encodeSection(coefs: Coef[]): Uint8Array {
  const out = new Uint8Array(4 + coefs.length * COEF_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, coefs.length, true);
  coefs.forEach((c, i) => {
    const at = 4 + i * COEF_BYTES;
    view.setUint32(at, c.matrix, true);
    view.setUint32(at + 4, c.constraint, true);
    view.setUint32(at + 8, c.signal, true);
    out.set(c.value, at + 12);
  });
  return out;
}

/** The twin: snarkjs's loop, one Fr.add(Fr.mul) per coefficient, then C = A * B. */
function buildAbcTwin(coefs: Coef[], witness: Uint8Array, domainSize: number): { a: Uint8Array; b: Uint8Array; c: Uint8Array } {
  const Fr = curve.Fr;
  const out = [new Uint8Array(domainSize * 32), new Uint8Array(domainSize * 32)] as const;
  for (const coef of coefs) {
    const target = out[coef.matrix as 0 | 1];
    const at = coef.constraint * 32;
    const w = witness.slice(coef.signal * 32, coef.signal * 32 + 32);
    target.set(Fr.add(target.slice(at, at + 32), Fr.mul(coef.value, w)), at);
  }
  const c = new Uint8Array(domainSize * 32);
  for (let i = 0; i < domainSize; i++) c.set(Fr.mul(out[0].slice(i * 32, i * 32 + 32), out[1].slice(i * 32, i * 32 + 32)), i * 32);
  return { a: out[0], b: out[1], c };
}

function randomCoefs(count: number, domainSize: number, nSignals: number): Coef[] {
  const coefs: Coef[] = [];
  for (let i = 0; i < count; i++) {
    coefs.push({ matrix: rng.int(2), constraint: rng.int(domainSize), signal: rng.int(nSignals), value: randomFr(rng) });
  }
  return coefs;
}

describe('native buildABC', () => {
  for (const [count, domainSize, nSignals] of [
    [0, 4, 1],
    [1, 1, 1],
    [300, 100, 37],
    [3000, 1024, 500],
  ] as const) {
    it(`${count} coefficients, domain ${domainSize}, ${nSignals} signals`, async () => {
      const coefs = randomCoefs(count, domainSize, nSignals);
      const witness = randomFrVector(rng, nSignals);
      const got = await backend.buildABC(encodeSection(coefs), witness, domainSize);
      const expected = buildAbcTwin(coefs, witness, domainSize);
      expect(got.a).toEqual(expected.a);
      expect(got.b).toEqual(expected.b);
      expect(got.c).toEqual(expected.c);
    });
  }

  const bad = (patch: Partial<Coef>): Coef[] => [
    { matrix: 0, constraint: 1, signal: 1, value: bigintToLe32(7n) },
    { matrix: 1, constraint: 0, signal: 0, value: bigintToLe32(7n), ...patch },
  ];
  it('rejects a constraint outside the domain', async () => {
    await expect(backend.buildABC(encodeSection(bad({ constraint: 8 })), randomFrVector(rng, 4), 8)).rejects.toThrow(
      /coefficient 1 names constraint 8 but the domain size is 8/,
    );
  });
  it('rejects a signal outside the witness', async () => {
    await expect(backend.buildABC(encodeSection(bad({ signal: 4 })), randomFrVector(rng, 4), 8)).rejects.toThrow(
      /coefficient 1 names signal 4 but the witness has 4 values/,
    );
  });
  it('rejects a matrix other than A or B', async () => {
    await expect(backend.buildABC(encodeSection(bad({ matrix: 2 })), randomFrVector(rng, 4), 8)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
  it('rejects a coefficient value >= r', async () => {
    await expect(backend.buildABC(encodeSection(bad({ value: bigintToLe32(FR_ORDER) })), randomFrVector(rng, 4), 8)).rejects.toThrow(/>= r/);
  });
  it('rejects a section whose count disagrees with its length', async () => {
    const section = encodeSection(bad({}));
    await expect(backend.buildABC(section.subarray(0, section.length - 1), randomFrVector(rng, 4), 8)).rejects.toThrow(/count 2 needs/);
    await expect(backend.buildABC(new Uint8Array(2), randomFrVector(rng, 4), 8)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
  it('rejects a witness of partial elements and a bad domain size', async () => {
    await expect(backend.buildABC(encodeSection([]), new Uint8Array(33), 8)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.buildABC(encodeSection([]), new Uint8Array(32), 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.buildABC(encodeSection([]), new Uint8Array(32), 2.5)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
