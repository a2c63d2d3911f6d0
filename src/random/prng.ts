import { assert } from '../errors/index.ts';

/**
 * The project's one seeded PRNG: xoshiro128** (Blackman & Vigna), seeded
 * through splitmix32 so that nearby seeds give unrelated streams. 32-bit
 * state words keep it in plain JS numbers. The simulator, the Raft driver's
 * election timeouts, the tests and the benchmarks all draw from it; a run is
 * replayed from its seed (tests and benches: ZKP_TEST_SEED, see seed.ts).
 */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(readonly seed: number) {
    assert(Number.isSafeInteger(seed) && seed >= 0, `seed must be a non-negative safe integer, got ${seed}`);
    let x = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
    const splitmix32 = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** An integer in [0, bound). */
  int(bound: number): number {
    assert(Number.isInteger(bound) && bound > 0, `int bound must be a positive integer, got ${bound}`);
    return Math.floor(this.next() * bound);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick from an empty list');
    return items[this.int(items.length)]!;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** A uniform 64-bit unsigned integer. */
  nextU64(): bigint {
    return (BigInt(this.nextUint32()) << 32n) | BigInt(this.nextUint32());
  }

  /** A uniform integer in [0, 2^bits). */
  bigint(bits: number): bigint {
    assert(Number.isInteger(bits) && bits > 0, `bigint bits must be a positive integer, got ${bits}`);
    let value = 0n;
    for (let drawn = 0; drawn < bits; drawn += 32) value = (value << 32n) | BigInt(this.nextUint32());
    return value & ((1n << BigInt(bits)) - 1n);
  }

  /** An integer in [0, bound) for a bigint bound below 2^256 (64 spare bits: bias below 2^-64). */
  below(bound: bigint): bigint {
    assert(bound > 0n && bound < 1n << 256n, `below bound must be in (0, 2^256), got ${bound}`);
    return this.bigint(320) % bound;
  }

  /** A stream of numbers in [0, 1) (the shape RaftCore takes its randomness in). */
  floats(): () => number {
    return () => this.next();
  }

  /** An independent stream derived from this one (e.g. one per node). */
  fork(): Prng {
    return new Prng(this.nextUint32() * 0x10000 + (this.nextUint32() & 0xffff));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
