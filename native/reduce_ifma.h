// The bucket reduction sum_b (b + 1) * bucket[b] of one Pippenger window on
// eight lanes of AVX-512 IFMA (ifma.h, batch_add_ifma.h).
//
// Why: once the bucket additions run on IFMA, the scalar running-sum reduction
// (two XYZZ additions per bucket) is the next largest cost of an MSM window.
// The buckets are cut into eight segments, one per lane; lane k runs the
// usual running sum over its segment [start_k, end_k) from the top:
//   running_k = sum of the segment's buckets,
//   sum_k = sum over the segment of (b - start_k + 1) * bucket[b],
// and the window sum is sum_k (sum_k + start_k * running_k), the last product a
// short double-and-add on the host.
//
// The XYZZ formulas (as in curve.h) cannot add equal points; a lane that meets
// one (rare: repeated or structured inputs) is redone with the scalar code.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "batch_add_ifma.h"
#include "curve.h"

namespace zkp {
namespace ifma {

template <class V>
struct XyzzVec {
  V X, Y, ZZ, ZZZ;
};

ZKP_IFMA_INLINE __mmask8 zero_mask(const Vec& lazy) {
  const Vec c = canonical(lazy);
  const __m512i any = _mm512_or_si512(_mm512_or_si512(_mm512_or_si512(c.l[0], c.l[1]), _mm512_or_si512(c.l[2], c.l[3])), c.l[4]);
  return _mm512_cmpeq_epi64_mask(any, _mm512_setzero_si512());
}
ZKP_IFMA_INLINE __mmask8 zero_mask(const Vec2& lazy) { return zero_mask(lazy.c0) & zero_mask(lazy.c1); }

// Lanes in `mask` take b, the others keep a.
ZKP_IFMA_INLINE Vec select(__mmask8 mask, const Vec& a, const Vec& b) {
  Vec r;
  for (int j = 0; j < 5; ++j) r.l[j] = _mm512_mask_blend_epi64(mask, a.l[j], b.l[j]);
  return r;
}
ZKP_IFMA_INLINE Vec2 select(__mmask8 mask, const Vec2& a, const Vec2& b) {
  return Vec2{select(mask, a.c0, b.c0), select(mask, a.c1, b.c1)};
}
template <class V>
ZKP_IFMA_INLINE XyzzVec<V> select(__mmask8 mask, const XyzzVec<V>& a, const XyzzVec<V>& b) {
  return XyzzVec<V>{select(mask, a.X, b.X), select(mask, a.Y, b.Y), select(mask, a.ZZ, b.ZZ), select(mask, a.ZZZ, b.ZZZ)};
}

// Scalar points <-> the eight lanes of a vector point (canonical values).
template <class F, class V>
ZKP_IFMA_INLINE void to_lanes(const Xyzz<F> (&points)[kLanes], XyzzVec<V>& v) {
  alignas(64) u64 words[4][kWords<F>][kLanes];
  for (size_t k = 0; k < kLanes; ++k) {
    lane_set<F>(&words[0][0][0], kLanes, k, points[k].X);
    lane_set<F>(&words[1][0][0], kLanes, k, points[k].Y);
    lane_set<F>(&words[2][0][0], kLanes, k, points[k].ZZ);
    lane_set<F>(&words[3][0][0], kLanes, k, points[k].ZZZ);
  }
  v.X = load_el(&words[0][0][0], kLanes, 0, (V*)nullptr);
  v.Y = load_el(&words[1][0][0], kLanes, 0, (V*)nullptr);
  v.ZZ = load_el(&words[2][0][0], kLanes, 0, (V*)nullptr);
  v.ZZZ = load_el(&words[3][0][0], kLanes, 0, (V*)nullptr);
}
template <class F, class V>
ZKP_IFMA_INLINE void from_lanes(const XyzzVec<V>& v, Xyzz<F> (&points)[kLanes]) {
  alignas(64) u64 words[4][kWords<F>][kLanes];
  store_el(canonical(v.X), &words[0][0][0], kLanes, 0);
  store_el(canonical(v.Y), &words[1][0][0], kLanes, 0);
  store_el(canonical(v.ZZ), &words[2][0][0], kLanes, 0);
  store_el(canonical(v.ZZZ), &words[3][0][0], kLanes, 0);
  for (size_t k = 0; k < kLanes; ++k) {
    points[k].X = lane_get<F>(&words[0][0][0], kLanes, k);
    points[k].Y = lane_get<F>(&words[1][0][0], kLanes, k);
    points[k].ZZ = lane_get<F>(&words[2][0][0], kLanes, k);
    points[k].ZZZ = lane_get<F>(&words[3][0][0], kLanes, k);
  }
}

// acc += (x2, y2) in the lanes of `active` (mixed addition, madd-2008-s).
template <class F, class V>
ZKP_IFMA_INLINE void add_affine_lanes(XyzzVec<V>& acc, const V& x2, const V& y2, __mmask8 active, const u64* x_words,
                                      const u64* y_words) {
  const __mmask8 acc_infinity = zero_mask(acc.ZZ);
  const V U2 = mul(x2, acc.ZZ), S2 = mul(y2, acc.ZZZ);
  const V P = sub(U2, acc.X), R = sub(S2, acc.Y);
  const V PP = mul(P, P), PPP = mul(P, PP), Q = mul(acc.X, PP);
  XyzzVec<V> sum;
  sum.X = sub(sub(mul(R, R), PPP), add(Q, Q));
  sum.Y = sub(mul(R, sub(Q, sum.X)), mul(acc.Y, PPP));
  sum.ZZ = mul(acc.ZZ, PP);
  sum.ZZZ = mul(acc.ZZZ, PPP);
  const __mmask8 equal_x = zero_mask(P) & active & ~acc_infinity;
  alignas(64) u64 one_words[kWords<F>][kLanes];
  for (size_t k = 0; k < kLanes; ++k) lane_set<F>(&one_words[0][0], kLanes, k, F::one());
  const V one = load_el(&one_words[0][0], kLanes, 0, (V*)nullptr);
  XyzzVec<V> result = select(active & ~acc_infinity & ~equal_x, acc, sum);
  result = select(active & acc_infinity, result, XyzzVec<V>{x2, y2, one, one});
  if (equal_x != 0) {
    Xyzz<F> before[kLanes], after[kLanes];
    from_lanes<F>(acc, before);
    from_lanes<F>(result, after);
    for (size_t k = 0; k < kLanes; ++k) {
      if (!((equal_x >> k) & 1)) continue;
      after[k] = before[k];
      after[k].add_affine(Affine<F>{lane_get<F>(x_words, kLanes, k), lane_get<F>(y_words, kLanes, k)});
    }
    to_lanes<F>(after, result);
  }
  acc = result;
}

// acc += q in the lanes of `active` (add-2008-s).
template <class F, class V>
ZKP_IFMA_INLINE void add_lanes(XyzzVec<V>& acc, const XyzzVec<V>& q, __mmask8 active) {
  const __mmask8 acc_infinity = zero_mask(acc.ZZ), q_infinity = zero_mask(q.ZZ);
  const V U1 = mul(acc.X, q.ZZ), U2 = mul(q.X, acc.ZZ);
  const V S1 = mul(acc.Y, q.ZZZ), S2 = mul(q.Y, acc.ZZZ);
  const V P = sub(U2, U1), R = sub(S2, S1);
  const V PP = mul(P, P), PPP = mul(P, PP), Q = mul(U1, PP);
  XyzzVec<V> sum;
  sum.X = sub(sub(mul(R, R), PPP), add(Q, Q));
  sum.Y = sub(mul(R, sub(Q, sum.X)), mul(S1, PPP));
  sum.ZZ = mul(mul(acc.ZZ, q.ZZ), PP);
  sum.ZZZ = mul(mul(acc.ZZZ, q.ZZZ), PPP);
  const __mmask8 both = active & ~acc_infinity & ~q_infinity;
  const __mmask8 equal_x = zero_mask(P) & both;
  XyzzVec<V> result = select(both & ~equal_x, acc, sum);
  result = select(active & acc_infinity & ~q_infinity, result, q);
  if (equal_x != 0) {
    Xyzz<F> before[kLanes], after[kLanes], other[kLanes];
    from_lanes<F>(acc, before);
    from_lanes<F>(result, after);
    from_lanes<F>(q, other);
    for (size_t k = 0; k < kLanes; ++k) {
      if (!((equal_x >> k) & 1)) continue;
      after[k] = before[k];
      after[k].add(other[k]);
    }
    to_lanes<F>(after, result);
  }
  acc = result;
}

// sum_b (b + 1) * bucket[b] over the buckets b < count with is_full[b] != 0.
template <class F>
ZKP_IFMA Xyzz<F> reduce_buckets(const Affine<F>* bucket, const uint8_t* state, uint8_t full, size_t count) {
  using V = typename VecOf<F>::type;
  const size_t segment = (count + kLanes - 1) / kLanes;
  size_t begin[kLanes], end[kLanes];
  for (size_t k = 0; k < kLanes; ++k) {
    begin[k] = std::min(count, k * segment);
    end[k] = std::min(count, begin[k] + segment);
  }
  Xyzz<F> infinity[kLanes];
  for (auto& p : infinity) p = Xyzz<F>::infinity();
  XyzzVec<V> running, sum;
  to_lanes<F>(infinity, running);
  to_lanes<F>(infinity, sum);
  alignas(64) u64 x_words[kWords<F>][kLanes] = {}, y_words[kWords<F>][kLanes] = {};
  for (size_t step = 0; step < segment; ++step) {
    __mmask8 in_range = 0, active = 0;
    for (size_t k = 0; k < kLanes; ++k) {
      if (end[k] < begin[k] + step + 1) continue;
      in_range |= (__mmask8)(1u << k);
      const size_t b = end[k] - 1 - step;
      if (state[b] != full) continue;
      active |= (__mmask8)(1u << k);
      lane_set<F>(&x_words[0][0], kLanes, k, bucket[b].x);
      lane_set<F>(&y_words[0][0], kLanes, k, bucket[b].y);
    }
    if (in_range == 0) break;
    if (active != 0) {
      const V x2 = load_el(&x_words[0][0], kLanes, 0, (V*)nullptr), y2 = load_el(&y_words[0][0], kLanes, 0, (V*)nullptr);
      add_affine_lanes<F>(running, x2, y2, active, &x_words[0][0], &y_words[0][0]);
    }
    add_lanes<F>(sum, running, in_range);
  }
  Xyzz<F> runs[kLanes], sums[kLanes];
  from_lanes<F>(running, runs);
  from_lanes<F>(sum, sums);
  Xyzz<F> total = Xyzz<F>::infinity();
  for (size_t k = 0; k < kLanes; ++k) {
    total.add(sums[k]);
    // + begin[k] * runs[k], double-and-add from the top bit.
    Xyzz<F> multiple = Xyzz<F>::infinity();
    for (int bit = 63; bit >= 0; --bit) {
      multiple = multiple.dbl();
      if ((begin[k] >> bit) & 1) multiple.add(runs[k]);
    }
    total.add(multiple);
  }
  return total;
}

}  // namespace ifma
}  // namespace zkp
