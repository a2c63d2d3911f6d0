/**
 * Witness generation from a circom `.wasm` and an input JSON, with the input
 * checked first so a mistake is reported by signal name rather than as a
 * WASM trap or a silently reduced value. The calculator itself is in
 * witness/calculator.ts; this file keeps the entry points callers use.
 *
 * circom's WASM cannot list its input signals, only answer "how many values
 * does input X take". Names of missing signals therefore come from the
 * circuit's `.sym` file when one sits beside the `.wasm` (circom writes
 * `<name>.sym`; our build writes `circuit.sym`); without it the error says how
 * many values are missing.
 *
 * Compiling a wasm costs more than a small circuit's whole witness, and V8
 * keeps a module's optimised code with the module: a long-lived caller keeps a
 * prepareWitnessCalculator() result with its circuit. calculateWitness()
 * keeps one per wasm byte array it is given (held weakly: dropped with the
 * array), so passing the same array again reuses the compiled module; the
 * array must not be changed after that.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileReadError } from './io/binfile.ts';
import type { Witness } from './io/wtns.ts';
import { type PreparedWitnessCalculator, prepareWitnessCalculator, type WitnessRunOptions } from './witness/calculator.ts';
import type { CircuitLogSink } from './witness/circom-wasm.ts';
import { type CircuitInput, parseInputJson } from './witness/input-signals.ts';

export { type PreparedWitnessCalculator, prepareWitnessCalculator, type WitnessRunOptions } from './witness/calculator.ts';
export type { CircuitLogSink } from './witness/circom-wasm.ts';
export { type CircuitInput, normalizeInput, parseInputJson } from './witness/input-signals.ts';

export interface WitnessSources {
  /** The circom `.wasm` bytes. */
  readonly wasm: Uint8Array;
  /** What to call the input in messages (its path). */
  readonly inputLabel: string;
  /** Text of the circuit's `.sym` file, if known: used to name missing signals. */
  readonly symText?: string;
  /** Receives each line the circuit's log() calls write; without it they are dropped. */
  readonly onLog?: CircuitLogSink;
}

const preparedByWasm = new WeakMap<Uint8Array, Promise<PreparedWitnessCalculator>>();

/** The calculator for these wasm bytes, compiled on first use and kept while the array lives. */
export function witnessCalculatorFor(wasm: Uint8Array): Promise<PreparedWitnessCalculator> {
  let prepared = preparedByWasm.get(wasm);
  if (prepared === undefined) {
    prepared = prepareWitnessCalculator(wasm);
    preparedByWasm.set(wasm, prepared);
  }
  return prepared;
}

export async function calculateWitness(input: CircuitInput, sources: WitnessSources): Promise<Witness> {
  const calculator = await witnessCalculatorFor(sources.wasm);
  return calculator.calculate(input, sources);
}

/**
 * Reads the wasm (and a `.sym` beside it, when there is one) and computes the
 * witness; the circuit's log() lines go to stderr, as a command's notes do.
 */
export async function calculateWitnessFromFiles(inputPath: string, wasmPath: string): Promise<Witness> {
  const { calculator, input, options } = await loadWitnessFiles(inputPath, wasmPath);
  return calculator.calculate(input, options);
}

/** The `.wtns` bytes for the input JSON at `inputPath` and the circuit `.wasm` at `wasmPath`, as `snarkjs wtns calculate` writes them. */
export async function calculateWtnsFromFiles(inputPath: string, wasmPath: string): Promise<Uint8Array> {
  const { calculator, input, options } = await loadWitnessFiles(inputPath, wasmPath);
  return calculator.calculateWtns(input, options);
}

async function loadWitnessFiles(
  inputPath: string,
  wasmPath: string,
): Promise<{ calculator: PreparedWitnessCalculator; input: CircuitInput; options: WitnessRunOptions }> {
  const inputText = await readFile(inputPath, 'utf8').catch((error: unknown) => {
    throw fileReadError(inputPath, error);
  });
  const input = parseInputJson(inputText, inputPath);
  const wasm = await readFile(wasmPath).catch((error: unknown) => {
    throw fileReadError(wasmPath, error);
  });
  const symPath = findSymFile(wasmPath);
  const symText = symPath === null ? undefined : await readFile(symPath, 'utf8');
  const calculator = await prepareWitnessCalculator(wasm);
  const options: WitnessRunOptions = {
    inputLabel: inputPath,
    onLog: (line) => process.stderr.write(`circuit log: ${line}\n`),
    ...(symText === undefined ? {} : { symText }),
  };
  return { calculator, input, options };
}

function findSymFile(wasmPath: string): string | null {
  const stem = basename(wasmPath, '.wasm');
  const dir = dirname(wasmPath);
  for (const candidate of [join(dir, `${stem}.sym`), join(dir, '..', `${stem}.sym`)]) if (existsSync(candidate)) return candidate;
  return null;
}
