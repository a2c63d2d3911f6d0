/**
 * CPU twin of shaders/field.wgsl and fq2.wgsl: BN254 prime fields with plain
 * BigInt arithmetic, simple enough to be obviously correct. Tests compare
 * the shader field ops with these; the host side of the MSM uses them for
 * the final window sum.
 */
import { InvalidArgumentError } from '../../../../errors/index.ts';
import { BN254_P, BN254_R } from '../../../io/bn254.ts';
import { powMod } from '../../../io/pow-mod.ts';

export { BN254_P, BN254_R } from '../../../io/bn254.ts';
/** The Montgomery radix of the 16 x 16-bit limb representation. */
export const MONT_R = 1n << 256n;

export class PrimeField {
  readonly p: bigint;
  readonly name: string;
  /** R^-1 mod p, cached: fromMont runs once per coordinate read back. */
  private readonly rInverse: bigint;
  constructor(name: string, p: bigint) {
    this.name = name;
    this.p = p;
    this.rInverse = this.pow(MONT_R % p, p - 2n);
  }
  mod(a: bigint): bigint {
    const r = a % this.p;
    return r < 0n ? r + this.p : r;
  }
  add(a: bigint, b: bigint): bigint {
    return this.mod(a + b);
  }
  sub(a: bigint, b: bigint): bigint {
    return this.mod(a - b);
  }
  neg(a: bigint): bigint {
    return this.mod(-a);
  }
  mul(a: bigint, b: bigint): bigint {
    return (a * b) % this.p;
  }
  pow(base: bigint, exponent: bigint): bigint {
    return powMod(base, exponent, this.p);
  }
  inv(a: bigint): bigint {
    if (this.mod(a) === 0n) throw new InvalidArgumentError(`${this.name}: inverse of zero`);
    return this.pow(a, this.p - 2n);
  }
  toMont(a: bigint): bigint {
    return this.mod(a * MONT_R);
  }
  fromMont(a: bigint): bigint {
    return this.mul(a, this.rInverse);
  }
  /** The Montgomery product a*b/R, what the shader's mul computes on Montgomery inputs. */
  montMul(a: bigint, b: bigint): bigint {
    return this.mul(this.mul(a, b), this.rInverse);
  }
}

export const Fq = new PrimeField('Fq', BN254_P);
export const Fr = new PrimeField('Fr', BN254_R);

/** Fq2 = Fq[u]/(u^2+1) as [c0, c1]. */
export type Fq2El = readonly [bigint, bigint];
export const Fq2 = {
  zero: [0n, 0n] as Fq2El,
  one: [1n, 0n] as Fq2El,
  add: (a: Fq2El, b: Fq2El): Fq2El => [Fq.add(a[0], b[0]), Fq.add(a[1], b[1])],
  sub: (a: Fq2El, b: Fq2El): Fq2El => [Fq.sub(a[0], b[0]), Fq.sub(a[1], b[1])],
  neg: (a: Fq2El): Fq2El => [Fq.neg(a[0]), Fq.neg(a[1])],
  mul: (a: Fq2El, b: Fq2El): Fq2El => [Fq.sub(Fq.mul(a[0], b[0]), Fq.mul(a[1], b[1])), Fq.add(Fq.mul(a[0], b[1]), Fq.mul(a[1], b[0]))],
  isZero: (a: Fq2El): boolean => a[0] === 0n && a[1] === 0n,
  eq: (a: Fq2El, b: Fq2El): boolean => a[0] === b[0] && a[1] === b[1],
  inv: (a: Fq2El): Fq2El => {
    // 1/(a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2)
    const d = Fq.inv(Fq.add(Fq.mul(a[0], a[0]), Fq.mul(a[1], a[1])));
    return [Fq.mul(a[0], d), Fq.neg(Fq.mul(a[1], d))];
  },
};

/** Little-endian 32-byte encoding, the layout of every field element in buffers. */
export function bigintToBytes(value: bigint, out: Uint8Array, offset: number): void {
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function bytesToBigint(bytes: Uint8Array, offset: number): bigint {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i] ?? 0);
  return v;
}

/** 16-bit limbs, least significant first: the shader's in-register Big. */
export function toLimbs16(value: bigint): number[] {
  const limbs: number[] = [];
  let v = value;
  for (let i = 0; i < 16; i++) {
    limbs.push(Number(v & 0xffffn));
    v >>= 16n;
  }
  return limbs;
}
