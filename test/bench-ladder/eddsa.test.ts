/**
 * The ladder's EdDSA rung: the signer (bench/lib/eddsa-poseidon.ts) makes
 * signatures circomlib's EdDSAPoseidonVerifier accepts. At the smallest rung
 * (2^13, one signature) the witness computes for a signed input and fails for
 * a forged one, and proofs with the dev key, from snarkjs and from the native
 * prover, verify with snarkjs.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE8, JUB_ORDER, mulPoint, onCurve, poseidon, randomScalar, signPoseidon, verifyPoseidon } from '../../bench/lib/eddsa-poseidon.ts';
import { buildLadderCircuit, eddsaBatchInput, eddsaSignatures, ladderCircuit } from '../../bench/lib/ladder-circuits.ts';
import { readR1csHeader } from '../../scripts/build-circuits.ts';
import { releaseCurve, snarkjs } from '../../src/prover/ffjs.ts';
import { prove } from '../../src/prover/groth16.ts';
import { parseWtns } from '../../src/prover/io/wtns.ts';
import { parseZkey } from '../../src/prover/io/zkey.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import { prepareWitnessCalculator } from '../../src/prover/witness.ts';
import { Prng } from '../../src/random/prng.ts';
import { testSeed } from '../helpers/random.ts';

const seed = testSeed('eddsa');

afterAll(async () => {
  await releaseCurve();
});

describe('EdDSA-Poseidon signer', () => {
  it('hashes as circomlib Poseidon does and signs so that the equation holds', () => {
    // Poseidon(1, 2) with circomlib's constants, the value its own tests pin.
    expect(poseidon([1n, 2n])).toBe(7853200120776062878684798364095072458815029376092732009249414926327459813530n);
    expect(onCurve(BASE8)).toBe(true);
    expect(mulPoint(BASE8, JUB_ORDER)).toEqual({ x: 0n, y: 1n });
    const rng = new Prng(seed);
    const message = rng.below(1n << 250n);
    const signature = signPoseidon(randomScalar(rng), randomScalar(rng), message);
    expect(onCurve(signature.A)).toBe(true);
    expect(verifyPoseidon(signature, message)).toBe(true);
    expect(verifyPoseidon(signature, message + 1n)).toBe(false);
    expect(verifyPoseidon({ ...signature, S: (signature.S + 1n) % JUB_ORDER }, message)).toBe(false);
  });

  it('sizes the rung: one signature from 2^13, skipped below', () => {
    expect(eddsaSignatures(12)).toBe(0);
    expect(eddsaSignatures(13)).toBe(1);
    expect(eddsaSignatures(16)).toBe(8);
    expect(eddsaSignatures(20)).toBe(129);
    expect(ladderCircuit('eddsa', 12)).toEqual({ skipped: 'one EdDSA-Poseidon signature check (~8086 constraints) does not fit 2^12' });
  });

  it('eddsa-13: circomlib accepts the signature, refuses a forged one, and proofs verify with snarkjs', async () => {
    const circuit = ladderCircuit('eddsa', 13);
    if ('skipped' in circuit) throw new Error(circuit.skipped);
    const built = await buildLadderCircuit(circuit);
    const header = await readR1csHeader(built.r1cs);
    expect(header.nConstraints).toBe(8086);
    expect(header.nPublic).toBe(1);
    expect(built.power).toBe(13);

    const calculator = await prepareWitnessCalculator(await readFile(built.wasm));
    const symText = await readFile(built.sym, 'utf8');
    const input = eddsaBatchInput(new Prng(seed), 1);
    const wtns = calculator.calculateWtns(input, { inputLabel: 'signed input', symText });

    const forged = { ...input, M: [String(BigInt((input.M as string[])[0] ?? '0') + 1n)] };
    expect(() => calculator.calculateWtns(forged, { inputLabel: 'forged input', symText })).toThrow(/assert failed .*ForceEqualIfEnabled/);

    const sj = await snarkjs();
    const zkeyBytes = await readFile(built.zkey);
    const vkey = JSON.parse(await readFile(built.vkey, 'utf8')) as unknown;
    const fromSnarkjs = await sj.groth16.prove(zkeyBytes, wtns);
    expect(fromSnarkjs.publicSignals).toEqual(input.M);
    expect(await sj.groth16.verify(vkey, fromSnarkjs.publicSignals, fromSnarkjs.proof)).toBe(true);

    const native = await openBackend('native');
    try {
      const ours = await prove(parseZkey(zkeyBytes, built.zkey), parseWtns(wtns, 'signed input'), { backend: native });
      expect(ours.publicSignals).toEqual(input.M);
      expect(await sj.groth16.verify(vkey, ours.publicSignals, ours.proof)).toBe(true);
    } finally {
      await native.close();
    }
  }, 300_000);
});
