/**
 * Witness generation from a circom `.wasm` and an input JSON, with the input
 * checked first so a mistake is reported by signal name rather than as a
 * WASM trap or a silently reduced value.
 *
 * circom's WASM cannot list its input signals, only answer "how many values
 * does input X take". Names of missing signals therefore come from the
 * circuit's `.sym` file when one sits beside the `.wasm` (circom writes
 * `<name>.sym`; our build writes `circuit.sym`); without it the error says how
 * many values are missing.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { InvalidArgumentError, MismatchError } from '../errors/index.ts';
import { BN254_R } from './io/bn254.ts';
import { fileReadError } from './io/binfile.ts';
import { parseWtns, type Witness } from './io/wtns.ts';

export type CircuitInput = Record<string, unknown>;

/** Parses input JSON text; the error names the file and what is wrong. */
export function parseInputJson(text: string, label: string): CircuitInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${label}: malformed JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`${label}: the input must be a JSON object mapping signal names to values`);
  }
  return parsed as CircuitInput;
}

const DECIMAL = /^-?[0-9]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;

/**
 * Flattens each signal's (possibly nested array) value into field elements,
 * rejecting anything that is not an integer in (-r, r).
 */
export function normalizeInput(input: CircuitInput, label: string): Map<string, bigint[]> {
  const signals = new Map<string, bigint[]>();
  for (const [name, value] of Object.entries(input)) {
    const flat: bigint[] = [];
    const visit = (item: unknown, path: string): void => {
      if (Array.isArray(item)) {
        for (const [index, inner] of item.entries()) visit(inner, `${path}[${index}]`);
        return;
      }
      flat.push(toFieldValue(item, path, label));
    };
    visit(value, name);
    signals.set(name, flat);
  }
  return signals;
}

function toFieldValue(item: unknown, path: string, label: string): bigint {
  let value: bigint;
  if (typeof item === 'number') {
    if (!Number.isSafeInteger(item)) {
      throw new InvalidArgumentError(`${label}: signal ${path} = ${item} is not an integer that a JSON number holds exactly (use a decimal string)`);
    }
    value = BigInt(item);
  } else if (typeof item === 'string' && (DECIMAL.test(item.trim()) || HEX.test(item.trim()))) {
    value = BigInt(item.trim());
  } else if (typeof item === 'bigint') {
    value = item;
  } else {
    const shown = typeof item === 'string' ? JSON.stringify(item) : item === null ? 'null' : typeof item;
    throw new InvalidArgumentError(`${label}: signal ${path} = ${shown} is not a number or a decimal string`);
  }
  if (value >= BN254_R) throw new InvalidArgumentError(`${label}: signal ${path} = ${value} is out of range (must be below the BN254 scalar field modulus r)`);
  if (value <= -BN254_R) throw new InvalidArgumentError(`${label}: signal ${path} = ${value} is out of range (negative values must be above -r)`);
  return value;
}

/** The slice of circom_runtime's WitnessCalculator used here. */
interface CircomWitnessCalculator {
  instance: { exports: { getInputSignalSize?: (hashHigh: number, hashLow: number) => number; getInputSize?: () => number } };
  calculateWTNSBin(input: Record<string, bigint[]>, sanityCheck: boolean): Promise<Uint8Array>;
}

export interface WitnessSources {
  /** The circom `.wasm` bytes. */
  readonly wasm: Uint8Array;
  /** What to call the input in messages (its path). */
  readonly inputLabel: string;
  /** Text of the circuit's `.sym` file, if known: used to name missing signals. */
  readonly symText?: string;
}

export async function calculateWitness(input: CircuitInput, sources: WitnessSources): Promise<Witness> {
  const label = sources.inputLabel;
  const signals = normalizeInput(input, label);
  const CIRCOM_RUNTIME: string = 'circom_runtime';
  const runtime = (await import(CIRCOM_RUNTIME)) as { WitnessCalculatorBuilder(code: Uint8Array, options?: object): Promise<CircomWitnessCalculator> };
  let calculator: CircomWitnessCalculator;
  try {
    calculator = await runtime.WitnessCalculatorBuilder(sources.wasm);
  } catch (error) {
    throw new InvalidArgumentError(`circuit .wasm could not be loaded (${firstLine(error)})`);
  }
  const exports = calculator.instance.exports;
  let given = 0;
  for (const [name, values] of signals) {
    const expected = inputSize(exports, name);
    if (expected !== null && expected <= 0) throw new MismatchError(`${label}: signal ${name} is not an input of this circuit`);
    if (expected !== null && values.length !== expected) {
      throw new MismatchError(`${label}: signal ${name} has ${values.length} value(s) but the circuit expects ${expected}`);
    }
    given += values.length;
  }
  const total = exports.getInputSize?.();
  if (total !== undefined && given < total) {
    const missing =
      sources.symText === undefined ? [] : mainSignalNames(sources.symText).filter((name) => !signals.has(name) && (inputSize(exports, name) ?? 0) > 0);
    throw new InvalidArgumentError(
      missing.length > 0
        ? `${label}: missing input signal${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`
        : `${label}: missing input signals: ${given} of the circuit's ${total} input values are set`,
    );
  }

  let bytes: Uint8Array;
  try {
    bytes = await calculator.calculateWTNSBin(Object.fromEntries(signals), true);
  } catch (error) {
    throw new InvalidArgumentError(`${label}: the input does not satisfy the circuit (${firstLine(error)})`);
  }
  return parseWtns(bytes, `witness of ${label}`);
}

/** Reads the wasm (and a `.sym` beside it, when there is one) and computes the witness. */
export async function calculateWitnessFromFiles(inputPath: string, wasmPath: string): Promise<Witness> {
  const inputText = await readFile(inputPath, 'utf8').catch((error: unknown) => {
    throw fileReadError(inputPath, error);
  });
  const input = parseInputJson(inputText, inputPath);
  const wasm = await readFile(wasmPath).catch((error: unknown) => {
    throw fileReadError(wasmPath, error);
  });
  const symPath = findSymFile(wasmPath);
  const symText = symPath === null ? undefined : await readFile(symPath, 'utf8');
  return calculateWitness(input, { wasm, inputLabel: inputPath, ...(symText === undefined ? {} : { symText }) });
}

function findSymFile(wasmPath: string): string | null {
  const stem = basename(wasmPath, '.wasm');
  const dir = dirname(wasmPath);
  for (const candidate of [join(dir, `${stem}.sym`), join(dir, '..', `${stem}.sym`)]) if (existsSync(candidate)) return candidate;
  return null;
}

/** Base names of the main component's own signals ("main.x[3]" gives "x"). */
function mainSignalNames(symText: string): string[] {
  const names = new Set<string>();
  for (const line of symText.split('\n')) {
    const match = /^[^,]*,[^,]*,[^,]*,main\.([A-Za-z_$][A-Za-z0-9_$]*)(\[[0-9]+\])*\s*$/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return [...names];
}

/** circom's input lookup: values the input takes, 0 or -1 (by circom version) if not an input, null if the WASM cannot say. */
function inputSize(exports: CircomWitnessCalculator['instance']['exports'], name: string): number | null {
  if (typeof exports.getInputSignalSize !== 'function') return null;
  const hash = fnv1a64(name);
  return exports.getInputSignalSize(Number(hash >> 32n), Number(hash & 0xffffffffn));
}

/** 64-bit FNV-1a over UTF-16 code units, the hash circom uses for signal names. */
function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (let index = 0; index < text.length; index++) {
    hash ^= BigInt(text.charCodeAt(index));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}
