// The BN254 optimal ate pairing, for the Groth16 verifier (verify.cc).
//
// Tower: Fq2 = Fq[u]/(u^2 + 1) (field.h), Fq6 = Fq2[v]/(v^3 - xi) with
// xi = 9 + u, Fq12 = Fq6[w]/(w^2 - v); so w^6 = xi. G2 lives on the sextic
// twist E': y^2 = x^3 + 3/xi, mapped into E(Fq12) by (x, y) -> (x w^2, y w^3).
//
// Miller loop: f_{6u+2,Q}(P) over the signed (NAF) digits of 6u + 2, then the
// lines through pi(Q) and -pi^2(Q) (pi: the p-power Frobenius, moved to the
// twist). u > 0 for BN254, so no final conjugation. G2 runs in homogeneous
// projective coordinates (x = X/Z, y = Y/Z): no inversions.
//
// A line through points of the twist, evaluated at P = (xP, yP) in G1, is
// c0*yP + c1*xP*w + c2*w^3 (c0, c1, c2 in Fq2): the lines depend on Q only,
// so a fixed Q's lines are computed once (G2Prepared) and a verifying key
// keeps them. Each line is scaled by some Fq2 factor, which the final
// exponentiation removes (it sends every element of a proper subfield to 1).
//
// Final exponentiation: (p^12 - 1)/r = (p^6 - 1)(p^2 + 1) * (p^4 - p^2 + 1)/r.
// The easy part uses one inversion and a Frobenius; the hard part is
// l0 + l1 p + l2 p^2 + l3 p^3 with l3 = 1, l2 = 6u^2 + 1,
// l1 = -36u^3 - 18u^2 - 12u + 1, l0 = -36u^3 - 30u^2 - 18u - 2 (this sum
// equals (p^4 - p^2 + 1)/r exactly for p(u), r(u) of BN curves), computed
// from f^u, f^(u^2), f^(u^3); after the easy part f is in the cyclotomic
// subgroup, where an inverse is a conjugate.
//
// Constants (the twist's b, the Frobenius coefficients, the NAF digits) are
// derived from p, xi and u once, at first use, rather than typed in.
#pragma once
#include <cstdint>
#include <vector>

#include "curve.h"
#include "field.h"

namespace zkp {
namespace pairing {

// The BN parameter u (p = 36u^4 + 36u^3 + 24u^2 + 6u + 1).
constexpr u64 kU = 0x44e992b44a6909f1ULL;

// ---------------------------------------------------------------- Fq2 helpers

inline Fq2 scale(const Fq2& a, const Fq& s) { return Fq2{a.c0 * s, a.c1 * s}; }
inline Fq2 conj(const Fq2& a) { return Fq2{a.c0, a.c1.neg()}; }
inline Fq nine_times(const Fq& a) { return a.dbl().dbl().dbl() + a; }
// (9 + u)(c0 + c1 u) = (9 c0 - c1) + (c0 + 9 c1) u.
inline Fq2 mul_by_xi(const Fq2& a) { return Fq2{nine_times(a.c0) - a.c1, nine_times(a.c1) + a.c0}; }

// a^e for a 256-bit little-endian exponent.
inline Fq2 pow(const Fq2& a, const u64 e[4]) {
  Fq2 result = Fq2::one();
  for (int i = 3; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      result = result.sqr();
      if ((e[i] >> bit) & 1) result = result * a;
    }
  }
  return result;
}

// ---------------------------------------------------------------- Fq6

struct Fq6 {
  Fq2 c0, c1, c2;

  static Fq6 zero() { return Fq6{Fq2::zero(), Fq2::zero(), Fq2::zero()}; }
  static Fq6 one() { return Fq6{Fq2::one(), Fq2::zero(), Fq2::zero()}; }
  bool operator==(const Fq6& o) const { return c0 == o.c0 && c1 == o.c1 && c2 == o.c2; }

  friend Fq6 operator+(const Fq6& a, const Fq6& b) { return Fq6{a.c0 + b.c0, a.c1 + b.c1, a.c2 + b.c2}; }
  friend Fq6 operator-(const Fq6& a, const Fq6& b) { return Fq6{a.c0 - b.c0, a.c1 - b.c1, a.c2 - b.c2}; }
  Fq6 neg() const { return Fq6{c0.neg(), c1.neg(), c2.neg()}; }

  // Karatsuba over the three coefficients: 6 Fq2 products (v^3 = xi).
  friend Fq6 operator*(const Fq6& a, const Fq6& b) {
    const Fq2 v0 = a.c0 * b.c0, v1 = a.c1 * b.c1, v2 = a.c2 * b.c2;
    return Fq6{v0 + mul_by_xi((a.c1 + a.c2) * (b.c1 + b.c2) - v1 - v2),
               (a.c0 + a.c1) * (b.c0 + b.c1) - v0 - v1 + mul_by_xi(v2),
               (a.c0 + a.c2) * (b.c0 + b.c2) - v0 - v2 + v1};
  }

  // Chung-Hasan squaring: 2 Fq2 products and 3 squarings.
  Fq6 sqr() const {
    const Fq2 s0 = c0.sqr();
    const Fq2 ab = c0 * c1;
    const Fq2 s1 = ab.dbl();
    const Fq2 s2 = (c0 - c1 + c2).sqr();
    const Fq2 bc = c1 * c2;
    const Fq2 s3 = bc.dbl();
    const Fq2 s4 = c2.sqr();
    return Fq6{s0 + mul_by_xi(s3), s1 + mul_by_xi(s4), s1 + s2 + s3 - s0 - s4};
  }

  // this * v.
  Fq6 mul_by_v() const { return Fq6{mul_by_xi(c2), c0, c1}; }
  Fq6 mul_by_fq2(const Fq2& s) const { return Fq6{c0 * s, c1 * s, c2 * s}; }

  // this * (b0 + b1 v): 5 Fq2 products.
  Fq6 mul_by_01(const Fq2& b0, const Fq2& b1) const {
    const Fq2 v0 = c0 * b0, v1 = c1 * b1;
    return Fq6{v0 + mul_by_xi(c2 * b1), (c0 + c1) * (b0 + b1) - v0 - v1, c2 * b0 + v1};
  }

  // (A + B v + C v^2) / (c0 A + xi (c2 B + c1 C)), the other two coefficients
  // of the product vanishing by construction.
  Fq6 inv() const {
    const Fq2 A = c0.sqr() - mul_by_xi(c1 * c2);
    const Fq2 B = mul_by_xi(c2.sqr()) - c0 * c1;
    const Fq2 C = c1.sqr() - c0 * c2;
    const Fq2 t = (c0 * A + mul_by_xi(c2 * B + c1 * C)).inv();
    return Fq6{A * t, B * t, C * t};
  }
};

// ---------------------------------------------------------------- Fq12

struct Fq12 {
  Fq6 c0, c1;

  static Fq12 one() { return Fq12{Fq6::one(), Fq6::zero()}; }
  bool is_one() const { return c0 == Fq6::one() && c1 == Fq6::zero(); }
  bool operator==(const Fq12& o) const { return c0 == o.c0 && c1 == o.c1; }

  friend Fq12 operator*(const Fq12& a, const Fq12& b) {
    const Fq6 t0 = a.c0 * b.c0, t1 = a.c1 * b.c1;
    return Fq12{t0 + t1.mul_by_v(), (a.c0 + a.c1) * (b.c0 + b.c1) - t0 - t1};
  }

  // (a0 + a1 w)^2 = (a0^2 + v a1^2) + 2 a0 a1 w, with two Fq6 products.
  Fq12 sqr() const {
    const Fq6 t = c0 * c1;
    return Fq12{(c0 + c1) * (c0 + c1.mul_by_v()) - t - t.mul_by_v(), t + t};
  }

  // this^(p^6): w^(p^6) = -w.
  Fq12 conj() const { return Fq12{c0, c1.neg()}; }

  Fq12 inv() const {
    const Fq6 t = (c0.sqr() - c1.sqr().mul_by_v()).inv();
    return Fq12{c0 * t, (c1 * t).neg()};
  }

  // this * (d0 + d1 w + d2 w^3), the shape of an evaluated line: with
  // w^3 = v w that is L0 + L1 w for L0 = (d0, 0, 0), L1 = (d1, d2, 0).
  Fq12 mul_by_line(const Fq2& d0, const Fq2& d1, const Fq2& d2) const {
    const Fq6 t0 = c0.mul_by_fq2(d0);
    const Fq6 t1 = c1.mul_by_01(d1, d2);
    return Fq12{t0 + t1.mul_by_v(), (c0 + c1).mul_by_01(d0 + d1, d2) - t0 - t1};
  }
};

// ---------------------------------------------------------------- constants

struct Constants {
  Fq2 twist_b;         // 3 / xi
  Fq2 twist_b3;        // 3 * twist_b
  Fq half;             // 1/2
  Fq2 frob1[6];        // xi^(i (p - 1) / 6): w^(i p) = frob1[i] w^i
  Fq frob2[6];         // xi^(i (p^2 - 1) / 6) = frob1[i] * conj(frob1[i]), in Fq
  std::vector<int8_t> naf;  // 6u + 2 in non-adjacent form, least significant digit first
};

inline Fq fq_from_u64(u64 v) { return Fq::to_mont(Fq::raw(v, 0, 0, 0)); }

inline Constants make_constants() {
  Constants k;
  const Fq2 xi{fq_from_u64(9), fq_from_u64(1)};
  k.twist_b = Fq2{fq_from_u64(3), Fq::zero()} * xi.inv();
  k.twist_b3 = k.twist_b.dbl() + k.twist_b;
  k.half = fq_from_u64(2).inv();
  // (p - 1) / 6, by long division of the 256-bit p - 1 (p = 1 mod 6).
  u64 e[4];
  u128 rem = 0;
  for (int i = 3; i >= 0; --i) {
    const u128 cur = (rem << 64) | (i == 0 ? FqParams::P[0] - 1 : FqParams::P[i]);
    e[i] = (u64)(cur / 6);
    rem = cur % 6;
  }
  const Fq2 g = pow(xi, e);
  k.frob1[0] = Fq2::one();
  for (int i = 1; i < 6; ++i) k.frob1[i] = k.frob1[i - 1] * g;
  for (int i = 0; i < 6; ++i) k.frob2[i] = (k.frob1[i] * conj(k.frob1[i])).c0;
  // NAF: take the digit 2 - (n mod 4) when n is odd, so the next digit is 0.
  u128 n = (u128)6 * kU + 2;
  while (n != 0) {
    int8_t digit = 0;
    if (n & 1) {
      digit = (n & 3) == 1 ? 1 : -1;
      n = digit == 1 ? n - 1 : n + 1;
    }
    k.naf.push_back(digit);
    n >>= 1;
  }
  return k;
}

inline const Constants& constants() {
  static const Constants k = make_constants();
  return k;
}

// ---------------------------------------------------------------- Frobenius

// The 6 Fq2 coefficients of w^0 .. w^5 in an Fq12 (w^2 = v, w^3 = v w).
inline Fq2* coeff(Fq12& f, int i) {
  Fq6& half = (i & 1) ? f.c1 : f.c0;
  return i < 2 ? &half.c0 : i < 4 ? &half.c1 : &half.c2;
}

// f^p: conjugate each Fq2 coefficient and multiply the one of w^i by w^(i(p-1)).
inline Fq12 frobenius1(const Fq12& f) {
  const Constants& k = constants();
  Fq12 r = f;
  for (int i = 0; i < 6; ++i) {
    Fq2* c = coeff(r, i);
    *c = conj(*c) * k.frob1[i];
  }
  return r;
}

// f^(p^2): Fq2 coefficients are fixed; w^i picks up an Fq factor.
inline Fq12 frobenius2(const Fq12& f) {
  const Constants& k = constants();
  Fq12 r = f;
  for (int i = 1; i < 6; ++i) {
    Fq2* c = coeff(r, i);
    *c = scale(*c, k.frob2[i]);
  }
  return r;
}

// ---------------------------------------------------------------- G2 lines

// One line (see the top of the file): c0 * yP + c1 * xP * w + c2 * w^3.
struct Line {
  Fq2 c0, c1, c2;
};

// The lines of f_{6u+2,Q} and the two Frobenius lines for one G2 point, in
// the order the Miller loop uses them. Empty for the point at infinity.
struct G2Prepared {
  std::vector<Line> lines;
};

struct G2Projective {
  Fq2 X, Y, Z;
};

// T = 2T; the tangent at T, scaled by -2YZ:
// -2YZ yP + 3X^2 xP w + (3b'Z^2 - Y^2) w^3 (using Y^2 Z = X^3 + b'Z^3).
inline Line doubling_step(G2Projective& t) {
  const Constants& k = constants();
  const Fq2 XY = t.X * t.Y;
  const Fq2 A = scale(XY, k.half);
  const Fq2 B = t.Y.sqr();
  const Fq2 C = t.Z.sqr();
  const Fq2 E = k.twist_b3 * C;
  const Fq2 F = E.dbl() + E;
  const Fq2 G = scale(B + F, k.half);
  const Fq2 H = (t.Y + t.Z).sqr() - (B + C);
  const Fq2 X2 = t.X.sqr();
  const Line line{H.neg(), X2.dbl() + X2, E - B};
  // X3 = XY/2 (Y^2 - 9b'Z^2), Y3 = ((Y^2 + 9b'Z^2)/2)^2 - 27b'^2 Z^4, Z3 = 2Y^3 Z.
  const Fq2 E2 = E.sqr();
  t.X = A * (B - F);
  t.Y = G.sqr() - (E2.dbl() + E2);
  t.Z = B * H;
  return line;
}

// T = T + Q (Q affine, T != +-Q); the chord through T and Q, scaled by
// lambda = X - xQ Z: lambda yP - theta xP w + (theta xQ - lambda yQ) w^3,
// theta = Y - yQ Z.
inline Line addition_step(G2Projective& t, const G2Affine& q) {
  const Fq2 theta = t.Y - q.y * t.Z;
  const Fq2 lambda = t.X - q.x * t.Z;
  const Fq2 C = theta.sqr();
  const Fq2 D = lambda.sqr();
  const Fq2 E = lambda * D;
  const Fq2 F = t.Z * C;
  const Fq2 G = t.X * D;
  const Fq2 H = E + F - G.dbl();
  const Line line{lambda, theta.neg(), theta * q.x - lambda * q.y};
  t.Y = theta * (G - H) - t.Y * E;
  t.X = lambda * H;
  t.Z = t.Z * E;
  return line;
}

// psi = untwist, p-power Frobenius, twist: an endomorphism of the twist,
// psi(x, y) = (conj(x) xi^((p-1)/3), conj(y) xi^((p-1)/2)).
inline G2Affine psi(const G2Affine& q) {
  const Constants& k = constants();
  return G2Affine{conj(q.x) * k.frob1[2], conj(q.y) * k.frob1[3]};
}

// Membership in G2 for a point q on the twist: psi(q) == [6u^2] q.
// Why it suffices: psi satisfies psi^2 - t psi + p = 0 (t = 6u^2 + 1, the
// trace of Frobenius), so psi(q) = [6u^2] q gives
// [36u^4 - (6u^2 + 1) 6u^2 + p] q = [p - 6u^2] q = [r] q = O, and the points
// of order r over Fq2 are exactly G2; conversely psi acts on G2 as
// [p] = [6u^2 + r] = [6u^2]. A 129-bit multiplication instead of r's 254 bits.
inline bool in_g2(const G2Affine& q) {
  if (q.is_infinity()) return true;
  const u128 k = (u128)6 * kU * kU;
  G2Xyzz acc = G2Xyzz::infinity();
  for (int bit = 127; bit >= 0; --bit) {
    acc = acc.dbl();
    if ((k >> bit) & 1) acc.add_affine(q);
  }
  if (acc.is_infinity()) return false;  // psi(q) is never O for q != O
  const G2Affine image = psi(q);
  return acc.X == image.x * acc.ZZ && acc.Y == image.y * acc.ZZZ;
}

// q must be on the twist and in G2 (the caller checks); infinity gives no lines.
inline G2Prepared prepare_g2(const G2Affine& q) {
  const Constants& k = constants();
  G2Prepared out;
  if (q.is_infinity()) return out;
  out.lines.reserve(2 * k.naf.size() + 2);
  const G2Affine minus_q = q.neg();
  G2Projective t{q.x, q.y, Fq2::one()};
  for (size_t i = k.naf.size() - 1; i-- > 0;) {
    out.lines.push_back(doubling_step(t));
    if (k.naf[i] == 1) out.lines.push_back(addition_step(t, q));
    if (k.naf[i] == -1) out.lines.push_back(addition_step(t, minus_q));
  }
  // pi(Q) = (conj(x) xi^((p-1)/3), conj(y) xi^((p-1)/2)); -pi^2(Q) likewise with p^2.
  const G2Affine q1 = psi(q);
  const G2Affine minus_q2{scale(q.x, k.frob2[2]), scale(q.y, k.frob2[3]).neg()};
  out.lines.push_back(addition_step(t, q1));
  out.lines.push_back(addition_step(t, minus_q2));
  return out;
}

// ---------------------------------------------------------------- pairing

struct PairInput {
  G1Affine p;               // Montgomery form; infinity skips the pair
  const G2Prepared* q;      // empty lines skip the pair
};

inline Fq12 apply_line(const Fq12& f, const Line& l, const G1Affine& p) {
  return f.mul_by_line(scale(l.c0, p.y), scale(l.c1, p.x), l.c2);
}

// The product of f_{6u+2,Q_i}(P_i) times the Frobenius lines, over all pairs
// at once (one squaring of f per step for all of them).
inline Fq12 multi_miller_loop(const PairInput* pairs, size_t n) {
  const Constants& k = constants();
  std::vector<PairInput> live;
  for (size_t i = 0; i < n; ++i) {
    if (!pairs[i].p.is_infinity() && !pairs[i].q->lines.empty()) live.push_back(pairs[i]);
  }
  Fq12 f = Fq12::one();
  size_t index = 0;
  for (size_t i = k.naf.size() - 1; i-- > 0;) {
    if (index > 0) f = f.sqr();
    for (const PairInput& in : live) f = apply_line(f, in.q->lines[index], in.p);
    ++index;
    if (k.naf[i] != 0) {
      for (const PairInput& in : live) f = apply_line(f, in.q->lines[index], in.p);
      ++index;
    }
  }
  for (int last = 0; last < 2; ++last, ++index) {
    for (const PairInput& in : live) f = apply_line(f, in.q->lines[index], in.p);
  }
  return f;
}

// (x0 + x1 z)^2 in Fq4 = Fq2[z]/(z^2 - xi), z = w^3: three Fq2 squarings.
inline void fq4_sqr(const Fq2& x0, const Fq2& x1, Fq2* r0, Fq2* r1) {
  const Fq2 t0 = x0.sqr(), t1 = x1.sqr();
  *r0 = t0 + mul_by_xi(t1);
  *r1 = (x0 + x1).sqr() - t0 - t1;
}

// f^2 for f in the cyclotomic subgroup (the elements of order dividing
// p^4 - p^2 + 1, where the easy part of the final exponentiation lands),
// Granger-Scott: write f = A + B w + C w^2 over Fq4 (A = a0 + a3 z,
// B = a1 + a4 z, C = a2 + a5 z, a_i the coefficient of w^i); then
// f^2 = (3A^2 - 2 conj(A)) + (3 z C^2 + 2 conj(B)) w + (3B^2 - 2 conj(C)) w^2,
// conj being z -> -z. Nine Fq2 squarings instead of twelve Fq2 products.
inline Fq12 cyclotomic_sqr(const Fq12& f) {
  const Fq2 &a0 = f.c0.c0, &a1 = f.c1.c0, &a2 = f.c0.c1, &a3 = f.c1.c1, &a4 = f.c0.c2, &a5 = f.c1.c2;
  Fq2 A0, A1, B0, B1, C0, C1;
  fq4_sqr(a0, a3, &A0, &A1);
  fq4_sqr(a1, a4, &B0, &B1);
  fq4_sqr(a2, a5, &C0, &C1);
  // z * (C0 + C1 z) = xi C1 + C0 z.
  const Fq2 zC0 = mul_by_xi(C1), zC1 = C0;
  const Fq2 r0 = A0.dbl() + A0 - a0.dbl();
  const Fq2 r3 = A1.dbl() + A1 + a3.dbl();
  const Fq2 r1 = zC0.dbl() + zC0 + a1.dbl();
  const Fq2 r4 = zC1.dbl() + zC1 - a4.dbl();
  const Fq2 r2 = B0.dbl() + B0 - a2.dbl();
  const Fq2 r5 = B1.dbl() + B1 + a5.dbl();
  return Fq12{Fq6{r0, r2, r4}, Fq6{r1, r3, r5}};
}

// f^u for f in the cyclotomic subgroup (square and multiply; u has 63 bits).
inline Fq12 cyclotomic_pow_u(const Fq12& f) {
  Fq12 r = f;
  for (int bit = 61; bit >= 0; --bit) {
    r = cyclotomic_sqr(r);
    if ((kU >> bit) & 1) r = r * f;
  }
  return r;
}

inline Fq12 final_exponentiation(const Fq12& f) {
  // Easy part: f^((p^6 - 1)(p^2 + 1)).
  Fq12 t = f.conj() * f.inv();
  t = frobenius2(t) * t;
  // Hard part, exponents l0..l3 above; inverses are conjugates from here on.
  const Fq12 a = cyclotomic_pow_u(t);  // t^u
  const Fq12 b = cyclotomic_pow_u(a);  // t^(u^2)
  const Fq12 c = cyclotomic_pow_u(b);  // t^(u^3)
  const Fq12 a2 = a.sqr(), a4 = a2.sqr(), a8 = a4.sqr(), a12 = a8 * a4, a18 = a8.sqr() * a2;
  const Fq12 b2 = b.sqr(), b6 = b2.sqr() * b2, b12 = b6.sqr(), b18 = b12 * b6;
  const Fq12 c4 = c.sqr().sqr(), c36 = c4.sqr().sqr().sqr() * c4;
  const Fq12 c36b18 = c36 * b18;
  const Fq12 y0 = (c36b18 * b12 * a18 * t.sqr()).conj();  // t^l0
  const Fq12 y1 = (c36b18 * a12).conj() * t;               // t^l1
  const Fq12 y2 = b6 * t;                                  // t^l2
  return y0 * frobenius1(y1) * frobenius2(y2) * frobenius1(frobenius2(t));
}

// True when the product of e(P_i, Q_i) is 1.
inline bool pairing_product_is_one(const PairInput* pairs, size_t n) {
  return final_exponentiation(multi_miller_loop(pairs, n)).is_one();
}

}  // namespace pairing
}  // namespace zkp
