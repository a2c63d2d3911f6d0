/**
 * A full Groth16 proof on the raw WebGPU backend: no fallback wrapper, so a
 * lost device or a missing adapter fails this test instead of proving on a
 * CPU backend and passing. The smallest test circuit (manypublic), so it
 * stays fast on lavapipe. With fixed r and s the proof must equal the native
 * backend's byte for byte (the parity tests hold native equal to snarkjs), and
 * with fresh r and s it must verify with snarkjs.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { loadNativeBackend } from '../../src/prover/backends/index.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { isFallbackBackend } from '../../src/prover/backends/webgpu/fallback.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { prove } from '../../src/prover/groth16.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { readZkey } from '../../src/prover/io/zkey.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { calculateWitness } from '../../src/prover/witness.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

// The first use of each pipeline compiles it: on a cold lavapipe shader cache the G1, G2 and NTT pipelines took over 10 minutes under load.
vi.setConfig({ testTimeout: 1_200_000, hookTimeout: 600_000 });

let gpu: RawWebgpuBackend;
let native: ProverBackend;

beforeAll(async () => {
  gpu = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), loadAbcBackend: loadNativeBackend });
  native = await loadNativeBackend();
});

afterAll(async () => {
  await gpu?.close();
  await native?.close();
});

describe('a full prove on the raw WebGPU backend', () => {
  it('manypublic: equals native for fixed r, s and verifies for fresh r, s', async () => {
    expect(isFallbackBackend(gpu), 'the raw backend has no CPU fallback').toBe(false);
    expect(gpu.buildAbcKind, 'buildABC runs in the injected native backend').toBe('native');
    const rng = testRandom('webgpu raw prove');
    const circuit = await testCircuit('manypublic');
    const zkey = await readZkey(circuit.zkey);
    const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
    const witness = await calculateWitness(randomInput('manypublic', rng), { wasm: await readFile(circuit.wasm), inputLabel: 'manypublic input' });
    const r = rng.below(BN254_R);
    const s = rng.below(BN254_R);

    const fixedFor = (): (() => bigint) => {
      const queue = [r, s];
      return () => queue.shift()!;
    };
    const onGpu = await prove(zkey, witness, { backend: gpu, random: fixedFor() });
    const onNative = await prove(zkey, witness, { backend: native, random: fixedFor() });
    expect(onGpu.publicSignals).toEqual(onNative.publicSignals);
    expect(onGpu.proof).toEqual(onNative.proof);

    const fresh = await prove(zkey, witness, { backend: gpu });
    expect(await verifyProof(vkey, fresh.publicSignals, fresh.proof)).toBe(true);
    expect(fresh.proof.pi_a).not.toEqual(onGpu.proof.pi_a);
  });
});
