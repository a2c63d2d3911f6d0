/**
 * The circuit of the service bench: `tiny` (circuits/src/tiny.circom, 8
 * multiplications, domain 2^4: the prove itself is a few milliseconds, so the
 * bench measures the service around the prover). Built and cached by
 * scripts/build-circuits.ts; described here as the floor and the coordinators
 * see it (the circuit id is the sha256 of the zkey).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { buildCircuit, type BuiltCircuit, type CircuitSpec } from '../../scripts/build-circuits.ts';

export const TINY_CIRCUIT: CircuitSpec = { name: 'tiny', mainSource: { file: 'tiny.circom' } };

/** The circuit's inputs (a public, b private; see circuits/src/lib/mulchain.circom). */
export function benchInput(): Record<string, string> {
  return { a: '3', b: '11' };
}

export interface BenchCircuit {
  readonly built: BuiltCircuit;
  /** sha256 of the zkey, as the cluster names it. */
  readonly id: string;
  readonly wasm_sha256: string;
  readonly zkey_sha256: string;
  readonly vkey_sha256: string;
  readonly wasm_bytes: number;
  readonly zkey_bytes: number;
  readonly vkey_bytes: number;
}

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function describeCircuit(built: BuiltCircuit): BenchCircuit {
  const zkey_sha256 = sha256Of(built.zkey);
  return {
    built,
    id: zkey_sha256,
    wasm_sha256: sha256Of(built.wasm),
    zkey_sha256,
    vkey_sha256: sha256Of(built.vkey),
    wasm_bytes: statSync(built.wasm).size,
    zkey_bytes: statSync(built.zkey).size,
    vkey_bytes: statSync(built.vkey).size,
  };
}

/** Builds (or finds cached) the tiny circuit. */
export async function tinyCircuit(log: (line: string) => void): Promise<BenchCircuit> {
  return describeCircuit(await buildCircuit(TINY_CIRCUIT, log));
}
