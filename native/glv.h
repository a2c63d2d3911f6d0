// GLV endomorphism for BN254 G1: phi(x, y) = (beta * x, y) equals lambda * P,
// with beta a cube root of unity in Fq and lambda one in Fr. A 254-bit scalar
// k splits into k = k1 + lambda * k2 (mod r) with |k1|, |k2| < 2^127, so an MSM
// over n points and 254-bit scalars becomes one over 2n points and 127-bit
// scalars: the same number of bucket additions, half the windows to reduce.
//
// Split: c1 = floor(k * g1 / 2^256), c2 = floor(k * g2 / 2^256) with
// g1 = round(2^256 * b2 / r), g2 = round(2^256 * (-b1) / r) for the short
// lattice basis v1 = (a1, b1), v2 = (a2, b2) of {(x, y): x + y * lambda = 0 mod r};
// then k1 = k - c1 * a1 - c2 * a2 and k2 = -c1 * b1 - c2 * b2. The bound
// (127 bits) was checked exhaustively on edge values and 2 * 10^5 random k.
#pragma once
#include <cstdint>

#include "field.h"

namespace zkp {
namespace glv {

constexpr unsigned kSplitBits = 127;

// beta in Montgomery form (the cube root of unity paired with lambda =
// 0xb3c4d79d41a917585bfc41088d8daaa78b17ea66b99c90dd).
inline Fq beta() { return Fq::raw(0x71930c11d782e155ULL, 0xa6bb947cffbe3323ULL, 0xaa303344d4741444ULL, 0x2c3b3f0d26594943ULL); }

constexpr u64 kG1[2] = {0xd91d232ec7e0b3d7ULL, 0x0000000000000002ULL};
constexpr u64 kG2[3] = {0x7a7bd9d4391eb18eULL, 0x4ccef014a773d2cfULL, 0x0000000000000002ULL};
constexpr u64 kA1[1] = {0x89d3256894d213e3ULL};
constexpr u64 kA2[2] = {0x0be4e1541221250bULL, 0x6f4d8248eeb859fdULL};
constexpr u64 kMinusB1[2] = {0x8211bbeb7d4f1128ULL, 0x6f4d8248eeb859fcULL};
constexpr u64 kB2[1] = {0x89d3256894d213e3ULL};

// out[0 .. na + nb) = a * b.
inline void mul_wide(const u64* a, int na, const u64* b, int nb, u64* out) {
  for (int i = 0; i < na + nb; ++i) out[i] = 0;
  for (int i = 0; i < na; ++i) {
    u64 carry = 0;
    for (int j = 0; j < nb; ++j) {
      const u128 t = (u128)a[i] * b[j] + out[i + j] + carry;
      out[i + j] = (u64)t;
      carry = (u64)(t >> 64);
    }
    out[i + nb] = carry;
  }
}

// a -= b (mod 2^256); b has nb <= 4 limbs.
inline void sub_in_place(u64 a[4], const u64* b, int nb) {
  u64 borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 d = (u128)a[i] - (i < nb ? b[i] : 0) - borrow;
    a[i] = (u64)d;
    borrow = (u64)(d >> 64) & 1;
  }
}

// Two's complement value in 4 limbs -> (magnitude in 2 limbs, negative).
inline bool to_signed_128(const u64 v[4], u64 magnitude[2]) {
  const bool negative = (v[3] >> 63) != 0;
  u64 m[4] = {v[0], v[1], v[2], v[3]};
  if (negative) {
    u64 carry = 1;
    for (int i = 0; i < 4; ++i) {
      const u128 t = (u128)(~m[i]) + carry;
      m[i] = (u64)t;
      carry = (u64)(t >> 64);
    }
  }
  magnitude[0] = m[0];
  magnitude[1] = m[1];
  return negative;
}

struct Split {
  u64 k1[2], k2[2];
  bool k1_negative, k2_negative;
};

// k: a canonical Fr scalar in standard form.
inline Split split(const u64 k[4]) {
  u64 wide[7];
  mul_wide(k, 4, kG1, 2, wide);
  const u64 c1[2] = {wide[4], wide[5]};
  mul_wide(k, 4, kG2, 3, wide);
  const u64 c2[2] = {wide[4], wide[5]};  // wide[6] == 0: c2 < 2^128

  u64 k1[4] = {k[0], k[1], k[2], k[3]};
  u64 prod[4];
  mul_wide(c1, 2, kA1, 1, prod);
  sub_in_place(k1, prod, 3);
  mul_wide(c2, 2, kA2, 2, prod);
  sub_in_place(k1, prod, 4);

  u64 k2[4];
  mul_wide(c1, 2, kMinusB1, 2, k2);
  mul_wide(c2, 2, kB2, 1, prod);
  sub_in_place(k2, prod, 3);

  Split s;
  s.k1_negative = to_signed_128(k1, s.k1);
  s.k2_negative = to_signed_128(k2, s.k2);
  return s;
}

}  // namespace glv
}  // namespace zkp
