/** Input JSON problems are reported by signal name, before any WASM runs. */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MismatchError } from '../../src/errors/index.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { calculateWitness, parseInputJson, type WitnessSources } from '../../src/prover/witness.ts';
import { testCircuit } from '../helpers/circuits.ts';

let manypublic: WitnessSources;
let mulchain: WitnessSources;

beforeAll(async () => {
  const many = await testCircuit('manypublic');
  manypublic = { wasm: await readFile(many.wasm), inputLabel: 'in.json', symText: await readFile(many.sym, 'utf8') };
  const chain = await testCircuit('mulchain');
  mulchain = { wasm: await readFile(chain.wasm), inputLabel: 'in.json', symText: await readFile(chain.sym, 'utf8') };
});

describe('input JSON', () => {
  it('rejects malformed JSON and non-objects', () => {
    expect(() => parseInputJson('{"a": 1,', 'in.json')).toThrow(/in\.json: malformed JSON/);
    expect(() => parseInputJson('[1, 2]', 'in.json')).toThrow(/must be a JSON object/);
  });

  it('names a missing signal (from the .sym file) or counts it without one', async () => {
    await expect(calculateWitness({ a: 1 }, mulchain)).rejects.toThrow(/in\.json: missing input signal b$/);
    const { symText: _unused, ...withoutSym } = mulchain;
    await expect(calculateWitness({ a: 1 }, withoutSym)).rejects.toThrow(/1 of the circuit's 2 input values are set/);
    const pub = Array.from({ length: 72 }, (_, index) => index);
    await expect(calculateWitness({ pub }, manypublic)).rejects.toThrow(/missing input signal secret/);
  });

  it('names an out-of-range, badly typed, unknown or wrongly sized signal', async () => {
    await expect(calculateWitness({ a: BN254_R.toString(), b: 1 }, mulchain)).rejects.toThrow(/signal a = \d+ is out of range/);
    await expect(calculateWitness({ a: (-BN254_R).toString(), b: 1 }, mulchain)).rejects.toThrow(/signal a = -\d+ is out of range/);
    await expect(calculateWitness({ a: 'twelve', b: 1 }, mulchain)).rejects.toThrow(/signal a = "twelve" is not a number or a decimal string/);
    await expect(calculateWitness({ a: 1.5, b: 1 }, mulchain)).rejects.toThrow(InvalidArgumentError);
    await expect(calculateWitness({ a: 1, b: 1, c: 2 }, mulchain)).rejects.toThrow(/signal c is not an input of this circuit/);
    const pub = Array.from({ length: 71 }, (_, index) => index);
    await expect(calculateWitness({ pub, secret: 1 }, manypublic)).rejects.toThrow(MismatchError);
    const nested = Array.from({ length: 72 }, (_, index) => (index === 40 ? null : index));
    await expect(calculateWitness({ pub: nested, secret: 1 }, manypublic)).rejects.toThrow(/signal pub\[40\] = null/);
  });

  it('accepts decimal strings, numbers, hex and small negatives', async () => {
    const witness = await calculateWitness({ a: '-5', b: '0x10' }, mulchain);
    expect(witness.nWitness).toBe(1503);
  });
});
