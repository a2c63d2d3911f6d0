/**
 * Test circuit fixtures: builds (or finds cached) circuits through
 * scripts/build-circuits.ts, and makes random valid inputs for each.
 */
import { buildTestCircuits, type BuiltCircuit } from '../../scripts/build-circuits.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import type { SeededRandom } from './random.ts';

let built: Promise<Map<string, BuiltCircuit>> | null = null;

/** Builds the test circuits once per process (cached on disk across runs). */
export function testCircuits(): Promise<Map<string, BuiltCircuit>> {
  built ??= buildTestCircuits((line) => console.log(`[circuits] ${line}`));
  return built;
}

export async function testCircuit(name: string): Promise<BuiltCircuit> {
  const circuit = (await testCircuits()).get(name);
  if (!circuit) throw new Error(`no test circuit named ${name}`);
  return circuit;
}

export const TEST_CIRCUIT_NAMES = ['mulchain', 'bits', 'manypublic'] as const;

/** A random valid input for a test circuit (see circuits/src/*.circom). */
export function randomInput(name: string, rng: SeededRandom): Record<string, unknown> {
  switch (name) {
    case 'mulchain':
      return { a: rng.below(BN254_R).toString(), b: rng.below(BN254_R).toString() };
    case 'bits':
      // 200-bit values, as ManyBits(13, 200) decomposes.
      return { values: Array.from({ length: 13 }, () => rng.below(1n << 200n).toString()) };
    case 'manypublic':
      return { pub: Array.from({ length: 72 }, () => rng.below(BN254_R).toString()), secret: rng.below(BN254_R).toString() };
    default:
      throw new Error(`no input generator for circuit ${name}`);
  }
}
