/**
 * The device ladder's synthetic circuit (bench/device/synthetic-circuit.ts)
 * is the bench circuit: its .r1cs is byte for byte what circom2 writes for
 * MulChain(steps) (circuits/src/lib/mulchain.circom) and its witness is the
 * one circom's witness wasm computes, for random steps and inputs (seed
 * logged). At bench sizes it fills the domain benchCircuitSpec chooses, and a
 * development key made from it proves natively to a proof snarkjs accepts
 * (and refuses with a tampered public signal).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepsForDomain, syntheticCircuit, syntheticR1cs, syntheticWtns } from '../../bench/device/synthetic-circuit.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { loadNativeBackend } from '../../src/prover/backends/index.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { prove } from '../../src/prover/groth16.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { parseWtns } from '../../src/prover/io/wtns.ts';
import { readZkey } from '../../src/prover/io/zkey.ts';
import { readR1cs } from '../../src/setup/r1cs.ts';
import { devSetup } from '../../src/setup/dev-setup.ts';
import { setupDomain } from '../../src/setup/domain.ts';
import { testRandom } from '../helpers/random.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const CIRCOM = join(ROOT, 'node_modules', '.bin', 'circom2');
const rng = testRandom('bench-device synthetic circuit');

let dir: string;
let native: ProverBackend;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkp-bench-device-'));
  native = await loadNativeBackend();
});

afterAll(async () => {
  await native?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the synthetic MulChain circuit', () => {
  it('matches circom2: the same .r1cs bytes and the same witness', async () => {
    const steps = 3 + rng.int(40);
    const a = rng.below(BN254_R);
    const b = rng.below(BN254_R);
    // circom2 (WASI) reads only below its working directory: compile in a folder holding both files.
    await copyFile(join(ROOT, 'circuits', 'src', 'lib', 'mulchain.circom'), join(dir, 'mulchain.circom'));
    await writeFile(join(dir, 'main.circom'), `pragma circom 2.1.0;\ninclude "mulchain.circom";\ncomponent main { public [a] } = MulChain(${steps});\n`);
    await run(CIRCOM, ['main.circom', '--r1cs', '--wasm', '-o', '.'], { cwd: dir });
    const circomWtns = join(dir, 'circom.wtns');
    await (await snarkjs()).wtns.calculate({ a: a.toString(), b: b.toString() }, join(dir, 'main_js', 'main.wasm'), circomWtns);

    const circuit = syntheticCircuit(steps, a, b);
    expect(Buffer.from(circuit.r1cs).equals(await readFile(join(dir, 'main.r1cs')))).toBe(true);
    const theirs = parseWtns(new Uint8Array(await readFile(circomWtns)), 'circom.wtns');
    expect(theirs.nWitness).toBe(circuit.witness.nWitness);
    expect(Buffer.from(theirs.values).equals(Buffer.from(circuit.witness.values))).toBe(true);
    // The .wtns the ladder writes reads back to the same witness.
    expect(Buffer.from(parseWtns(circuit.wtns, 'synthetic.wtns').values).equals(Buffer.from(circuit.witness.values))).toBe(true);
    // The r1cs and the witness alone (bench:prover --no-circom) are the same bytes.
    expect(Buffer.from(syntheticR1cs(steps)).equals(await readFile(join(dir, 'main.r1cs')))).toBe(true);
    expect(Buffer.from(syntheticWtns(steps, a, b)).equals(Buffer.from(circuit.wtns))).toBe(true);
  });

  it('fills the domain the bench circuit of each size uses', async () => {
    for (const log2n of [5, 10, 16, 20, 22]) expect(setupDomain(stepsForDomain(log2n), 2, 'synthetic').log2n).toBe(log2n);
    const path = join(dir, 'domain.r1cs');
    await writeFile(path, syntheticCircuit(stepsForDomain(10), 1n, 2n).r1cs);
    const read = await readR1cs(path);
    expect([read.nConstraints, read.nWires, read.nPublic]).toEqual([stepsForDomain(10), stepsForDomain(10) + 3, 2]);
    expect(() => stepsForDomain(4)).toThrow(/log2n must be an integer in 5\.\.27/);
    expect(() => syntheticCircuit(10, BN254_R, 1n)).toThrow(/input a must be in 0\.\.r-1/);
  });

  it('proves with a development key, and snarkjs verifies the proof', async () => {
    const circuit = syntheticCircuit(stepsForDomain(8), rng.below(BN254_R), rng.below(BN254_R));
    const paths = { r1cs: join(dir, 'p.r1cs'), zkey: join(dir, 'p.zkey'), vkey: join(dir, 'p.vkey.json') };
    await writeFile(paths.r1cs, circuit.r1cs);
    await devSetup({ r1csPath: paths.r1cs, zkeyPath: paths.zkey, vkeyPath: paths.vkey });
    const { proof, publicSignals } = await prove(await readZkey(paths.zkey), circuit.witness, { backend: native });
    const vkey = JSON.parse(await readFile(paths.vkey, 'utf8')) as unknown;
    const sj = await snarkjs();
    expect(await sj.groth16.verify(vkey, publicSignals, proof)).toBe(true);
    const tampered = [publicSignals[0]!, ((BigInt(publicSignals[1]!) + 1n) % BN254_R).toString()];
    expect(await sj.groth16.verify(vkey, tampered, proof)).toBe(false);
  });
});
