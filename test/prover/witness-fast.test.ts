/**
 * Our witness calculator (src/prover/witness/) against snarkjs's
 * `wtns calculate` on the same circom wasm: the `.wtns` bytes must be
 * identical, for every circuit the repository builds, for multi-dimensional
 * array inputs and for seeded random inputs; and the circuit's own failures
 * (a failed assert, a constraint that cannot hold) and bad inputs must come
 * out as errors that name the place or the signal.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCircuitWasm, type BuiltWasm, TEST_CIRCUITS } from '../../scripts/build-circuits.ts';
import { InvalidArgumentError, MismatchError } from '../../src/errors/index.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { parseWtns } from '../../src/prover/io/wtns.ts';
import { calculateWitness, type PreparedWitnessCalculator, prepareWitnessCalculator, witnessCalculatorFor } from '../../src/prover/witness.ts';
import { randomInput, TEST_CIRCUIT_NAMES } from '../helpers/circuits.ts';
import { type SeededRandom, testRandom } from '../helpers/random.ts';

/** Circuits only these tests need: no proving key, the witness generator alone. */
const WITNESS_CIRCUITS = [
  { name: 'witness_arrays', mainSource: { file: 'witness_arrays.circom' } },
  { name: 'witness_checks', mainSource: { file: 'witness_checks.circom' } },
  { name: 'tiny', mainSource: { file: 'tiny.circom' } },
] as const;

interface Circuit {
  readonly built: BuiltWasm;
  readonly wasm: Uint8Array;
  readonly symText: string;
  readonly calculator: PreparedWitnessCalculator;
}

const circuits = new Map<string, Circuit>();

beforeAll(async () => {
  for (const spec of [...TEST_CIRCUITS, ...WITNESS_CIRCUITS]) {
    const built = await buildCircuitWasm(spec, (line) => console.log(`[circuits] ${line}`));
    const wasm = new Uint8Array(await readFile(built.wasm));
    circuits.set(spec.name, { built, wasm, symText: await readFile(built.sym, 'utf8'), calculator: await prepareWitnessCalculator(wasm) });
  }
});

function circuit(name: string): Circuit {
  const found = circuits.get(name);
  if (found === undefined) throw new Error(`no circuit ${name}`);
  return found;
}

/** snarkjs's `.wtns` bytes for `input` (values as bigints, so snarkjs reads them as we do). */
async function snarkjsWtns(input: Record<string, unknown>, wasm: Uint8Array): Promise<Uint8Array> {
  const out: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  await (await snarkjs()).wtns.calculate(asBigInts(input), wasm, out);
  if (out.data === undefined) throw new Error('snarkjs wrote no witness');
  return out.data;
}

function asBigInts(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asBigInts);
  if (typeof value === 'string' || typeof value === 'number') return BigInt(value);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, asBigInts(inner)]));
  return value;
}

async function expectSameAsSnarkjs(name: string, input: Record<string, unknown>): Promise<void> {
  const { calculator, wasm } = circuit(name);
  const ours = calculator.calculateWtns(input, { inputLabel: `${name} input` });
  const reference = await snarkjsWtns(input, wasm);
  expect(ours.byteLength, `${name}: .wtns size`).toBe(reference.byteLength);
  expect(Buffer.from(ours).equals(Buffer.from(reference)), `${name}: .wtns bytes for ${JSON.stringify(input)}`).toBe(true);
}

/** A field element written as the input JSON may give it: decimal, hex, a JSON number, or a negative in (-r, 0). */
function fieldValue(rng: SeededRandom): string | number {
  switch (rng.int(5)) {
    case 0:
      return rng.int(1000);
    case 1:
      return `0x${rng.below(BN254_R).toString(16)}`;
    case 2:
      return (-rng.below(BN254_R - 1n) - 1n).toString();
    case 3:
      return (BN254_R - 1n - BigInt(rng.int(3))).toString();
    default:
      return rng.below(BN254_R).toString();
  }
}

function arraysInput(rng: SeededRandom): Record<string, unknown> {
  return {
    grid: Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => fieldValue(rng))),
    cube: Array.from({ length: 2 }, () => Array.from({ length: 2 }, () => Array.from({ length: 2 }, () => fieldValue(rng)))),
    scale: fieldValue(rng),
  };
}

describe('identical .wtns bytes to snarkjs wtns calculate', () => {
  it('for every test circuit, with seeded random inputs', async () => {
    const rng = testRandom('witness-fast: test circuits');
    for (const name of TEST_CIRCUIT_NAMES) {
      for (let round = 0; round < 3; round++) await expectSameAsSnarkjs(name, randomInput(name, rng));
    }
    await expectSameAsSnarkjs('tiny', { a: fieldValue(rng), b: fieldValue(rng) });
  });

  it('for multi-dimensional array inputs (flattened row-major, as circom lays them out)', async () => {
    await expectSameAsSnarkjs('witness_arrays', {
      grid: [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, '12'],
      ],
      cube: [
        [
          ['1', '0x2'],
          [3, -4],
        ],
        [
          [5, 6],
          [7, (BN254_R - 1n).toString()],
        ],
      ],
      scale: 17,
    });
    const rng = testRandom('witness-fast: arrays');
    for (let round = 0; round < 10; round++) await expectSameAsSnarkjs('witness_arrays', arraysInput(rng));
  });

  it('for random values of every form (numbers, hex, negatives, values near r)', async () => {
    const rng = testRandom('witness-fast: value forms');
    for (let round = 0; round < 10; round++) {
      await expectSameAsSnarkjs('mulchain', { a: fieldValue(rng), b: fieldValue(rng) });
      await expectSameAsSnarkjs('witness_checks', { x: rng.int(7), y: rng.int(1000) + 1 });
    }
  });

  it('through calculateWitness, which keeps one compiled module per wasm array', async () => {
    const rng = testRandom('witness-fast: calculateWitness');
    const { wasm } = circuit('manypublic');
    const input = randomInput('manypublic', rng);
    const witness = await calculateWitness(input, { wasm, inputLabel: 'manypublic input' });
    const reference = parseWtns(await snarkjsWtns(input, wasm), 'snarkjs witness');
    expect(witness.nWitness).toBe(reference.nWitness);
    expect(Buffer.from(witness.values).equals(Buffer.from(reference.values))).toBe(true);
    expect(witness.label).toBe('witness of manypublic input');
    expect(witnessCalculatorFor(wasm)).toBe(witnessCalculatorFor(wasm));
    expect(witnessCalculatorFor(wasm)).not.toBe(witnessCalculatorFor(new Uint8Array(wasm)));
  });

  it('reports the circuit: witness size, input count, circom version', () => {
    const { calculator } = circuit('witness_arrays');
    expect(calculator.nInputs).toBe(12 + 8 + 1);
    expect(calculator.nWitness).toBeGreaterThan(calculator.nInputs);
    expect(calculator.circomVersion).toMatch(/^2\.\d+\.\d+$/);
  });
});

describe('errors', () => {
  const label = { inputLabel: 'in.json' };

  it('a failed assert names the template and line, with its callers', () => {
    const { calculator } = circuit('witness_checks');
    let thrown: unknown;
    try {
      calculator.calculate({ x: 7, y: 5 }, label);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as Error).message).toMatch(
      /^in\.json: the input does not satisfy the circuit \(assert failed in template NotSeven_\d+ line 8, called from Checks_\d+ line 17\)$/,
    );
  });

  it('a constraint that cannot hold while computing the witness names its line', () => {
    const { calculator } = circuit('witness_checks');
    expect(() => calculator.calculate({ x: 3, y: 0 }, label)).toThrow(
      /in\.json: the input does not satisfy the circuit \(assert failed in template Checks_\d+ line 21\)/,
    );
  });

  it('a failed run leaves the prepared calculator usable', async () => {
    const { calculator } = circuit('witness_checks');
    expect(() => calculator.calculate({ x: 7, y: 5 }, label)).toThrow(InvalidArgumentError);
    await expectSameAsSnarkjs('witness_checks', { x: 6, y: 5 });
  });

  it("passes the circuit's log() lines to onLog", () => {
    const lines: string[] = [];
    circuit('witness_checks').calculator.calculate({ x: 3, y: 5 }, { ...label, onLog: (line) => lines.push(line) });
    expect(lines).toEqual(['product 15']);
  });

  it('names missing signals from the .sym, or counts them without it', () => {
    const { calculator, symText } = circuit('witness_arrays');
    const grid = Array.from({ length: 3 }, () => [1, 2, 3, 4]);
    expect(() => calculator.calculate({ grid }, { ...label, symText })).toThrow(/^in\.json: missing input signals scale, cube$/);
    expect(() => calculator.calculate({ grid, scale: 1 }, label)).toThrow(/^in\.json: missing input signals: 13 of the circuit's 21 input values are set$/);
  });

  it('refuses too many or too few values, and unknown signals', () => {
    const { calculator } = circuit('witness_arrays');
    const cube = [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ];
    const grid = Array.from({ length: 3 }, () => [1, 2, 3, 4]);
    expect(() => calculator.calculate({ grid: [...grid, [5, 6, 7, 8]], cube, scale: 1 }, label)).toThrow(MismatchError);
    expect(() => calculator.calculate({ grid: [...grid, [5, 6, 7, 8]], cube, scale: 1 }, label)).toThrow(
      /^in\.json: signal grid has 16 value\(s\) but the circuit expects 12$/,
    );
    expect(() => calculator.calculate({ grid, cube, scale: [1, 2] }, label)).toThrow(/signal scale has 2 value\(s\) but the circuit expects 1/);
    expect(() => calculator.calculate({ grid, cube: cube[0], scale: 1 }, label)).toThrow(/signal cube has 4 value\(s\) but the circuit expects 8/);
    expect(() => calculator.calculate({ grid, cube, scale: 1, rowSums: [1, 2, 3] }, label)).toThrow(/signal rowSums is not an input of this circuit/);
    expect(() => calculator.calculate({ grid, cube, scale: 1, nothing: 1 }, label)).toThrow(/signal nothing is not an input of this circuit/);
  });

  it('refuses out-of-range and malformed values by their path', () => {
    const { calculator } = circuit('witness_arrays');
    const cube = [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ];
    const grid = Array.from({ length: 3 }, () => [1, 2, 3, 4]);
    const tooBig = grid.map((row, index) => (index === 2 ? [1, 2, BN254_R.toString(), 4] : row));
    expect(() => calculator.calculate({ grid: tooBig, cube, scale: 1 }, label)).toThrow(/^in\.json: signal grid\[2\]\[2\] = \d+ is out of range/);
    expect(() => calculator.calculate({ grid, cube, scale: (-BN254_R).toString() }, label)).toThrow(/signal scale = -\d+ is out of range/);
    expect(() =>
      calculator.calculate(
        {
          grid,
          cube: [
            [
              [1, 2],
              [3, 'x'],
            ],
            cube[1],
          ],
          scale: 1,
        },
        label,
      ),
    ).toThrow(/signal cube\[0\]\[1\]\[1\] = "x" is not a number/);
  });

  it('refuses bytes that are not a circom 2 witness generator', async () => {
    await expect(prepareWitnessCalculator(new Uint8Array([1, 2, 3]))).rejects.toThrow(/circuit \.wasm could not be loaded/);
    // The smallest valid module: magic and version, nothing exported.
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await expect(prepareWitnessCalculator(empty)).rejects.toThrow(/not a circom 2 witness generator: it does not export getVersion, .*memory$/);
  });
});
