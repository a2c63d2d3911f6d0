import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim/prng.ts';

describe('Prng (xoshiro128** seeded by splitmix32)', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const seqA = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('gives floats in [0, 1) and integers in range, roughly uniformly', () => {
    const prng = new Prng(7);
    const buckets = new Array<number>(10).fill(0);
    let min = 1;
    let max = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = prng.next();
      min = Math.min(min, x);
      max = Math.max(max, x);
      buckets[prng.int(10)]!++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    for (const count of buckets) expect(Math.abs(count - 2000)).toBeLessThan(250);
  });

  it('rejects bad seeds and bounds', () => {
    expect(() => new Prng(-1)).toThrow(/seed/);
    expect(() => new Prng(1).int(0)).toThrow(/bound/);
  });
});
