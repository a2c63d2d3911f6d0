#include "ntt.h"

#include <vector>

#include "parallel.h"

namespace zkp {

namespace {

// Fr.w[28] in Montgomery form: 5^t mod r, r - 1 = 2^28 * t.
const Fr kRoot28 = Fr::raw(0x636e735580d13d9cULL, 0xa22bf3742445ffd6ULL, 0x56452ac01eb203d8ULL, 0x1860ef942963f9e7ULL);
// 25 (= nqr^2) in Montgomery form.
const Fr kShift = Fr::raw(0xff7d5fb83fffff7cULL, 0x453c3aa13c61f518ULL, 0xf69c0de5394e6ff7ULL, 0x0c478cc3e2696a7cULL);

// Below this size the work is too small to pay for thread start-up.
constexpr size_t kParallelMin = 1 << 12;

void parallel_or_serial(size_t n, const std::function<void(size_t, size_t)>& body) {
  if (n < kParallelMin) {
    if (n > 0) body(0, n);
  } else {
    parallel_ranges(n, kParallelMin / 4, body);
  }
}

inline size_t reverse_bits(size_t x, unsigned bits) {
  size_t r = 0;
  for (unsigned i = 0; i < bits; ++i) { r = (r << 1) | (x & 1); x >>= 1; }
  return r;
}

}  // namespace

Fr fr_root_of_unity(unsigned k) {
  Fr w = kRoot28;
  for (unsigned i = kFrTwoAdicity; i > k; --i) w = w.sqr();
  return w;
}

Fr fr_shift() { return kShift; }

Fr fr_coset_generator(unsigned log2n) {
  return log2n >= kFrTwoAdicity ? kShift : fr_root_of_unity(log2n + 1);
}

void ntt_in_place(Fr* v, unsigned log2n, bool inverse) {
  const size_t n = (size_t)1 << log2n;
  if (n == 1) return;
  // Bit-reversal permutation, then iterative Cooley-Tukey (decimation in time).
  parallel_or_serial(n, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const size_t j = reverse_bits(i, log2n);
      if (i < j) std::swap(v[i], v[j]);
    }
  });
  Fr w = fr_root_of_unity(log2n);
  if (inverse) w = w.inv();
  // twiddles[k] = w^k for k < n/2; stage with span `len` uses stride n/(2*len).
  const size_t half_n = n / 2;
  std::vector<Fr> twiddles(half_n);
  parallel_or_serial(half_n, [&](size_t begin, size_t end) {
    Fr t = w.pow_u64(begin);
    for (size_t k = begin; k < end; ++k) { twiddles[k] = t; t = t * w; }
  });
  for (size_t len = 1; len < n; len <<= 1) {
    const size_t stride = half_n / len;
    // Butterfly index b in [0, n/2): group b / len, position b % len.
    parallel_or_serial(half_n, [&](size_t begin, size_t end) {
      for (size_t b = begin; b < end; ++b) {
        const size_t group = b / len, pos = b % len;
        const size_t i = group * 2 * len + pos, j = i + len;
        const Fr t = v[j] * twiddles[pos * stride];
        const Fr u = v[i];
        v[i] = u + t;
        v[j] = u - t;
      }
    });
  }
  if (inverse) {
    const Fr n_inv = Fr::to_mont(Fr::raw(n, 0, 0, 0)).inv();
    parallel_or_serial(n, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) v[i] = v[i] * n_inv;
    });
  }
}

void coset_shift_in_place(Fr* v, unsigned log2n) {
  const size_t n = (size_t)1 << log2n;
  const Fr g = fr_coset_generator(log2n);
  parallel_or_serial(n, [&](size_t begin, size_t end) {
    Fr t = g.pow_u64(begin);
    for (size_t i = begin; i < end; ++i) { v[i] = v[i] * t; t = t * g; }
  });
}

void join_abc(const Fr* a, const Fr* b, const Fr* c, Fr* out, size_t n) {
  parallel_or_serial(n, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = (a[i] * b[i] - c[i]).from_mont();
  });
}

}  // namespace zkp
