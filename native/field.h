// BN254 prime fields in Montgomery form: 4 x 64-bit little-endian limbs, R = 2^256.
// Layout is byte-identical to ffjavascript / zkey buffers on little-endian hosts,
// so element arrays are read and written in place.
#pragma once
#include <cstdint>
#include <cstring>
#include <immintrin.h>

#include "mont_adx.h"

namespace zkp {

using u64 = uint64_t;
using u128 = unsigned __int128;

struct FqParams {
  static constexpr u64 P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr u64 R1[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL};
  static constexpr u64 R2[4] = {0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL};
  static constexpr u64 INV = 0x87d20782e4866389ULL;  // -P^-1 mod 2^64
};

struct FrParams {
  static constexpr u64 P[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr u64 R1[4] = {0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL, 0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL};
  static constexpr u64 R2[4] = {0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL};
  static constexpr u64 INV = 0xc2e1f593efffffffULL;
};

// Decided once at load: the CPU runs MULX/ADCX/ADOX (Broadwell and later).
// ZKP_NATIVE_NO_ADX=1 forces the portable path (to test it on ADX machines).
inline const bool kCpuHasAdx = detect_adx();

// True when the 256-bit little-endian integer a is < P (a canonical element).
template <class Prm>
inline bool is_canonical(const u64 a[4]) {
  for (int i = 3; i >= 0; --i) {
    if (a[i] != Prm::P[i]) return a[i] < Prm::P[i];
  }
  return false;
}

template <class Prm>
struct Fp {
  u64 l[4];

  static Fp zero() { return Fp{{0, 0, 0, 0}}; }
  static Fp one() { return Fp{{Prm::R1[0], Prm::R1[1], Prm::R1[2], Prm::R1[3]}}; }
  static Fp raw(u64 a0, u64 a1, u64 a2, u64 a3) { return Fp{{a0, a1, a2, a3}}; }

  bool is_zero() const { return (l[0] | l[1] | l[2] | l[3]) == 0; }
  bool operator==(const Fp& o) const {
    return ((l[0] ^ o.l[0]) | (l[1] ^ o.l[1]) | (l[2] ^ o.l[2]) | (l[3] ^ o.l[3])) == 0;
  }
  bool operator!=(const Fp& o) const { return !(*this == o); }

  // Subtracts P when the value is >= P (branch-free). Valid because P < 2^254,
  // so a sum of two reduced elements never overflows 256 bits.
  static inline void reduce_once(u64 t[4]) {
    unsigned long long s0, s1, s2, s3;
    unsigned char borrow = _subborrow_u64(0, t[0], Prm::P[0], &s0);
    borrow = _subborrow_u64(borrow, t[1], Prm::P[1], &s1);
    borrow = _subborrow_u64(borrow, t[2], Prm::P[2], &s2);
    borrow = _subborrow_u64(borrow, t[3], Prm::P[3], &s3);
    t[0] = borrow ? t[0] : s0;
    t[1] = borrow ? t[1] : s1;
    t[2] = borrow ? t[2] : s2;
    t[3] = borrow ? t[3] : s3;
  }

  friend ZKP_INLINE Fp operator+(const Fp& a, const Fp& b) {
    Fp r;
    unsigned long long r0, r1, r2, r3;
    unsigned char carry = _addcarry_u64(0, a.l[0], b.l[0], &r0);
    carry = _addcarry_u64(carry, a.l[1], b.l[1], &r1);
    carry = _addcarry_u64(carry, a.l[2], b.l[2], &r2);
    _addcarry_u64(carry, a.l[3], b.l[3], &r3);
    r.l[0] = r0; r.l[1] = r1; r.l[2] = r2; r.l[3] = r3;
    reduce_once(r.l);
    return r;
  }

  friend ZKP_INLINE Fp operator-(const Fp& a, const Fp& b) {
    unsigned long long r0, r1, r2, r3;
    unsigned char borrow = _subborrow_u64(0, a.l[0], b.l[0], &r0);
    borrow = _subborrow_u64(borrow, a.l[1], b.l[1], &r1);
    borrow = _subborrow_u64(borrow, a.l[2], b.l[2], &r2);
    borrow = _subborrow_u64(borrow, a.l[3], b.l[3], &r3);
    // Add back P masked by the borrow (branch-free).
    const u64 mask = 0 - (u64)borrow;
    unsigned char carry = _addcarry_u64(0, r0, Prm::P[0] & mask, &r0);
    carry = _addcarry_u64(carry, r1, Prm::P[1] & mask, &r1);
    carry = _addcarry_u64(carry, r2, Prm::P[2] & mask, &r2);
    _addcarry_u64(carry, r3, Prm::P[3] & mask, &r3);
    return Fp{{r0, r1, r2, r3}};
  }

  Fp neg() const { return is_zero() ? *this : zero() - *this; }
  ZKP_INLINE Fp dbl() const { return *this + *this; }

  // Montgomery product a*b/R for a, b < P: the ADX assembly when the CPU has
  // it, else the portable CIOS (mul_portable).
  friend ZKP_INLINE Fp operator*(const Fp& a, const Fp& b) {
    if (kCpuHasAdx) {
      Fp r;
      mont_mul_adx<Prm>(r.l, a.l, b.l);
      return r;
    }
    return mul_portable(a, b);
  }

  // CIOS with 128-bit products. The top limb of P is below 2^62, so the
  // running value fits 4 limbs plus the two carries folded into the top word.
  static inline Fp mul_portable(const Fp& a, const Fp& b) {
    u64 t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
      const u64 bi = b.l[i];
      u128 acc = (u128)a.l[0] * bi + t[0];
      u64 A = (u64)(acc >> 64);
      const u64 t0 = (u64)acc;
      const u64 m = t0 * Prm::INV;
      u128 red = (u128)m * Prm::P[0] + t0;
      u64 C = (u64)(red >> 64);
      for (int j = 1; j < 4; ++j) {
        acc = (u128)a.l[j] * bi + t[j] + A;
        A = (u64)(acc >> 64);
        red = (u128)m * Prm::P[j] + (u64)acc + C;
        C = (u64)(red >> 64);
        t[j - 1] = (u64)red;
      }
      t[3] = C + A;
    }
    reduce_once(t);
    return Fp{{t[0], t[1], t[2], t[3]}};
  }

  ZKP_INLINE Fp sqr() const { return (*this) * (*this); }

  // this^e for a 256-bit little-endian exponent (square and multiply).
  Fp pow(const u64 e[4]) const {
    Fp result = one();
    for (int i = 3; i >= 0; --i) {
      for (int bit = 63; bit >= 0; --bit) {
        result = result.sqr();
        if ((e[i] >> bit) & 1) result = result * (*this);
      }
    }
    return result;
  }
  Fp pow_u64(u64 e) const {
    const u64 ee[4] = {e, 0, 0, 0};
    return pow(ee);
  }

  // Fermat inverse; the inverse of zero is zero (callers check when it matters).
  Fp inv() const {
    u64 e[4] = {Prm::P[0] - 2, Prm::P[1], Prm::P[2], Prm::P[3]};
    return pow(e);
  }

  static Fp to_mont(const Fp& standard) {
    return standard * Fp{{Prm::R2[0], Prm::R2[1], Prm::R2[2], Prm::R2[3]}};
  }
  Fp from_mont() const { return (*this) * Fp{{1, 0, 0, 0}}; }

  static Fp load(const uint8_t* p) {
    Fp r;
    std::memcpy(r.l, p, 32);
    return r;
  }
  void store(uint8_t* p) const { std::memcpy(p, l, 32); }
};

using Fq = Fp<FqParams>;
using Fr = Fp<FrParams>;

// Montgomery's trick: inverts every element of v in place with one field
// inversion and 3(n-1) products. Zero elements stay zero.
template <class F>
void batch_inverse(F* v, size_t n, F* scratch) {
  F acc = F::one();
  for (size_t i = 0; i < n; ++i) {
    scratch[i] = acc;
    if (!v[i].is_zero()) acc = acc * v[i];
  }
  F inv = acc.inv();
  for (size_t i = n; i-- > 0;) {
    if (v[i].is_zero()) continue;
    const F vi = v[i];
    v[i] = inv * scratch[i];
    inv = inv * vi;
  }
}

// Quadratic extension Fq2 = Fq[u] / (u^2 + 1).
struct Fq2 {
  Fq c0, c1;
  static Fq2 zero() { return Fq2{Fq::zero(), Fq::zero()}; }
  static Fq2 one() { return Fq2{Fq::one(), Fq::zero()}; }
  bool is_zero() const { return c0.is_zero() && c1.is_zero(); }
  bool operator==(const Fq2& o) const { return c0 == o.c0 && c1 == o.c1; }
  bool operator!=(const Fq2& o) const { return !(*this == o); }
  friend inline Fq2 operator+(const Fq2& a, const Fq2& b) { return Fq2{a.c0 + b.c0, a.c1 + b.c1}; }
  friend inline Fq2 operator-(const Fq2& a, const Fq2& b) { return Fq2{a.c0 - b.c0, a.c1 - b.c1}; }
  // Karatsuba: three base-field products.
  friend inline Fq2 operator*(const Fq2& a, const Fq2& b) {
    const Fq v0 = a.c0 * b.c0;
    const Fq v1 = a.c1 * b.c1;
    const Fq mid = (a.c0 + a.c1) * (b.c0 + b.c1);
    return Fq2{v0 - v1, mid - v0 - v1};
  }
  Fq2 sqr() const {
    const Fq t = c0 * c1;
    return Fq2{(c0 + c1) * (c0 - c1), t + t};
  }
  Fq2 neg() const { return Fq2{c0.neg(), c1.neg()}; }
  Fq2 dbl() const { return Fq2{c0.dbl(), c1.dbl()}; }
  Fq2 inv() const {
    const Fq t = (c0.sqr() + c1.sqr()).inv();
    return Fq2{c0 * t, (c1 * t).neg()};
  }
};

}  // namespace zkp
