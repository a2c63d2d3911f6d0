/**
 * CPU twin of shaders/curve.wgsl: Jacobian arithmetic on y^2 = x^3 + b over
 * a generic base field (Fq for G1, Fq2 for G2), values in standard form.
 */
import { Fq, Fq2, type Fq2El } from './field.ts';

export interface BaseField<T> {
  zero: T;
  one: T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  neg(a: T): T;
  mul(a: T, b: T): T;
  inv(a: T): T;
  isZero(a: T): boolean;
  eq(a: T, b: T): boolean;
}

export interface Jac<T> {
  readonly x: T;
  readonly y: T;
  readonly z: T;
}
export interface Aff<T> {
  readonly x: T;
  readonly y: T;
  readonly infinity: boolean;
}

export const FqField: BaseField<bigint> = {
  zero: 0n,
  one: 1n,
  add: (a, b) => Fq.add(a, b),
  sub: (a, b) => Fq.sub(a, b),
  neg: (a) => Fq.neg(a),
  mul: (a, b) => Fq.mul(a, b),
  inv: (a) => Fq.inv(a),
  isZero: (a) => a === 0n,
  eq: (a, b) => a === b,
};
export const Fq2Field: BaseField<Fq2El> = Fq2;

export class JacobianCurve<T> {
  readonly F: BaseField<T>;
  constructor(field: BaseField<T>) {
    this.F = field;
  }
  identity(): Jac<T> {
    return { x: this.F.zero, y: this.F.one, z: this.F.zero };
  }
  isIdentity(p: Jac<T>): boolean {
    return this.F.isZero(p.z);
  }
  fromAffine(a: Aff<T>): Jac<T> {
    return a.infinity ? this.identity() : { x: a.x, y: a.y, z: this.F.one };
  }
  neg(p: Jac<T>): Jac<T> {
    return { x: p.x, y: this.F.neg(p.y), z: p.z };
  }
  double(p: Jac<T>): Jac<T> {
    const F = this.F;
    if (F.isZero(p.z) || F.isZero(p.y)) return this.identity();
    const a = F.mul(p.x, p.x);
    const b = F.mul(p.y, p.y);
    const c = F.mul(b, b);
    const xb = F.add(p.x, b);
    const d2 = F.sub(F.sub(F.mul(xb, xb), a), c);
    const d = F.add(d2, d2);
    const e = F.add(F.add(a, a), a);
    const f = F.mul(e, e);
    const x3 = F.sub(f, F.add(d, d));
    const c2 = F.add(c, c);
    const c4 = F.add(c2, c2);
    const c8 = F.add(c4, c4);
    const y3 = F.sub(F.mul(e, F.sub(d, x3)), c8);
    const yz = F.mul(p.y, p.z);
    return { x: x3, y: y3, z: F.add(yz, yz) };
  }
  add(p: Jac<T>, q: Jac<T>): Jac<T> {
    const F = this.F;
    if (F.isZero(p.z)) return q;
    if (F.isZero(q.z)) return p;
    const z1z1 = F.mul(p.z, p.z);
    const z2z2 = F.mul(q.z, q.z);
    const u1 = F.mul(p.x, z2z2);
    const u2 = F.mul(q.x, z1z1);
    const s1 = F.mul(F.mul(p.y, q.z), z2z2);
    const s2 = F.mul(F.mul(q.y, p.z), z1z1);
    const h = F.sub(u2, u1);
    const rHalf = F.sub(s2, s1);
    if (F.isZero(h)) return F.isZero(rHalf) ? this.double(p) : this.identity();
    const h2 = F.add(h, h);
    const i = F.mul(h2, h2);
    const j = F.mul(h, i);
    const r = F.add(rHalf, rHalf);
    const v = F.mul(u1, i);
    const x3 = F.sub(F.sub(F.mul(r, r), j), F.add(v, v));
    const s1j = F.mul(s1, j);
    const y3 = F.sub(F.mul(r, F.sub(v, x3)), F.add(s1j, s1j));
    const zs = F.add(p.z, q.z);
    const z3 = F.mul(F.sub(F.sub(F.mul(zs, zs), z1z1), z2z2), h);
    return { x: x3, y: y3, z: z3 };
  }
  addAffine(p: Jac<T>, q: Aff<T>): Jac<T> {
    return this.add(p, this.fromAffine(q));
  }
  mulScalar(p: Jac<T>, k: bigint): Jac<T> {
    let acc = this.identity();
    for (let bit = BigInt(k.toString(2).length) - 1n; bit >= 0n; bit--) {
      acc = this.double(acc);
      if ((k >> bit) & 1n) acc = this.add(acc, p);
    }
    return acc;
  }
  toAffine(p: Jac<T>): Aff<T> {
    const F = this.F;
    if (F.isZero(p.z)) return { x: F.zero, y: F.zero, infinity: true };
    const zi = F.inv(p.z);
    const zi2 = F.mul(zi, zi);
    return { x: F.mul(p.x, zi2), y: F.mul(p.y, F.mul(zi2, zi)), infinity: false };
  }
  eq(p: Jac<T>, q: Jac<T>): boolean {
    const a = this.toAffine(p);
    const b = this.toAffine(q);
    return a.infinity === b.infinity && this.F.eq(a.x, b.x) && this.F.eq(a.y, b.y);
  }
}

export const G1 = new JacobianCurve(FqField);
export const G2 = new JacobianCurve(Fq2Field);
