/**
 * The ladder's circuits (bench/lib/ladder-circuits.ts): the synthetic rung has
 * exactly the constraints it asks for (read back from the compiled .r1cs
 * header) and fills its domain exactly; the Poseidon Merkle rung compiles
 * with circomlib and fits its rung; the sizing rules of the real circuits.
 */
import { describe, expect, it } from 'vitest';
import { buildLadderCircuit, type LadderFamily, ladderCircuit, merkleShape, sha256Blocks, syntheticConstraints } from '../../bench/lib/ladder-circuits.ts';
import { readR1csHeader } from '../../scripts/build-circuits.ts';

function circuitOf(family: LadderFamily, log2: number) {
  const circuit = ladderCircuit(family, log2);
  if ('skipped' in circuit) throw new Error(`${family}-${log2}: ${circuit.skipped}`);
  return circuit;
}

describe('ladder circuits', () => {
  it('synthetic-10 has exactly the constraints asked for and a domain of exactly 2^10', async () => {
    const built = await buildLadderCircuit(circuitOf('synthetic', 10));
    const header = await readR1csHeader(built.r1cs);
    expect(syntheticConstraints(10)).toBe(1021);
    expect(header.nConstraints).toBe(syntheticConstraints(10));
    expect(header.nPublic).toBe(2);
    expect(built.power).toBe(10);
  });

  it('poseidon-merkle-10 compiles with circomlib and fits 2^10', async () => {
    const built = await buildLadderCircuit(circuitOf('poseidon-merkle', 10));
    const header = await readR1csHeader(built.r1cs);
    expect(header.nConstraints).toBeGreaterThan(2 ** 9);
    expect(built.power).toBe(10);
  });

  it('sizes the real circuits to their rung', () => {
    expect(merkleShape(10)).toEqual({ depth: 1, count: 1 });
    expect(merkleShape(12)).toEqual({ depth: 7, count: 1 });
    const shape16 = merkleShape(16);
    expect(shape16.depth).toBeGreaterThanOrEqual(8);
    expect(shape16.depth * shape16.count * 521).toBeLessThan(2 ** 16);
    expect(sha256Blocks(14)).toBe(0);
    expect(sha256Blocks(15)).toBe(1);
    expect(sha256Blocks(16)).toBe(2);
    expect(sha256Blocks(20)).toBe(33);
    expect(ladderCircuit('sha256', 14)).toEqual({ skipped: 'one SHA-256 block (~31264 constraints) does not fit 2^14' });
    expect(() => ladderCircuit('synthetic', 9)).toThrow('outside 2^10..2^22');
  });
});
