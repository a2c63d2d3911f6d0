/**
 * A seeded PRNG for tests (SplitMix64): the seed comes from ZKP_TEST_SEED or
 * is drawn once, and is always logged so a failure can be replayed with
 * ZKP_TEST_SEED=<seed> npx vitest run <file>.
 */
import { randomBytes } from 'node:crypto';

export class SeededRandom {
  private state: bigint;
  constructor(readonly seed: bigint) {
    this.state = seed & 0xffffffffffffffffn;
  }

  nextU64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  }

  /** Uniform-ish integer in [0, bound) (bias below 2^-190 for bound < 2^256). */
  below(bound: bigint): bigint {
    let value = 0n;
    for (let word = 0; word < 7; word++) value = (value << 64n) | this.nextU64();
    return value % bound;
  }

  int(maxExclusive: number): number {
    return Number(this.below(BigInt(maxExclusive)));
  }
}

/** The run's seed: ZKP_TEST_SEED if set, else random; logged either way. */
export function testRandom(label: string): SeededRandom {
  const fromEnv = process.env.ZKP_TEST_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? BigInt(fromEnv) : BigInt(`0x${randomBytes(8).toString('hex')}`);
  console.log(`[${label}] seed ${seed} (replay with ZKP_TEST_SEED=${seed})`);
  return new SeededRandom(seed);
}
