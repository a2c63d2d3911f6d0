/** The addon boundary: bad lengths rejected with named errors, work off the JS thread, describe(). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import { loadNativeAddon } from '../../src/prover/backends/native/addon.ts';
import { SeededRandom, randomFrVector, randomPoints, referenceCurve, testSeed, type FfCurve } from './fixtures.ts';

let curve: FfCurve;
let backend: ProverBackend;
const rng = new SeededRandom(testSeed('native boundary'));

beforeAll(async () => {
  curve = await referenceCurve();
  backend = await createNativeBackend();
});
afterAll(async () => {
  await backend.close();
  await curve.terminate();
});

describe('native backend boundary', () => {
  it('describes itself with its thread count and arithmetic paths', () => {
    expect(backend.describe()).toMatch(/^native: \d+ threads?, (ADX|portable 64-bit products)(, AVX-512 IFMA)?$/);
    expect(backend.name).toBe('native');
  });

  it('rejects MSM inputs of bad lengths', async () => {
    await expect(backend.msmG1(new Uint8Array(65), new Uint8Array(32))).rejects.toThrow(/not a multiple of 64/);
    await expect(backend.msmG1(new Uint8Array(128), new Uint8Array(33))).rejects.toThrow(/not a multiple of 32/);
    await expect(backend.msmG1(new Uint8Array(128), new Uint8Array(32))).rejects.toThrow(/1 scalars for 2 bases/);
    await expect(backend.msmG2(new Uint8Array(64), new Uint8Array(32))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('rejects NTT inputs of bad lengths or sizes', async () => {
    await expect(backend.ntt(new Uint8Array(96), 2, 'forward')).rejects.toThrow(/2\^2 Fr elements need 128/);
    await expect(backend.ntt(new Uint8Array(128), 2.5, 'forward')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.ntt(new Uint8Array(128), 2, 'sideways' as 'forward')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.cosetShift(new Uint8Array(32), 29)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.computeH(new Uint8Array(128), new Uint8Array(128), new Uint8Array(96), 2)).rejects.toThrow(/computeH c/);
  });

  it('rejects NTT elements >= r, naming the element', async () => {
    const values = new Uint8Array(4 * 32);
    values.fill(0xff, 2 * 32, 3 * 32);
    await expect(backend.ntt(values, 2, 'forward')).rejects.toThrow(/element 2 is not a canonical Fr element/);
    await expect(backend.cosetShift(values, 2)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.computeH(new Uint8Array(128), values, new Uint8Array(128), 2)).rejects.toThrow(/computeH b: element 2/);
  });

  it('reads inputs at unaligned byte offsets', async () => {
    const n = 300;
    const bases = randomPoints(curve.G1, rng, n, 64);
    const scalars = randomFrVector(rng, n);
    const shiftedBases = new Uint8Array(bases.length + 3).subarray(3);
    shiftedBases.set(bases);
    const shiftedScalars = new Uint8Array(scalars.length + 5).subarray(5);
    shiftedScalars.set(scalars);
    expect(await backend.msmG1(shiftedBases, shiftedScalars)).toEqual(await backend.msmG1(bases, scalars));
    const values = randomFrVector(rng, 256);
    const shiftedValues = new Uint8Array(values.length + 1).subarray(1);
    shiftedValues.set(values);
    expect(await backend.ntt(shiftedValues, 8, 'forward')).toEqual(await backend.ntt(values, 8, 'forward'));
  });

  it('the raw addon throws clear errors too (no crash on misuse)', () => {
    const addon = loadNativeAddon();
    expect(() => addon.msmG1(new Uint8Array(64), new Uint8Array(64))).toThrow(/2 scalars but only 1 bases/);
    expect(() => addon.ntt(new Uint8Array(64), 1, 'yes' as unknown as boolean)).toThrow(/zkp_native: ntt/);
    expect(() => addon.buildABC(new Uint8Array(4), new Uint8Array(32), -1)).toThrow(/domainSize/);
    expect(() => (addon.msmG2 as unknown as (x: number) => void)(3)).toThrow(/msmG2\(bases/);
  });

  it('runs MSMs off the JS thread: the event loop turns while one is in flight', async () => {
    const n = 4096;
    const bases = randomPoints(curve.G1, rng, n, 64);
    const scalars = randomFrVector(rng, n);
    let turned = false;
    const pending = backend.msmG1(bases, scalars);
    setImmediate(() => {
      turned = true;
    });
    await pending;
    expect(turned).toBe(true);
  });
});
