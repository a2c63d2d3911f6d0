/**
 * `zkp fullprove --backend webgpu` on this host's adapter (lavapipe in CI),
 * with a device loss injected at the first GPU operation: the CLI names the
 * adapter it opened, the prove falls back to native with a warning, and the
 * proof it writes verifies with snarkjs. (A full prove on the shaders
 * themselves is covered by test/prover/parity.test.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');

let dir: string;
let circuit: BuiltCircuit;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkp-cli-webgpu-'));
  circuit = await testCircuit('manypublic');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('a device lost mid-prove falls back to native and still writes a proof that verifies', async () => {
  const inputPath = join(dir, 'input.json');
  const proofPath = join(dir, 'proof.json');
  const publicPath = join(dir, 'public.json');
  await writeFile(inputPath, JSON.stringify(randomInput('manypublic', testRandom('cli webgpu fallback'))));

  const run = await new Promise<{ code: number; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [ZKP, 'fullprove', inputPath, circuit.wasm, circuit.zkey, proofPath, publicPath, '--backend', 'webgpu', '--verify'],
      { timeout: 300_000, env: { ...process.env, ZKP_WEBGPU_FAULT: 'lose-device' } },
      (error, _stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr }),
    );
  });

  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/^zkp: backend webgpu: .+ \(\w+\)$/m);
  expect(run.stderr).toMatch(/device lost; retrying on the CPU backend.*native/);
  const proof = JSON.parse(await readFile(proofPath, 'utf8')) as unknown;
  const publicSignals = JSON.parse(await readFile(publicPath, 'utf8')) as unknown;
  const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
  expect(await verifyProof(vkey, publicSignals, proof)).toBe(true);
}, 600_000);
