// Short Weierstrass curves y^2 = x^3 + b (a = 0) over F = Fq (G1) or Fq2 (G2).
// Affine points use (0, 0) for infinity, which is never on these curves (b != 0),
// matching the all-zero-bytes convention of src/prover/backend.ts.
// Accumulators use XYZZ coordinates (x = X/ZZ, y = Y/ZZZ): mixed addition costs
// 8M + 2S and needs no inversion; ZZ == 0 marks infinity.
#pragma once
#include "field.h"

namespace zkp {

template <class F>
struct Affine {
  F x, y;
  bool is_infinity() const { return x.is_zero() && y.is_zero(); }
  Affine neg() const { return Affine{x, y.neg()}; }
};

template <class F>
struct Xyzz {
  F X, Y, ZZ, ZZZ;

  static Xyzz infinity() { return Xyzz{F::zero(), F::zero(), F::zero(), F::zero()}; }
  static Xyzz from_affine(const Affine<F>& p) {
    if (p.is_infinity()) return infinity();
    return Xyzz{p.x, p.y, F::one(), F::one()};
  }
  bool is_infinity() const { return ZZ.is_zero(); }

  // 2 * this.
  Xyzz dbl() const {
    if (is_infinity() || Y.is_zero()) return infinity();
    const F U = Y.dbl();
    const F V = U.sqr();
    const F W = U * V;
    const F S = X * V;
    const F X2 = X.sqr();
    const F M = X2.dbl() + X2;
    Xyzz r;
    r.X = M.sqr() - S.dbl();
    r.Y = M * (S - r.X) - W * Y;
    r.ZZ = V * ZZ;
    r.ZZZ = W * ZZZ;
    return r;
  }

  // 2 * p for an affine p (mdbl: ZZ = ZZZ = 1).
  static Xyzz dbl_affine(const Affine<F>& p) {
    if (p.is_infinity() || p.y.is_zero()) return infinity();
    const F U = p.y.dbl();
    const F V = U.sqr();
    const F W = U * V;
    const F S = p.x * V;
    const F X2 = p.x.sqr();
    const F M = X2.dbl() + X2;
    Xyzz r;
    r.X = M.sqr() - S.dbl();
    r.Y = M * (S - r.X) - W * p.y;
    r.ZZ = V;
    r.ZZZ = W;
    return r;
  }

  // this += p for an affine p that is not infinity (callers filter infinity).
  inline void add_affine(const Affine<F>& p) {
    if (is_infinity()) {
      X = p.x; Y = p.y; ZZ = F::one(); ZZZ = F::one();
      return;
    }
    const F U2 = p.x * ZZ;
    const F S2 = p.y * ZZZ;
    const F P = U2 - X;
    const F R = S2 - Y;
    if (P.is_zero()) {
      if (R.is_zero()) *this = dbl_affine(p);
      else *this = infinity();
      return;
    }
    const F PP = P.sqr();
    const F PPP = P * PP;
    const F Q = X * PP;
    X = R.sqr() - PPP - Q.dbl();
    Y = R * (Q - X) - Y * PPP;
    ZZ = ZZ * PP;
    ZZZ = ZZZ * PPP;
  }

  // this += q, both XYZZ.
  inline void add(const Xyzz& q) {
    if (q.is_infinity()) return;
    if (is_infinity()) { *this = q; return; }
    const F U1 = X * q.ZZ;
    const F U2 = q.X * ZZ;
    const F S1 = Y * q.ZZZ;
    const F S2 = q.Y * ZZZ;
    const F P = U2 - U1;
    const F R = S2 - S1;
    if (P.is_zero()) {
      if (R.is_zero()) *this = dbl();
      else *this = infinity();
      return;
    }
    const F PP = P.sqr();
    const F PPP = P * PP;
    const F Q = U1 * PP;
    X = R.sqr() - PPP - Q.dbl();
    Y = R * (Q - X) - S1 * PPP;
    ZZ = ZZ * q.ZZ * PP;
    ZZZ = ZZZ * q.ZZZ * PPP;
  }

  Affine<F> to_affine() const {
    if (is_infinity()) return Affine<F>{F::zero(), F::zero()};
    // One inversion for both denominators: t = 1/(ZZ*ZZZ).
    const F t = (ZZ * ZZZ).inv();
    const F inv_zz = t * ZZZ;
    const F inv_zzz = t * ZZ;
    return Affine<F>{X * inv_zz, Y * inv_zzz};
  }
};

using G1Affine = Affine<Fq>;
using G2Affine = Affine<Fq2>;
using G1Xyzz = Xyzz<Fq>;
using G2Xyzz = Xyzz<Fq2>;

}  // namespace zkp
