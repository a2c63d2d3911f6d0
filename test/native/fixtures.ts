/**
 * Shared test inputs for the native backend: a seeded PRNG (seed printed;
 * override with ZKP_TEST_SEED) and generators of random Fr elements and curve
 * points built with ffjavascript, the reference the tests compare against.
 */

/** r, the BN254 scalar field order. */
export const FR_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** xoshiro128** over 32-bit words: small, fast and reproducible. */
export class SeededRandom {
  private s: Uint32Array;
  constructor(seed: number) {
    // splitmix32 expands the seed into the four state words.
    let x = seed >>> 0;
    this.s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
  /** Integer in [0, bound). */
  below(bound: number): number {
    return Math.floor((this.nextU32() / 2 ** 32) * bound);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The test seed: ZKP_TEST_SEED when set, else a fresh one; printed so a failure can be replayed. */
export function testSeed(suite: string): number {
  const fromEnv = process.env.ZKP_TEST_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[${suite}] seed ${seed} (replay with ZKP_TEST_SEED=${seed})`);
  return seed;
}

export function bigintToLe32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function le32ToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** A uniformly random canonical Fr element (as 32 LE bytes; valid both as standard and as Montgomery form). */
export function randomFr(rng: SeededRandom): Uint8Array {
  for (;;) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) {
      const w = rng.nextU32();
      out[i] = w & 0xff;
      out[i + 1] = (w >>> 8) & 0xff;
      out[i + 2] = (w >>> 16) & 0xff;
      out[i + 3] = w >>> 24;
    }
    out[31] = out[31]! & 0x3f;
    if (le32ToBigint(out) < FR_ORDER) return out;
  }
}

export function randomFrVector(rng: SeededRandom, n: number): Uint8Array {
  const out = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) out.set(randomFr(rng), i * 32);
  return out;
}

// ffjavascript ships no types; this is the slice of its API the tests use.
export interface FfGroup {
  g: Uint8Array;
  zero: Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  neg(a: Uint8Array): Uint8Array;
  timesFr(p: Uint8Array, s: Uint8Array): Uint8Array;
  toAffine(p: Uint8Array): Uint8Array;
  multiExpAffine(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
}
export interface FfField {
  w: Uint8Array[];
  shift: Uint8Array;
  e(v: number | bigint | string): Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  mul(a: Uint8Array, b: Uint8Array): Uint8Array;
  inv(a: Uint8Array): Uint8Array;
  fromMontgomery(a: Uint8Array): Uint8Array;
  toMontgomery(a: Uint8Array): Uint8Array;
  fft(buff: Uint8Array): Promise<Uint8Array>;
  ifft(buff: Uint8Array): Promise<Uint8Array>;
  batchApplyKey(buff: Uint8Array, first: Uint8Array, inc: Uint8Array): Promise<Uint8Array>;
}
export interface FfCurve {
  G1: FfGroup;
  G2: FfGroup;
  Fr: FfField;
  terminate(): Promise<void>;
}

/** ffjavascript's bn128 (cached by ffjavascript; call terminate() when done). Imported by a
 * computed specifier because the package has no type declarations. */
export async function referenceCurve(): Promise<FfCurve> {
  const specifier: string = 'ffjavascript';
  const ff = (await import(specifier)) as { buildBn128(): Promise<unknown> };
  return (await ff.buildBn128()) as FfCurve;
}

/**
 * n affine points: a few random multiples of the generator, then a chain of
 * additions (cheap), so points are distinct but not structured.
 */
export function randomPoints(group: FfGroup, rng: SeededRandom, n: number, pointBytes: number): Uint8Array {
  const out = new Uint8Array(n * pointBytes);
  if (n === 0) return out;
  const step = group.timesFr(group.g, randomFr(rng));
  let p = group.timesFr(group.g, randomFr(rng));
  for (let i = 0; i < n; i++) {
    if (i % 64 === 63) p = group.timesFr(group.g, randomFr(rng));
    out.set(group.toAffine(p), i * pointBytes);
    p = group.add(p, step);
  }
  return out;
}
