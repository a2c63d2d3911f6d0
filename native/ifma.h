// Eight field elements at once with AVX-512 IFMA (52-bit multiply-add).
//
// Why: the batch-affine bucket additions of the MSM are bound by the field
// multiplication. The scalar MULX/ADX product (mont_adx.h) runs one element
// per ~40 cycles; eight lanes of 52-bit IFMA products finish a Montgomery
// product per lane 3 to 4 times faster on CPUs that have IFMA (Ice Lake and
// later, Zen 4 and later).
//
// Representation: a Vec holds 8 elements, limb j of every lane in l[j]; an
// element is sum l[j] * 2^(52 j), 5 limbs. Values stay in the same Montgomery
// domain as the scalar code (R = 2^256), so the kernels read and write the
// scalar layout unchanged: the product's reduction divides by 2^52 four times
// and by 2^48 once. Between operations values are "lazy", in [0, 2p) with
// limbs below 2^52; `canonical` brings them to [0, p) for storage.
//
// Every function here is compiled for AVX-512 through the target attribute
// (the rest of the addon stays x86-64-v3); callers check cpu_has_ifma() first.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>

#include "field.h"

#define ZKP_IFMA_TARGET "avx512f,avx512ifma,avx512vl,avx512dq,avx512bw"
#define ZKP_IFMA __attribute__((target(ZKP_IFMA_TARGET)))
#define ZKP_IFMA_INLINE inline __attribute__((always_inline, target(ZKP_IFMA_TARGET)))

namespace zkp {
namespace ifma {

// True when the CPU (and OS) run AVX-512F + IFMA. ZKP_NATIVE_NO_IFMA=1 forces
// the scalar path (to test it on IFMA machines).
inline bool detect() {
  if (const char* off = std::getenv("ZKP_NATIVE_NO_IFMA")) {
    if (off[0] != '\0' && off[0] != '0') return false;
  }
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}
inline const bool kCpuHasIfma = detect();

constexpr unsigned kLanes = 8;
constexpr u64 kMask52 = (1ULL << 52) - 1;
constexpr u64 kMask48 = (1ULL << 48) - 1;

// Limb j (52 bits) of a 256-bit little-endian integer.
constexpr u64 radix52_limb(const u64 (&a)[4], int j) {
  const int bit = 52 * j, word = bit / 64, shift = bit % 64;
  u64 v = a[word] >> shift;
  if (shift > 12 && word + 1 < 4) v |= a[word + 1] << (64 - shift);
  return v & kMask52;
}

template <class Prm>
struct Constants {
  static constexpr u64 P[4] = {Prm::P[0], Prm::P[1], Prm::P[2], Prm::P[3]};
  // 2P < 2^255 (P < 2^254), so it fits 4 words.
  static constexpr u64 P2[4] = {Prm::P[0] << 1, (Prm::P[1] << 1) | (Prm::P[0] >> 63), (Prm::P[2] << 1) | (Prm::P[1] >> 63),
                                (Prm::P[3] << 1) | (Prm::P[2] >> 63)};
  static constexpr u64 p(int j) { return radix52_limb(P, j); }
  static constexpr u64 p2(int j) { return radix52_limb(P2, j); }
  // -P^-1 mod 2^52 (and mod 2^48 by masking): the low bits of Prm::INV.
  static constexpr u64 kInv52 = Prm::INV & kMask52;
};

struct Vec {
  __m512i l[5];
};

ZKP_IFMA_INLINE __m512i splat(u64 v) { return _mm512_set1_epi64((long long)v); }

// 8 elements from 4 word arrays (word w of lane k at words[w][k]), canonical
// 4 x 64-bit values -> 5 x 52-bit limbs.
ZKP_IFMA_INLINE Vec load(const u64* w0, const u64* w1, const u64* w2, const u64* w3) {
  const __m512i a0 = _mm512_loadu_si512(w0), a1 = _mm512_loadu_si512(w1), a2 = _mm512_loadu_si512(w2),
                a3 = _mm512_loadu_si512(w3);
  const __m512i m = splat(kMask52);
  Vec r;
  r.l[0] = _mm512_and_si512(a0, m);
  r.l[1] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(a0, 52), _mm512_slli_epi64(a1, 12)), m);
  r.l[2] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(a1, 40), _mm512_slli_epi64(a2, 24)), m);
  r.l[3] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(a2, 28), _mm512_slli_epi64(a3, 36)), m);
  r.l[4] = _mm512_srli_epi64(a3, 16);
  return r;
}

// The inverse of load, for limbs below 2^52 and a value below 2^256.
ZKP_IFMA_INLINE void store(const Vec& a, u64* w0, u64* w1, u64* w2, u64* w3) {
  _mm512_storeu_si512(w0, _mm512_or_si512(a.l[0], _mm512_slli_epi64(a.l[1], 52)));
  _mm512_storeu_si512(w1, _mm512_or_si512(_mm512_srli_epi64(a.l[1], 12), _mm512_slli_epi64(a.l[2], 40)));
  _mm512_storeu_si512(w2, _mm512_or_si512(_mm512_srli_epi64(a.l[2], 24), _mm512_slli_epi64(a.l[3], 28)));
  _mm512_storeu_si512(w3, _mm512_or_si512(_mm512_srli_epi64(a.l[3], 36), _mm512_slli_epi64(a.l[4], 16)));
}

ZKP_IFMA_INLINE Vec constant(const u64 (&v)[4]) {
  Vec r;
  for (int j = 0; j < 5; ++j) r.l[j] = splat(radix52_limb(v, j));
  return r;
}

// a - q when a >= q, else a; a has limbs below 2^52, q is a constant given
// by its 52-bit limbs. One subtraction with signed carries; its final carry
// (-1 when it borrowed) picks the lane's result.
ZKP_IFMA_INLINE Vec cond_sub(const Vec& a, const u64 (&q)[5]) {
  const __m512i m = splat(kMask52);
  Vec s;
  __m512i carry = _mm512_setzero_si512();
  for (int j = 0; j < 5; ++j) {
    const __m512i v = _mm512_add_epi64(_mm512_sub_epi64(a.l[j], splat(q[j])), carry);
    s.l[j] = _mm512_and_si512(v, m);
    carry = _mm512_srai_epi64(v, 52);
  }
  const __mmask8 borrowed = _mm512_cmplt_epi64_mask(carry, _mm512_setzero_si512());
  Vec r;
  for (int j = 0; j < 5; ++j) r.l[j] = _mm512_mask_blend_epi64(borrowed, s.l[j], a.l[j]);
  return r;
}

template <class Prm>
struct Field {
  using K = Constants<Prm>;
  static constexpr u64 kP[5] = {K::p(0), K::p(1), K::p(2), K::p(3), K::p(4)};
  static constexpr u64 kP2[5] = {K::p2(0), K::p2(1), K::p2(2), K::p2(3), K::p2(4)};

  // Lazy [0, 2p) -> canonical [0, p).
  static ZKP_IFMA_INLINE Vec canonical(const Vec& a) { return cond_sub(a, kP); }

  // a + b for lazy a, b: the sum is below 4p, one conditional 2p brings it back.
  static ZKP_IFMA_INLINE Vec add(const Vec& a, const Vec& b) {
    const __m512i m = splat(kMask52);
    Vec r;
    __m512i carry = _mm512_setzero_si512();
    for (int j = 0; j < 5; ++j) {
      const __m512i v = _mm512_add_epi64(_mm512_add_epi64(a.l[j], b.l[j]), carry);
      r.l[j] = _mm512_and_si512(v, m);
      carry = _mm512_srli_epi64(v, 52);
    }
    return cond_sub(r, kP2);
  }

  // a - b for lazy a, b: a + 2p - b lies in (0, 4p); one conditional 2p.
  static ZKP_IFMA_INLINE Vec sub(const Vec& a, const Vec& b) {
    const __m512i m = splat(kMask52);
    Vec r;
    __m512i carry = _mm512_setzero_si512();
    for (int j = 0; j < 5; ++j) {
      const __m512i v = _mm512_add_epi64(_mm512_sub_epi64(_mm512_add_epi64(a.l[j], splat(kP2[j])), b.l[j]), carry);
      r.l[j] = _mm512_and_si512(v, m);
      carry = _mm512_srai_epi64(v, 52);
    }
    return cond_sub(r, kP2);
  }

  // Montgomery product a * b / 2^256 for lazy a, b; the result is lazy.
  // Operand scanning over b's limbs. Each row adds a * b_i and m * P with
  // m = -t0 / P mod 2^52, then drops the zeroed low limb; the last row
  // reduces only 48 bits so the total division is 2^(4*52 + 48) = 2^256.
  // Bound: (a*b + M*P) / 2^256 < (4p^2 + 2^256 p) / 2^256 < 2p since 4p < 2^256.
  // Limb sums stay below 2^58 (at most five rows of four 52-bit terms).
  static ZKP_IFMA_INLINE Vec mul(const Vec& a, const Vec& b) {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i inv = splat(K::kInv52);
    __m512i p[5];
    for (int j = 0; j < 5; ++j) p[j] = splat(kP[j]);
    __m512i t0 = zero, t1 = zero, t2 = zero, t3 = zero, t4 = zero, t5 = zero;
    for (int i = 0; i < 5; ++i) {
      const __m512i bi = b.l[i];
      t0 = _mm512_madd52lo_epu64(t0, a.l[0], bi);
      t1 = _mm512_madd52lo_epu64(t1, a.l[1], bi);
      t2 = _mm512_madd52lo_epu64(t2, a.l[2], bi);
      t3 = _mm512_madd52lo_epu64(t3, a.l[3], bi);
      t4 = _mm512_madd52lo_epu64(t4, a.l[4], bi);
      t1 = _mm512_madd52hi_epu64(t1, a.l[0], bi);
      t2 = _mm512_madd52hi_epu64(t2, a.l[1], bi);
      t3 = _mm512_madd52hi_epu64(t3, a.l[2], bi);
      t4 = _mm512_madd52hi_epu64(t4, a.l[3], bi);
      t5 = _mm512_madd52hi_epu64(t5, a.l[4], bi);
      __m512i mi = _mm512_madd52lo_epu64(zero, t0, inv);
      if (i == 4) mi = _mm512_and_si512(mi, splat(kMask48));
      t0 = _mm512_madd52lo_epu64(t0, mi, p[0]);
      t1 = _mm512_madd52lo_epu64(t1, mi, p[1]);
      t2 = _mm512_madd52lo_epu64(t2, mi, p[2]);
      t3 = _mm512_madd52lo_epu64(t3, mi, p[3]);
      t4 = _mm512_madd52lo_epu64(t4, mi, p[4]);
      t1 = _mm512_madd52hi_epu64(t1, mi, p[0]);
      t2 = _mm512_madd52hi_epu64(t2, mi, p[1]);
      t3 = _mm512_madd52hi_epu64(t3, mi, p[2]);
      t4 = _mm512_madd52hi_epu64(t4, mi, p[3]);
      t5 = _mm512_madd52hi_epu64(t5, mi, p[4]);
      if (i < 4) {
        // t0 is now 0 mod 2^52: carry its high part and shift the limbs down.
        t0 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52));
        t1 = t2;
        t2 = t3;
        t3 = t4;
        t4 = t5;
        t5 = zero;
      }
    }
    // t0 is 0 mod 2^48. Normalise the six limbs, then shift right by 48.
    const __m512i m = splat(kMask52);
    __m512i n[6] = {t0, t1, t2, t3, t4, t5};
    __m512i carry = zero;
    for (int j = 0; j < 6; ++j) {
      const __m512i v = _mm512_add_epi64(n[j], carry);
      n[j] = _mm512_and_si512(v, m);
      carry = _mm512_srli_epi64(v, 52);
    }
    Vec r;
    for (int j = 0; j < 5; ++j) {
      r.l[j] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(n[j], 48), _mm512_slli_epi64(n[j + 1], 4)), m);
    }
    return r;
  }
};

using FqVec = Field<FqParams>;

}  // namespace ifma
}  // namespace zkp
