/**
 * The bench ladder's circuits, one rung per domain size 2^log2:
 *
 * - synthetic: a multiplication chain of exactly 2^log2 - 3 constraints
 *   (2 public signals + the constant 1 fill the domain to exactly 2^log2);
 * - poseidon-merkle: a batch of Poseidon Merkle membership proofs (circomlib's
 *   Poseidon(2) and MultiMux1 per level), depth and count chosen to fill most
 *   of the domain;
 * - sha256: circomlib's Sha256 over a message of as many 512-bit blocks as fit
 *   (one block is 31,264 constraints, so from 2^15 up);
 * - eddsa: a batch of EdDSA-Poseidon signature checks over BabyJubJub
 *   (circomlib's EdDSAPoseidonVerifier, 8,086 constraints each, so from 2^13
 *   up), signed by bench/lib/eddsa-poseidon.ts.
 *
 * Each is compiled with circom2 and given an INSECURE development key by
 * scripts/build-circuits.ts (`{ key: 'dev' }`), cached under
 * circuits/build/dev-key/ (ignored by git). Inputs are random from the
 * caller's Prng, so every wire holds a random-looking field element.
 */
import { type BuiltCircuit, buildCircuit, type CircuitSpec } from '../../scripts/build-circuits.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import type { CircuitInput } from '../../src/prover/witness.ts';
import type { Prng } from '../../src/random/prng.ts';
import { randomScalar, signPoseidon } from './eddsa-poseidon.ts';

export const LADDER_FAMILIES = ['synthetic', 'poseidon-merkle', 'sha256', 'eddsa'] as const;
export type LadderFamily = (typeof LADDER_FAMILIES)[number];

export const LADDER_LOG2_MIN = 10;
export const LADDER_LOG2_MAX = 22;

/** Constraints of one Merkle level (Poseidon(2): 240 non-linear, MultiMux1 and the bit check; measured with circom2 2.2.3 -O1). */
const MERKLE_LEVEL_CONSTRAINTS = 520;
const MERKLE_DEPTH_MAX = 20;
const MERKLE_DEPTH_MIN = 8;
/** Constraints of one SHA-256 block (1 block: 31,264, 2 blocks: 62,528 with circom2 2.2.3 -O1), and room kept for the 256 public output bits and the constant 1. */
const SHA256_BLOCK_CONSTRAINTS = 31_264;
const SHA256_SLACK_CONSTRAINTS = 600;
/** Constraints of one EdDSAPoseidonVerifier (7,379 non-linear + 707 linear with circom2 2.2.3 -O1; 2 signatures: 16,172). */
const EDDSA_CONSTRAINTS = 8086;

export interface LadderCircuit {
  /** Unique, e.g. "synthetic-16", "poseidon-merkle-16", "sha256-16". */
  readonly name: string;
  readonly family: LadderFamily;
  /** The rung: the domain size this circuit was sized for. */
  readonly log2: number;
  /** What it is, in a few words ("2 x depth-15 Poseidon Merkle paths"). */
  readonly description: string;
  readonly spec: CircuitSpec;
  readonly input: (rng: Prng) => CircuitInput;
}

/** The synthetic chain with exactly `constraints` constraints (at least 2). */
export function syntheticSpec(name: string, constraints: number): CircuitSpec {
  if (!Number.isSafeInteger(constraints) || constraints < 2) throw new RangeError(`synthetic circuit: constraints must be an integer >= 2, got ${constraints}`);
  return {
    name,
    sourceDirs: ['ladder'],
    mainSource: { text: `pragma circom 2.1.0;\ninclude "ladder/synthetic.circom";\ncomponent main { public [a] } = Synthetic(${constraints});\n` },
  };
}

/** Constraints the synthetic rung asks for: the domain 2^log2 minus its 2 public signals and the constant 1. */
export function syntheticConstraints(log2: number): number {
  return 2 ** log2 - 3;
}

/** Depth and count of Merkle paths filling the most of 2^log2; ties go to the deeper tree. */
export function merkleShape(log2: number): { depth: number; count: number } {
  const levels = Math.floor((2 ** log2 - 64) / (MERKLE_LEVEL_CONSTRAINTS + 1));
  if (levels <= MERKLE_DEPTH_MAX) return { depth: Math.max(1, levels), count: 1 };
  let best = { depth: MERKLE_DEPTH_MAX, count: Math.floor(levels / MERKLE_DEPTH_MAX) };
  for (let depth = MERKLE_DEPTH_MAX - 1; depth >= MERKLE_DEPTH_MIN; depth--) {
    const count = Math.floor(levels / depth);
    if (count * depth > best.count * best.depth) best = { depth, count };
  }
  return best;
}

/** SHA-256 blocks that fit 2^log2 (0 below 2^15). */
export function sha256Blocks(log2: number): number {
  return Math.max(0, Math.floor((2 ** log2 - SHA256_SLACK_CONSTRAINTS) / SHA256_BLOCK_CONSTRAINTS));
}

/**
 * Signatures that fit 2^log2 (0 below 2^13): each adds its constraints and its
 * message, a public input, which the prover's domain also holds (as it does
 * the constant 1).
 */
export function eddsaSignatures(log2: number): number {
  return Math.max(0, Math.floor((2 ** log2 - 1) / (EDDSA_CONSTRAINTS + 1)));
}

/** Inputs of EdDSAPoseidonBatch(count): random keys, nonces and messages, each message validly signed. */
export function eddsaBatchInput(rng: Prng, count: number): CircuitInput {
  const fields = { M: [] as string[], Ax: [] as string[], Ay: [] as string[], R8x: [] as string[], R8y: [] as string[], S: [] as string[] };
  for (let i = 0; i < count; i++) {
    const message = rng.below(BN254_R);
    const { A, R8, S } = signPoseidon(randomScalar(rng), randomScalar(rng), message);
    fields.M.push(message.toString());
    fields.Ax.push(A.x.toString());
    fields.Ay.push(A.y.toString());
    fields.R8x.push(R8.x.toString());
    fields.R8y.push(R8.y.toString());
    fields.S.push(S.toString());
  }
  return fields;
}

function fieldElement(rng: Prng): string {
  return rng.below(BN254_R).toString();
}

function bits(rng: Prng, count: number): number[] {
  return Array.from({ length: count }, () => Number(rng.below(2n)));
}

/** The rung's circuit of `family`, or a one-line reason it has none at this size. */
export function ladderCircuit(family: LadderFamily, log2: number): LadderCircuit | { readonly skipped: string } {
  if (!Number.isInteger(log2) || log2 < LADDER_LOG2_MIN || log2 > LADDER_LOG2_MAX)
    throw new RangeError(`ladder rung 2^${log2} is outside 2^${LADDER_LOG2_MIN}..2^${LADDER_LOG2_MAX}`);
  const name = `${family}-${log2}`;
  switch (family) {
    case 'synthetic': {
      const constraints = syntheticConstraints(log2);
      return {
        name,
        family,
        log2,
        description: 'multiplication chain of exact size',
        spec: syntheticSpec(`ladder-${name}`, constraints),
        input: (rng) => ({ a: fieldElement(rng), b: fieldElement(rng) }),
      };
    }
    case 'poseidon-merkle': {
      const { depth, count } = merkleShape(log2);
      return {
        name,
        family,
        log2,
        description: `${count} x depth-${depth} Poseidon Merkle membership`,
        spec: {
          name: `ladder-${name}`,
          sourceDirs: ['ladder'],
          mainSource: { text: `pragma circom 2.1.0;\ninclude "ladder/poseidon-merkle.circom";\ncomponent main = PoseidonMerkleBatch(${count}, ${depth});\n` },
        },
        input: (rng) => ({
          leaf: Array.from({ length: count }, () => fieldElement(rng)),
          siblings: Array.from({ length: count }, () => Array.from({ length: depth }, () => fieldElement(rng))),
          isRight: Array.from({ length: count }, () => bits(rng, depth)),
        }),
      };
    }
    case 'sha256': {
      const blocks = sha256Blocks(log2);
      if (blocks === 0) return { skipped: `one SHA-256 block (~${SHA256_BLOCK_CONSTRAINTS} constraints) does not fit 2^${log2}` };
      // The longest message that pads to `blocks` blocks: 1 bit and a 64-bit length follow it.
      const messageBits = 512 * blocks - 72;
      return {
        name,
        family,
        log2,
        description: `SHA-256 of ${messageBits / 8} bytes (${blocks} blocks)`,
        spec: {
          name: `ladder-${name}`,
          mainSource: { text: `pragma circom 2.1.0;\ninclude "circomlib/circuits/sha256/sha256.circom";\ncomponent main = Sha256(${messageBits});\n` },
        },
        input: (rng) => ({ in: bits(rng, messageBits) }),
      };
    }
    case 'eddsa': {
      const count = eddsaSignatures(log2);
      if (count === 0) return { skipped: `one EdDSA-Poseidon signature check (~${EDDSA_CONSTRAINTS} constraints) does not fit 2^${log2}` };
      return {
        name,
        family,
        log2,
        description: `${count} EdDSA-Poseidon signature${count === 1 ? '' : 's'} (BabyJubJub)`,
        spec: {
          name: `ladder-${name}`,
          sourceDirs: ['ladder'],
          mainSource: {
            text: `pragma circom 2.1.0;\ninclude "ladder/eddsa-poseidon.circom";\ncomponent main { public [M] } = EdDSAPoseidonBatch(${count});\n`,
          },
        },
        input: (rng) => eddsaBatchInput(rng, count),
      };
    }
  }
}

/** Compiles the circuit and makes its INSECURE development key, or returns the cached build. */
export function buildLadderCircuit(circuit: LadderCircuit, log: (line: string) => void = () => {}): Promise<BuiltCircuit> {
  return buildCircuit(circuit.spec, log, { key: 'dev' });
}
