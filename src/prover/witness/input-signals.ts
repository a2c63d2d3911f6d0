/**
 * The input JSON of a circuit, checked before any WASM runs so a mistake is
 * reported by signal name rather than as a trap or a silently reduced value:
 * parsing, flattening nested arrays (row-major, as circom lays them out),
 * range checks, and the names of the main component's signals in a `.sym`.
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import { BN254_R } from '../io/bn254.ts';

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

/** Base names of the main component's own signals ("main.x[3]" gives "x"), in the order the `.sym` lists them. */
export function mainSignalNames(symText: string): string[] {
  const names = new Set<string>();
  for (const line of symText.split('\n')) {
    const match = /^[^,]*,[^,]*,[^,]*,main\.([A-Za-z_$][A-Za-z0-9_$]*)(\[[0-9]+\])*\s*$/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return [...names];
}

/** A signal name's 64-bit FNV-1a hash over UTF-16 code units (circom's key for input signals), as the two 32-bit halves its WASM takes. */
export interface SignalHash {
  readonly high: number;
  readonly low: number;
}

export function signalHash(name: string): SignalHash {
  let hash = 0xcbf29ce484222325n;
  for (let index = 0; index < name.length; index++) {
    hash ^= BigInt(name.charCodeAt(index));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return { high: Number(hash >> 32n), low: Number(hash & 0xffffffffn) };
}
