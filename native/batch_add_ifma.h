// The batch-affine addition of msm_buckets.h on eight lanes of AVX-512 IFMA
// (ifma.h): a[i] += p[i] for `count` pairs of affine points with distinct x
// (callers route equal x, a doubling or a cancellation, elsewhere).
//
// Montgomery's trick per lane: lane k chains the denominators of entries
// k, k + 8, k + 16, ..., so eight running products advance together and the
// eight lane totals share one scalar inversion. Per entry: 6 vector products.
//
// Layout (structure of arrays, so a group of 8 entries loads with whole-vector
// loads): word w of entry i of a coordinate array is at [w * stride + i];
// Fq has 4 words, Fq2 8 (c0 then c1). stride is a multiple of 8.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "field.h"
#include "ifma.h"

namespace zkp {
namespace ifma {

// Fq2 = Fq[u]/(u^2 + 1) on vectors, lazy like Vec.
struct Vec2 {
  Vec c0, c1;
};

ZKP_IFMA_INLINE Vec load_el(const u64* base, size_t stride, size_t i, Vec*) {
  return load(base + i, base + stride + i, base + 2 * stride + i, base + 3 * stride + i);
}
ZKP_IFMA_INLINE Vec2 load_el(const u64* base, size_t stride, size_t i, Vec2*) {
  return Vec2{load_el(base, stride, i, (Vec*)nullptr), load_el(base + 4 * stride, stride, i, (Vec*)nullptr)};
}
ZKP_IFMA_INLINE void store_el(const Vec& a, u64* base, size_t stride, size_t i) {
  store(a, base + i, base + stride + i, base + 2 * stride + i, base + 3 * stride + i);
}
ZKP_IFMA_INLINE void store_el(const Vec2& a, u64* base, size_t stride, size_t i) {
  store_el(a.c0, base, stride, i);
  store_el(a.c1, base + 4 * stride, stride, i);
}

ZKP_IFMA_INLINE Vec add(const Vec& a, const Vec& b) { return FqVec::add(a, b); }
ZKP_IFMA_INLINE Vec sub(const Vec& a, const Vec& b) { return FqVec::sub(a, b); }
ZKP_IFMA_INLINE Vec mul(const Vec& a, const Vec& b) { return FqVec::mul(a, b); }
ZKP_IFMA_INLINE Vec canonical(const Vec& a) { return FqVec::canonical(a); }

ZKP_IFMA_INLINE Vec2 add(const Vec2& a, const Vec2& b) { return Vec2{add(a.c0, b.c0), add(a.c1, b.c1)}; }
ZKP_IFMA_INLINE Vec2 sub(const Vec2& a, const Vec2& b) { return Vec2{sub(a.c0, b.c0), sub(a.c1, b.c1)}; }
// Karatsuba, three base products, as Fq2::operator* in field.h.
ZKP_IFMA_INLINE Vec2 mul(const Vec2& a, const Vec2& b) {
  const Vec v0 = mul(a.c0, b.c0);
  const Vec v1 = mul(a.c1, b.c1);
  const Vec mid = mul(add(a.c0, a.c1), add(b.c0, b.c1));
  return Vec2{sub(v0, v1), sub(sub(mid, v0), v1)};
}
// Squares: (c0 + c1 u)^2 = (c0 + c1)(c0 - c1) + 2 c0 c1 u, two base products.
ZKP_IFMA_INLINE Vec sqr(const Vec& a) { return mul(a, a); }
ZKP_IFMA_INLINE Vec2 sqr(const Vec2& a) {
  const Vec t = mul(a.c0, a.c1);
  return Vec2{mul(add(a.c0, a.c1), sub(a.c0, a.c1)), add(t, t)};
}
ZKP_IFMA_INLINE Vec2 canonical(const Vec2& a) { return Vec2{canonical(a.c0), canonical(a.c1)}; }

template <class F>
struct VecOf;
template <>
struct VecOf<Fq> {
  using type = Vec;
};
template <>
struct VecOf<Fq2> {
  using type = Vec2;
};

template <class F>
constexpr size_t kWords = sizeof(F) / sizeof(u64);

// Scalar <-> lane k of a word array.
template <class F>
inline F lane_get(const u64* base, size_t stride, size_t i) {
  F v;
  u64* w = reinterpret_cast<u64*>(&v);
  for (size_t k = 0; k < kWords<F>; ++k) w[k] = base[k * stride + i];
  return v;
}
template <class F>
inline void lane_set(u64* base, size_t stride, size_t i, const F& v) {
  const u64* w = reinterpret_cast<const u64*>(&v);
  for (size_t k = 0; k < kWords<F>; ++k) base[k * stride + i] = w[k];
}

// Bytes of aligned scratch batch_add needs for `count` entries.
template <class F>
constexpr size_t batch_add_scratch_bytes(size_t count) {
  return 2 * ((count + kLanes - 1) / kLanes) * sizeof(typename VecOf<F>::type);
}

// a[i] += p[i] for i < count; ax/ay are overwritten with the sums (canonical).
// Entries [count, round_up(count, 8)) are padding the function fills itself.
// scratch: batch_add_scratch_bytes(count) bytes, 64-byte aligned.
template <class F>
ZKP_IFMA void batch_add(u64* ax, u64* ay, u64* px, u64* py, size_t stride, size_t count, void* scratch) {
  using V = typename VecOf<F>::type;
  if (count == 0) return;
  const size_t groups = (count + kLanes - 1) / kLanes;
  // Padding lanes: a = (0, 0), p = (1, 0), so their denominator is 1.
  for (size_t i = count; i < groups * kLanes; ++i) {
    lane_set<F>(ax, stride, i, F::zero());
    lane_set<F>(ay, stride, i, F::zero());
    lane_set<F>(px, stride, i, F::one());
    lane_set<F>(py, stride, i, F::zero());
  }
  V* denominator = static_cast<V*>(scratch);
  V* prefix = denominator + groups;

  // Forward: prefix[g] = product of the lane's denominators before group g.
  alignas(64) u64 lanes[kWords<F>][kLanes];
  for (size_t k = 0; k < kLanes; ++k) lane_set<F>(&lanes[0][0], kLanes, k, F::one());
  V acc = load_el(&lanes[0][0], kLanes, 0, (V*)nullptr);
  for (size_t g = 0; g < groups; ++g) {
    const size_t i = g * kLanes;
    const V d = sub(load_el(px, stride, i, (V*)nullptr), load_el(ax, stride, i, (V*)nullptr));
    denominator[g] = d;
    prefix[g] = acc;
    acc = mul(acc, d);
  }

  // One scalar inversion for the eight lane totals.
  store_el(canonical(acc), &lanes[0][0], kLanes, 0);
  F total[kLanes], tmp[kLanes];
  for (size_t k = 0; k < kLanes; ++k) total[k] = lane_get<F>(&lanes[0][0], kLanes, k);
  batch_inverse(total, kLanes, tmp);
  for (size_t k = 0; k < kLanes; ++k) lane_set<F>(&lanes[0][0], kLanes, k, total[k]);
  V inv = load_el(&lanes[0][0], kLanes, 0, (V*)nullptr);

  // Backward: 1/d for each group, then the affine sum.
  for (size_t g = groups; g-- > 0;) {
    const size_t i = g * kLanes;
    const V inv_d = mul(inv, prefix[g]);
    inv = mul(inv, denominator[g]);
    const V xa = load_el(ax, stride, i, (V*)nullptr), ya = load_el(ay, stride, i, (V*)nullptr);
    const V xp = load_el(px, stride, i, (V*)nullptr), yp = load_el(py, stride, i, (V*)nullptr);
    const V lambda = mul(sub(yp, ya), inv_d);
    const V x3 = sub(sub(sqr(lambda), xa), xp);
    const V y3 = sub(mul(lambda, sub(xa, x3)), ya);
    store_el(canonical(x3), ax, stride, i);
    store_el(canonical(y3), ay, stride, i);
  }
}

}  // namespace ifma
}  // namespace zkp
