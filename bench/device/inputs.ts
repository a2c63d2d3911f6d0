/**
 * The ladder's inputs, all from one seeded Prng (the report records the
 * seed): field elements below r, and MSM bases that are random multiples of
 * the generators, made by the native fixed-base batch (src/setup uses the
 * same), so 2^22 distinct points take seconds rather than the minutes
 * ffjavascript's point-by-point affine conversion would. Bases grow as the
 * ladder climbs: 2^k points are the first 2^k of the cache.
 */
import type { NativeAddon } from '../../src/prover/backends/native/addon.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import type { Prng } from '../../src/random/prng.ts';

/** r's most significant 32-bit word. */
const R_TOP_WORD = Number(BN254_R >> 224n);

/** n field elements below r, 32 bytes LE each (any form: standard for MSM scalars, Montgomery for NTT values). */
export function randomFieldElements(rng: Prng, n: number): Uint8Array {
  const words = new Uint32Array(n * 8);
  for (let element = 0; element < n; element++) {
    const at = element * 8;
    for (;;) {
      for (let word = 0; word < 8; word++) words[at + word] = rng.nextUint32();
      // r < 2^254: clear the top two bits, then reject the rare values in [r, 2^254).
      words[at + 7] = words[at + 7]! & 0x3fffffff;
      if (words[at + 7]! < R_TOP_WORD || !atLeastR(words, at)) break;
    }
  }
  return new Uint8Array(words.buffer);
}

function atLeastR(words: Uint32Array, at: number): boolean {
  let value = 0n;
  for (let word = 7; word >= 0; word--) value = (value << 32n) | BigInt(words[at + word]!);
  return value >= BN254_R;
}

/** G1 or G2 bases, grown on demand and shared by every size. */
export class BaseCache {
  private points = new Uint8Array(0);
  private count = 0;

  constructor(
    private readonly group: 'G1' | 'G2',
    private readonly addon: NativeAddon,
    private readonly rng: Prng,
  ) {}

  get pointBytes(): number {
    return this.group === 'G1' ? 64 : 128;
  }

  /** The first n bases (made now where the cache holds fewer). */
  async take(n: number): Promise<Uint8Array> {
    if (n > this.count) {
      const scalars = randomFieldElements(this.rng, n - this.count);
      const fresh = this.group === 'G1' ? await this.addon.fixedBaseG1(scalars) : await this.addon.fixedBaseG2(scalars);
      const grown = new Uint8Array(n * this.pointBytes);
      grown.set(this.points.subarray(0, this.count * this.pointBytes));
      grown.set(fresh, this.count * this.pointBytes);
      this.points = grown;
      this.count = n;
    }
    return this.points.subarray(0, n * this.pointBytes);
  }
}
