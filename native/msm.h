// Pippenger multi-scalar multiplication over affine bases (G1 or G2).
//
// Plan: (1) classify scalars: zero scalars and infinity bases are skipped,
// scalar == 1 is summed by plain addition (Groth16 witnesses are mostly 0 and
// 1); for G1, split each remaining scalar with the GLV endomorphism into two
// 127-bit halves (glv.h); (2) recode the scalars into signed c-bit digits in [-2^(c-1), 2^(c-1)], so a
// window needs only 2^(c-1) buckets and negation is free on affine points;
// (3) accumulate buckets (batch-affine or XYZZ, see msm_buckets.h), one task per (window, chunk of
// points), tasks spread over all threads; (4) reduce buckets with a running
// sum; (5) combine windows by doubling.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "curve.h"
#include "glv.h"
#include "msm_buckets.h"
#include "parallel.h"

namespace zkp {

namespace msm_detail {

constexpr unsigned kScalarBits = 254;  // r < 2^254

// Bits [start, start + width) of a 256-bit little-endian scalar (width <= 32).
inline uint32_t scalar_bits_at(const u64 s[4], unsigned start, unsigned width) {
  if (start >= 256) return 0;
  const unsigned limb = start / 64, shift = start % 64;
  u64 v = s[limb] >> shift;
  if (shift + width > 64 && limb + 1 < 4) v |= s[limb + 1] << (64 - shift);
  return (uint32_t)(v & ((1ULL << width) - 1));
}

// Window width minimising (windows) x (points + 3 x buckets): the reduction
// does two additions per bucket, dearer than a bucket addition. The weight 3
// was measured best against 2 and 4 at 2^16 points (c = 13).
inline unsigned choose_window_bits(size_t points, unsigned scalar_bits) {
  unsigned best_c = 1;
  double best_cost = 1e300;
  for (unsigned c = 1; c <= 20; ++c) {
    const double windows = (double)((scalar_bits + 1 + c - 1) / c);
    const double cost = windows * ((double)points + 3.0 * (double)(1u << (c - 1)));
    if (cost < best_cost) { best_cost = cost; best_c = c; }
  }
  return best_c;
}

// Batch-affine accumulation pays when batches can be large without
// colliding (many buckets) and there are enough points to fill them. A G2
// mixed XYZZ addition costs about 30 base-field products, so G2 takes the
// batch path down to 64 buckets: the top window of a 254-bit scalar with
// c = 13 has 128, and on the XYZZ path it took a tenth of the whole G2 MSM.
template <class F>
inline bool use_batch_affine(size_t buckets, size_t points) {
  constexpr size_t kMinBuckets = std::is_same_v<F, Fq2> ? 64 : 256;
  return buckets >= kMinBuckets && points >= 1024;
}

// Buckets window w needs: digits are |d| <= 2^(c-1), except in windows that
// hold fewer than c - 1 scalar bits, whose digit is at most 2^bits (bits of
// the scalar plus the carry from below, never a carry out).
inline size_t window_buckets(unsigned scalar_bits, unsigned c, unsigned w) {
  const size_t half = size_t{1} << (c - 1);
  const unsigned start = w * c;
  if (start >= scalar_bits) return 1;  // only the carry
  const unsigned bits = scalar_bits - start;
  return bits >= c - 1 ? half : (size_t{1} << bits);
}

inline bool is_one(const u64 s[4]) { return s[0] == 1 && (s[1] | s[2] | s[3]) == 0; }
inline bool is_zero(const u64 s[4]) { return (s[0] | s[1] | s[2] | s[3]) == 0; }

}  // namespace msm_detail

namespace msm_detail {

// Window layout of a Pippenger run over m points with scalars below 2^scalar_bits.
struct Windows {
  unsigned c;        // digit width
  unsigned count;    // windows, one bit more than the scalars hold (the top digit's carry)
};

inline Windows windows_for(size_t m, unsigned scalar_bits) {
  const unsigned c = choose_window_bits(m, scalar_bits);
  return {c, (scalar_bits + 1 + c - 1) / c};
}

// Signed c-bit digits of one scalar into digits[w * m + j] for each window w:
// each in [-2^(c-1), 2^(c-1)], so a window needs only 2^(c-1) buckets and
// negation is free on affine points.
template <class D>
inline void recode(const u64 s[4], const Windows& win, size_t m, size_t j, D* digits) {
  const int32_t half = 1 << (win.c - 1), full = 1 << win.c;
  int32_t carry = 0;
  for (unsigned w = 0; w < win.count; ++w) {
    int32_t d = (int32_t)scalar_bits_at(s, w * win.c, win.c) + carry;
    carry = d > half ? 1 : 0;
    d -= carry * full;
    digits[(size_t)w * m + j] = (D)d;
  }
}

// Runs run(D{}) with D = int16_t when the digits fit it (c <= 15: |d| <=
// 2^14), else int32_t: half the digit memory for every MSM up to about 2^22
// points.
template <class Run>
inline auto with_digit_type(const Windows& win, Run run) {
  if (win.c <= 15) return run(int16_t{});
  return run(int32_t{});
}

// (3) + (4) + (5) over recoded digits: point j is bases[index[j]], or
// bases[j] when index is null.
template <class F, class D>
Xyzz<F> pippenger_digits(const Affine<F>* bases, const uint32_t* index, size_t m, const D* digits, const Windows& win,
                         unsigned scalar_bits, unsigned threads) {
  using Acc = Xyzz<F>;
  const unsigned c = win.c, windows = win.count;
  // One task per (window, chunk); more chunks when threads outnumber
  // windows, but never chunks under 4096 points.
  size_t chunks = (2 * (size_t)threads + windows - 1) / windows;
  chunks = std::max<size_t>(1, std::min<size_t>(chunks, m / 4096));
  const size_t chunk_len = (m + chunks - 1) / chunks;
  std::vector<Acc> partial((size_t)windows * chunks, Acc::infinity());
  parallel_tasks((size_t)windows * chunks, [&](size_t task) {
    const size_t w = task / chunks, chunk = task % chunks;
    const size_t begin = chunk * chunk_len, end = std::min(m, begin + chunk_len);
    // The top window sees only the scalars' last bits (plus a carry), so it
    // needs fewer buckets; sizing it to its digits keeps its batches from
    // colliding (a batch sized for 2^(c-1) buckets overflows 2^10 of them).
    const size_t buckets = window_buckets(scalar_bits, c, (unsigned)w);
    const BucketTask<F, D> t{bases, index, digits + w * m, begin, end, buckets};
    partial[task] = use_batch_affine<F>(buckets, end - begin) ? accumulate_batch_affine(t) : accumulate_xyzz(t);
  }, threads);

  // (5) combine windows from the top: acc = acc * 2^c + window sum.
  Acc acc = Acc::infinity();
  for (size_t w = windows; w-- > 0;) {
    for (unsigned k = 0; k < c; ++k) acc = acc.dbl();
    for (size_t chunk = 0; chunk < chunks; ++chunk) acc.add(partial[w * chunks + chunk]);
  }
  return acc;
}

}  // namespace msm_detail

// Pippenger over the points bases[index[j]] with scalars scalars[4 * index[j]]
// (j < index.size()), every scalar below 2^scalar_bits and nonzero.
template <class F>
Xyzz<F> pippenger(const Affine<F>* bases, const u64* scalars, const std::vector<uint32_t>& index, unsigned scalar_bits,
                  unsigned threads) {
  using namespace msm_detail;
  const size_t m = index.size();
  // (2) signed-digit recoding, digits[w * m + j] for point j.
  const Windows win = windows_for(m, scalar_bits);
  return with_digit_type(win, [&](auto tag) {
    using D = decltype(tag);
    std::vector<D> digits((size_t)win.count * m);
    parallel_ranges(m, 4096, [&](size_t begin, size_t end) {
      for (size_t j = begin; j < end; ++j) recode(scalars + 4 * (size_t)index[j], win, m, j, digits.data());
    });
    return pippenger_digits<F, D>(bases, index.data(), m, digits.data(), win, scalar_bits, threads);
  });
}

// G1 through the GLV endomorphism (glv.h): each point P with scalar k becomes
// +-P with |k1| and +-phi(P) with |k2|, scalars of 127 bits. The halves are
// recoded as they are split, so neither their scalars nor an index of the
// split points (2j and 2j + 1 for general point j) is ever stored.
inline Xyzz<Fq> pippenger_glv(const Affine<Fq>* bases, const u64* scalars, const std::vector<uint32_t>& general,
                              unsigned threads) {
  using namespace msm_detail;
  const size_t m = general.size();
  const Windows win = windows_for(2 * m, glv::kSplitBits);
  std::vector<Affine<Fq>> split_bases(2 * m);
  const Fq beta = glv::beta();
  return with_digit_type(win, [&](auto tag) {
    using D = decltype(tag);
    std::vector<D> digits((size_t)win.count * 2 * m);
    parallel_ranges(m, 4096, [&](size_t begin, size_t end) {
      for (size_t j = begin; j < end; ++j) {
        const size_t i = general[j];
        const glv::Split s = glv::split(scalars + 4 * i);
        const Affine<Fq>& p = bases[i];
        const Affine<Fq> phi{p.x * beta, p.y};
        split_bases[2 * j] = s.k1_negative ? p.neg() : p;
        split_bases[2 * j + 1] = s.k2_negative ? phi.neg() : phi;
        const u64 k1[4] = {s.k1[0], s.k1[1], 0, 0};
        const u64 k2[4] = {s.k2[0], s.k2[1], 0, 0};
        recode(k1, win, 2 * m, 2 * j, digits.data());
        recode(k2, win, 2 * m, 2 * j + 1, digits.data());
      }
    });
    return pippenger_digits<Fq, D>(split_bases.data(), nullptr, 2 * m, digits.data(), win, glv::kSplitBits, threads);
  });
}

// Computes sum scalars[i] * bases[i]. bases: n affine points (Montgomery form,
// zero bytes = infinity); scalars: n standard-form Fr, 32 bytes LE each.
// Writes the affine result (Montgomery form) to out. Returns "" on success or
// a message naming the bad input.
template <class F>
std::string msm(const uint8_t* bases_bytes, const uint8_t* scalar_bytes, size_t n, uint8_t* out) {
  using namespace msm_detail;
  using Point = Affine<F>;
  using Acc = Xyzz<F>;
  const Point* bases = reinterpret_cast<const Point*>(bases_bytes);
  const u64* scalars = reinterpret_cast<const u64*>(scalar_bytes);
  const unsigned threads = thread_count();
  // Point indexes are 32-bit (and GLV doubles the count).
  if (n >= (size_t{1} << 31)) return "at most 2^31 - 1 points per MSM, got " + std::to_string(n);

  // (1) classify, in parallel ranges.
  const size_t range_len = 1 << 14;
  const size_t ranges = (n + range_len - 1) / range_len;
  std::vector<std::vector<uint32_t>> general_parts(ranges);
  std::vector<Acc> ones_parts(ranges, Acc::infinity());
  std::vector<size_t> bad_scalar(ranges, SIZE_MAX);
  parallel_tasks(ranges, [&](size_t r) {
    const size_t begin = r * range_len, end = std::min(n, begin + range_len);
    auto& general = general_parts[r];
    Acc ones = Acc::infinity();
    for (size_t i = begin; i < end; ++i) {
      const u64* s = scalars + 4 * i;
      if (!is_canonical<FrParams>(s)) { bad_scalar[r] = i; return; }
      if (is_zero(s) || bases[i].is_infinity()) continue;
      if (is_one(s)) ones.add_affine(bases[i]);
      else general.push_back((uint32_t)i);
    }
    ones_parts[r] = ones;
  }, threads);
  for (size_t r = 0; r < ranges; ++r) {
    if (bad_scalar[r] != SIZE_MAX) {
      return "scalar " + std::to_string(bad_scalar[r]) + " is not a canonical Fr element (must be < r, standard form)";
    }
  }
  Acc total = Acc::infinity();
  for (const Acc& p : ones_parts) total.add(p);
  std::vector<uint32_t> general;
  {
    size_t m = 0;
    for (const auto& part : general_parts) m += part.size();
    general.reserve(m);
    for (auto& part : general_parts) { general.insert(general.end(), part.begin(), part.end()); part = {}; }
  }
  const size_t m = general.size();
  if (m > 0) {
    if constexpr (std::is_same_v<F, Fq>) {
      total.add(pippenger_glv(bases, scalars, general, threads));
    } else {
      total.add(pippenger<F>(bases, scalars, general, kScalarBits, threads));
    }
  }

  const Point result = total.to_affine();
  std::memcpy(out, &result, sizeof(Point));
  return "";
}

}  // namespace zkp
