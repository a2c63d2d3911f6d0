/**
 * The bench circuit (circuits/src/lib/mulchain.circom, as
 * scripts/build-circuits.ts benchCircuitSpec sizes it) written straight to
 * circom's .r1cs layout with its witness computed here, so a host with no
 * circom and no witness wasm (the offline GPU host) can still make circuits
 * of 2^10..2^22 constraints. The file is byte for byte what circom 2.1
 * writes for MulChain(steps) (test/bench-device checks it against circom2):
 * with its linear `x[0] <== a` and `out <== x[steps]` folded away, step i is
 *
 *   -(x[i] + b) * x[i] = i - x[i+1]       (terms sorted by wire)
 *
 * Wires, in circom's order: 0 the constant 1, 1 out (public output),
 * 2 a (public input, x[0]), 3 b (private input), 4.. x[1]..x[steps-1]
 * (x[steps] is out). Labels also count the folded x[0] and x[steps], so
 * wire w >= 4 has label w + 1. Coefficients are standard-form Fr (32 bytes LE);
 * the sections are in circom's order: 2 (constraints), 1 (header), 3 (labels).
 */
import { BN254_N8, BN254_R } from '../../src/prover/io/bn254.ts';
import type { Witness } from '../../src/prover/io/wtns.ts';

/** Public signals: out and a. */
const N_PUBLIC = 2;
const TERM_BYTES = 4 + BN254_N8;
const HEADER_BYTES = 4 + BN254_N8 + 4 * 4 + 8 + 4;

export interface SyntheticCircuit {
  readonly steps: number;
  readonly nWires: number;
  readonly nConstraints: number;
  readonly nPublic: number;
  /** The whole .r1cs file. */
  readonly r1cs: Uint8Array;
  /** The whole .wtns file (version 2). */
  readonly wtns: Uint8Array;
  /** The witness as the prover takes it. */
  readonly witness: Witness;
}

/**
 * Steps that fill a domain of 2^log2n as benchCircuitSpec does (constraints
 * + public signals + 1 stay under 2^log2n); from 2^5 up, where that many
 * rows need the whole 2^log2n.
 */
export function stepsForDomain(log2n: number): number {
  if (!Number.isInteger(log2n) || log2n < 5 || log2n > 27) throw new RangeError(`log2n must be an integer in 5..27, got ${log2n}`);
  return 2 ** log2n - 2 - 1 - 8;
}

/** MulChain(steps) with inputs a and b (each below r). */
export function syntheticCircuit(steps: number, a: bigint, b: bigint): SyntheticCircuit {
  const values = witnessValues(steps, a, b);
  const nWires = steps + 3;
  return {
    steps,
    nWires,
    nConstraints: steps,
    nPublic: N_PUBLIC,
    r1cs: r1csFile(steps, nWires, wireOfXFor(steps)),
    wtns: wtnsFile(values),
    witness: { label: `synthetic mulchain ${steps} witness`, nWitness: nWires, values },
  };
}

/** The .r1cs file of MulChain(steps) alone (it does not depend on the inputs). */
export function syntheticR1cs(steps: number): Uint8Array {
  checkSteps(steps);
  return r1csFile(steps, steps + 3, wireOfXFor(steps));
}

/** The .wtns file of MulChain(steps) for inputs a and b alone, without building the .r1cs. */
export function syntheticWtns(steps: number, a: bigint, b: bigint): Uint8Array {
  return wtnsFile(witnessValues(steps, a, b));
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`steps must be an integer of at least 2, got ${steps}`);
}

function wireOfXFor(steps: number): (index: number) => number {
  return (index) => (index === 0 ? 2 : index === steps ? 1 : 3 + index);
}

/** Every wire's value, standard-form Fr, 32 bytes LE each, in circom's wire order. */
function witnessValues(steps: number, a: bigint, b: bigint): Uint8Array {
  checkSteps(steps);
  for (const [name, value] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (value < 0n || value >= BN254_R) throw new RangeError(`input ${name} must be in 0..r-1`);
  }
  const values = new Uint8Array((steps + 3) * BN254_N8);
  const valuesView = new DataView(values.buffer);
  const wireOfX = wireOfXFor(steps);
  writeFrAt(valuesView, 0, 1n);
  writeFrAt(valuesView, 2, a);
  writeFrAt(valuesView, 3, b);
  let x = a;
  for (let index = 0; index < steps; index++) {
    x = (x * ((x + b) % BN254_R) + BigInt(index)) % BN254_R;
    writeFrAt(valuesView, wireOfX(index + 1), x);
  }
  return values;
}

function r1csFile(steps: number, nWires: number, wireOfX: (index: number) => number): Uint8Array {
  // A: 2 terms; B: 1 term; C: 1 term at step 0, else 2.
  const constraintBytes = steps * 3 * 4 + (5 * steps - 1) * TERM_BYTES;
  const labelBytes = nWires * 8;
  const file = new BinWriter('r1cs', 1, [
    [2, constraintBytes],
    [1, HEADER_BYTES],
    [3, labelBytes],
  ]);
  const minusOne = BN254_R - 1n;

  const constraints = file.section(0);
  const term = (wire: number, coefficient: bigint): void => {
    constraints.u32(wire);
    constraints.fr(coefficient);
  };
  for (let index = 0; index < steps; index++) {
    const x = wireOfX(index);
    constraints.u32(2);
    for (const wire of x < 3 ? [x, 3] : [3, x]) term(wire, minusOne);
    constraints.u32(1);
    term(x, 1n);
    constraints.u32(index === 0 ? 1 : 2);
    if (index > 0) term(0, BigInt(index));
    term(wireOfX(index + 1), minusOne);
  }

  const header = file.section(1);
  header.u32(BN254_N8);
  header.fr(BN254_R);
  header.u32(nWires);
  header.u32(1); // public outputs
  header.u32(1); // public inputs
  header.u32(1); // private inputs
  header.u64(steps + 5); // labels: the wires plus the folded x[0] and x[steps]
  header.u32(steps);

  const labels = file.section(2);
  for (let wire = 0; wire < nWires; wire++) labels.u64(wire < 4 ? wire : wire + 1);
  return file.finish();
}

function wtnsFile(values: Uint8Array): Uint8Array {
  const file = new BinWriter('wtns', 2, [
    [1, 4 + BN254_N8 + 4],
    [2, values.byteLength],
  ]);
  const header = file.section(0);
  header.u32(BN254_N8);
  header.fr(BN254_R);
  header.u32(values.byteLength / BN254_N8);
  file.section(1).bytes(values);
  return file.finish();
}

function writeFrAt(view: DataView, index: number, value: bigint): void {
  const offset = index * BN254_N8;
  for (let word = 0; word < 4; word++) view.setBigUint64(offset + 8 * word, BigInt.asUintN(64, value >> BigInt(64 * word)), true);
}

/** The iden3 container (src/prover/io/binfile.ts reads it), sections of known sizes written in order. */
class BinWriter {
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private readonly starts: number[] = [];
  private readonly sizes: readonly number[];

  private cursor = 0;
  private current = -1;

  /** sections: [type, size in bytes], in file order. */
  constructor(magic: string, version: number, sections: ReadonlyArray<readonly [number, number]>) {
    const sizes = sections.map(([, size]) => size);
    this.sizes = sizes;
    this.buffer = new Uint8Array(12 + sizes.reduce((total, size) => total + 12 + size, 0));
    this.view = new DataView(this.buffer.buffer);
    for (let index = 0; index < 4; index++) this.buffer[index] = magic.charCodeAt(index);
    this.view.setUint32(4, version, true);
    this.view.setUint32(8, sizes.length, true);
    let at = 12;
    for (const [type, size] of sections) {
      this.view.setUint32(at, type, true);
      this.view.setBigUint64(at + 4, BigInt(size), true);
      this.starts.push(at + 12);
      at += 12 + size;
    }
  }

  /** Starts writing the index-th section (0-based, in file order); the one before must be full. */
  section(index: number): this {
    this.checkFull();
    this.current = index;
    this.cursor = this.starts[index]!;
    return this;
  }

  u32(value: number): void {
    this.view.setUint32(this.cursor, value, true);
    this.cursor += 4;
  }

  u64(value: number): void {
    this.view.setBigUint64(this.cursor, BigInt(value), true);
    this.cursor += 8;
  }

  fr(value: bigint): void {
    for (let word = 0; word < 4; word++) this.view.setBigUint64(this.cursor + 8 * word, BigInt.asUintN(64, value >> BigInt(64 * word)), true);
    this.cursor += BN254_N8;
  }

  bytes(data: Uint8Array): void {
    this.buffer.set(data, this.cursor);
    this.cursor += data.byteLength;
  }

  finish(): Uint8Array {
    this.checkFull();
    return this.buffer;
  }

  private checkFull(): void {
    if (this.current >= 0 && this.cursor !== this.starts[this.current]! + this.sizes[this.current]!) {
      throw new Error(`section ${this.current + 1}: wrote ${this.cursor - this.starts[this.current]!} of ${this.sizes[this.current]} bytes`);
    }
  }
}
