/**
 * The dev cluster's sample: the mulchain test circuit (1,500 multiplications),
 * compiled with circom2 and set up once, then cached under circuits/build/.
 */
import { buildCircuit, TEST_CIRCUITS, type BuiltCircuit } from '../../scripts/build-circuits.ts';
import { assert } from '../errors/index.ts';

export const SAMPLE_CIRCUIT_NAME = 'mulchain';

export async function sampleCircuit(log: (line: string) => void): Promise<BuiltCircuit> {
  const spec = TEST_CIRCUITS.find((candidate) => candidate.name === SAMPLE_CIRCUIT_NAME);
  assert(spec !== undefined, `test circuit ${SAMPLE_CIRCUIT_NAME} is missing from scripts/build-circuits.ts`);
  return buildCircuit(spec, log);
}

/** mulchain's inputs (circuits/src/mulchain.circom): a public, b private. */
export function sampleInput(): Record<string, string> {
  return { a: '3', b: '11' };
}
