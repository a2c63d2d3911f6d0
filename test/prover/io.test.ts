/**
 * The file readers reject damaged or mismatched files with a named error
 * whose message says what is wrong, and accept the real thing.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptFileError, MismatchError, NotFoundError } from '../../src/errors/index.ts';
import { parseWtns, checkWitnessFitsZkey, readWtns } from '../../src/prover/io/wtns.ts';
import { parseZkey, readZkey, type Groth16Zkey } from '../../src/prover/io/zkey.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { calculateWitness } from '../../src/prover/witness.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

let zkeyBytes: Uint8Array;
let zkey: Groth16Zkey;
let otherZkey: Groth16Zkey;

/** Byte offset of a section's 12-byte header (type u32, size u64) in a container file. */
function sectionHeaderAt(bytes: Uint8Array, type: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let cursor = 12;
  for (let index = 0; index < view.getUint32(8, true); index++) {
    if (view.getUint32(cursor, true) === type) return cursor;
    cursor += 12 + view.getUint32(cursor + 4, true);
  }
  throw new Error(`no section ${type}`);
}

beforeAll(async () => {
  const circuit = await testCircuit('mulchain');
  zkeyBytes = new Uint8Array(await readFile(circuit.zkey));
  zkey = await readZkey(circuit.zkey);
  otherZkey = await readZkey((await testCircuit('manypublic')).zkey);
});

describe('zkey reader', () => {
  it('reads the header of a real zkey', () => {
    expect(zkey.nVars).toBe(1503);
    expect(zkey.nPublic).toBe(2);
    expect(zkey.domainSize).toBe(2048);
    expect(zkey.bases.A.byteLength).toBe(1503 * 64);
    expect(zkey.bases.C.byteLength).toBe((1503 - 2 - 1) * 64);
    expect(zkey.bases.H.byteLength).toBe(2048 * 64);
    expect(zkey.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects truncated files at any cut', () => {
    for (const length of [0, 7, 12, 100, zkeyBytes.byteLength >> 1, zkeyBytes.byteLength - 1]) {
      expect(() => parseZkey(zkeyBytes.subarray(0, length), 'cut.zkey'), `cut at ${length}`).toThrow(CorruptFileError);
    }
    expect(() => parseZkey(zkeyBytes.subarray(0, zkeyBytes.byteLength - 1), 'cut.zkey')).toThrow(/truncated/);
  });

  it('rejects a wrong magic naming the file type', () => {
    const bytes = zkeyBytes.slice();
    bytes[0] = 0x78;
    expect(() => parseZkey(bytes, 'bad.zkey')).toThrow(/bad\.zkey: not a \.zkey file/);
  });

  it('rejects a corrupt section length', () => {
    const bytes = zkeyBytes.slice();
    const at = sectionHeaderAt(bytes, 5);
    const view = new DataView(bytes.buffer);
    view.setUint32(at + 4, view.getUint32(at + 4, true) - 64, true);
    expect(() => parseZkey(bytes, 'len.zkey')).toThrow(CorruptFileError);
    view.setUint32(at + 4, view.getUint32(at + 4, true) + 10_000_000, true);
    expect(() => parseZkey(bytes, 'len.zkey')).toThrow(/truncated or corrupt/);
  });

  it('rejects header counts that disagree with the sections', () => {
    const bytes = zkeyBytes.slice();
    const header = sectionHeaderAt(bytes, 2) + 12;
    const view = new DataView(bytes.buffer);
    const nVarsAt = header + 4 + 32 + 4 + 32;
    view.setUint32(nVarsAt, view.getUint32(nVarsAt, true) + 1, true);
    expect(() => parseZkey(bytes, 'count.zkey')).toThrow(/section 3|section 5|nVars/);
  });

  it('rejects a zkey for another curve and a non-groth16 protocol', () => {
    const curve = zkeyBytes.slice();
    const qLowByte = sectionHeaderAt(curve, 2) + 12 + 4;
    curve[qLowByte] = curve[qLowByte]! ^ 0x01;
    expect(() => parseZkey(curve, 'curve.zkey')).toThrow(/curve other than BN254/);
    const plonk = zkeyBytes.slice();
    new DataView(plonk.buffer).setUint32(sectionHeaderAt(plonk, 1) + 12, 2, true);
    expect(() => parseZkey(plonk, 'plonk.zkey')).toThrow(/not a Groth16 proving key \(protocol is plonk\)/);
  });

  it('rejects an out-of-range coefficient entry', () => {
    const bytes = zkeyBytes.slice();
    const first = sectionHeaderAt(bytes, 4) + 12 + 4;
    new DataView(bytes.buffer).setUint32(first + 8, 1_000_000, true); // signal index
    expect(() => parseZkey(bytes, 'coef.zkey')).toThrow(/coeffs entry 0 is out of range/);
  });

  it('reports a missing file as NotFoundError naming it', async () => {
    await expect(readZkey('/nonexistent/circuit.zkey')).rejects.toThrow(NotFoundError);
    await expect(readZkey('/nonexistent/circuit.zkey')).rejects.toThrow(/\/nonexistent\/circuit\.zkey: no such file/);
  });
});

describe('wtns reader', () => {
  it('accepts a real witness and ties it to its own zkey only', async () => {
    const rng = testRandom('io wtns');
    const circuit = await testCircuit('mulchain');
    const witness = await calculateWitness(randomInput('mulchain', rng), { wasm: await readFile(circuit.wasm), inputLabel: 'input' });
    expect(witness.nWitness).toBe(zkey.nVars);
    expect(() => checkWitnessFitsZkey(witness, zkey)).not.toThrow();
    expect(() => checkWitnessFitsZkey(witness, otherZkey)).toThrow(MismatchError);
    expect(() => checkWitnessFitsZkey(witness, otherZkey)).toThrow(/witness has 1503 values but .* expects 1018 \(is this the witness of another circuit\?\)/);
  });

  it('rejects witness[0] != 1, unreduced values and truncation', async () => {
    const rng = testRandom('io wtns corrupt');
    const circuit = await testCircuit('mulchain');
    const witness = await calculateWitness(randomInput('mulchain', rng), { wasm: await readFile(circuit.wasm), inputLabel: 'input' });
    const values = witness.values.slice();
    values[0] = 2;
    expect(() => checkWitnessFitsZkey({ ...witness, values }, zkey)).toThrow(/witness\[0\] is 2 but must be 1/);
    const file = buildWtns(witness.values);
    expect(() => parseWtns(file.subarray(0, file.byteLength - 5), 'cut.wtns')).toThrow(CorruptFileError);
    const unreduced = buildWtns(witness.values);
    unreduced.fill(0xff, unreduced.byteLength - 32);
    expect(() => parseWtns(unreduced, 'big.wtns')).toThrow(/witness value 1502 is not reduced/);
    expect(() => parseWtns(zkeyBytes, 'swapped.wtns')).toThrow(/not a \.wtns file/);
    await expect(readWtns('/nonexistent/w.wtns')).rejects.toThrow(NotFoundError);
  });
});

function buildWtns(values: Uint8Array): Uint8Array {
  const n = values.byteLength / 32;
  const out = new Uint8Array(12 + 12 + 40 + 12 + values.byteLength);
  const view = new DataView(out.buffer);
  out.set([0x77, 0x74, 0x6e, 0x73]);
  view.setUint32(4, 2, true);
  view.setUint32(8, 2, true);
  view.setUint32(12, 1, true);
  view.setUint32(16, 40, true);
  view.setUint32(24, 32, true);
  let prime = BN254_R;
  for (let index = 0; index < 32; index++, prime >>= 8n) out[28 + index] = Number(prime & 0xffn);
  view.setUint32(60, n, true);
  view.setUint32(64, 2, true);
  view.setUint32(68, values.byteLength, true);
  out.set(values, 76);
  return out;
}
