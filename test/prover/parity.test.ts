/**
 * Parity: for each test circuit and a random input (seed logged), every
 * available backend's proof verifies with snarkjs, and with fixed r and s its
 * proof equals snarkjs.groth16.prove's exactly.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { snarkjs, type FfCurve, type SnarkjsModule } from '../../src/prover/ffjs.ts';
import { prove } from '../../src/prover/groth16.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { readZkey } from '../../src/prover/io/zkey.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { calculateWitness } from '../../src/prover/witness.ts';
import { ALL_BACKENDS_TEST_TIMEOUT_MS, expectWorkOnDevice, isSoftwareGpu, openBackendsUnderTest, workCounts } from '../helpers/backends.ts';
import { randomInput, testCircuit, TEST_CIRCUIT_NAMES } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

let backends: ProverBackend[] = [];
let sj: SnarkjsModule;

beforeAll(async () => {
  backends = await openBackendsUnderTest();
  sj = await snarkjs();
});

afterAll(async () => {
  for (const backend of backends) await backend.close();
});

/** snarkjs.groth16.prove with curve.Fr.random() temporarily returning r then s. */
async function snarkjsProveWith(zkeyPath: string, witnessBytes: Uint8Array, r: bigint, s: bigint) {
  const curve = await (sj as unknown as { curves: { getCurveFromName(name: string): Promise<FfCurve> } }).curves.getCurveFromName('bn128');
  const fr = curve.Fr as { random: () => Uint8Array };
  const original = fr.random;
  const queue = [r, s];
  fr.random = () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('snarkjs drew more than r and s');
    return curve.Fr.e(next);
  };
  try {
    return await sj.groth16.prove(zkeyPath, { type: 'mem', data: witnessBytes } as unknown as Uint8Array);
  } finally {
    fr.random = original;
  }
}

/** A .wtns file image (version 2) from witness values, for snarkjs's in-memory reader. */
function wtnsFile(values: Uint8Array, nWitness: number): Uint8Array {
  const header = new Uint8Array(4 + 32 + 4);
  const headerView = new DataView(header.buffer);
  headerView.setUint32(0, 32, true);
  let prime = BN254_R;
  for (let index = 0; index < 32; index++, prime >>= 8n) header[4 + index] = Number(prime & 0xffn);
  headerView.setUint32(36, nWitness, true);
  const out = new Uint8Array(12 + 12 + header.byteLength + 12 + values.byteLength);
  const view = new DataView(out.buffer);
  out.set([0x77, 0x74, 0x6e, 0x73]); // "wtns"
  view.setUint32(4, 2, true);
  view.setUint32(8, 2, true);
  view.setUint32(12, 1, true);
  view.setUint32(16, header.byteLength, true);
  out.set(header, 24);
  const second = 24 + header.byteLength;
  view.setUint32(second, 2, true);
  view.setUint32(second + 4, values.byteLength, true);
  out.set(values, second + 12);
  return out;
}

describe('groth16 parity with snarkjs', () => {
  for (const name of TEST_CIRCUIT_NAMES) {
    it(
      `${name}: every backend equals snarkjs for fixed r, s and verifies for random r, s`,
      async () => {
        const rng = testRandom(`parity ${name}`);
        const circuit = await testCircuit(name);
        const zkey = await readZkey(circuit.zkey);
        const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
        const witness = await calculateWitness(randomInput(name, rng), { wasm: await readFile(circuit.wasm), inputLabel: `${name} input` });
        const r = rng.below(BN254_R);
        const s = rng.below(BN254_R);
        const reference = await snarkjsProveWith(circuit.zkey, wtnsFile(witness.values, witness.nWitness), r, s);
        expect(await verifyProof(vkey, reference.publicSignals, reference.proof)).toBe(true);

        for (const backend of backends) {
          if (isSoftwareGpu(backend) && name !== 'manypublic') {
            console.log(`[parity ${name}] ${backend.name} on a software GPU covers the smallest circuit (manypublic) only`);
            continue;
          }
          const before = workCounts(backend);
          const fixed = [r, s];
          const ours = await prove(zkey, witness, { backend, random: () => fixed.shift()! });
          expect(ours.publicSignals, `${backend.name} public signals`).toEqual(reference.publicSignals);
          expect(ours.proof, `${backend.name} proof with fixed r, s`).toEqual(reference.proof);
          expect(JSON.stringify(ours.proof), `${backend.name} proof.json text`).toBe(JSON.stringify(reference.proof));

          const fresh = await prove(zkey, witness, { backend });
          expect(await verifyProof(vkey, fresh.publicSignals, fresh.proof), `${backend.name} proof with random r, s verifies`).toBe(true);
          expect(fresh.proof.pi_a, `${backend.name} draws fresh r`).not.toEqual(ours.proof.pi_a);
          expectWorkOnDevice(backend, before, `parity ${name}`);
        }
      },
      ALL_BACKENDS_TEST_TIMEOUT_MS,
    );
  }

  it('a proof for different public signals does not verify (the check is real)', async () => {
    const rng = testRandom('parity negative');
    const circuit = await testCircuit('mulchain');
    const zkey = await readZkey(circuit.zkey);
    const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
    const witness = await calculateWitness(randomInput('mulchain', rng), { wasm: await readFile(circuit.wasm), inputLabel: 'mulchain input' });
    const backend = backends[0]!;
    const { proof, publicSignals } = await prove(zkey, witness, { backend });
    const tampered = [...publicSignals];
    tampered[0] = ((BigInt(tampered[0]!) + 1n) % BN254_R).toString();
    expect(await verifyProof(vkey, tampered, proof)).toBe(false);
  });
});
