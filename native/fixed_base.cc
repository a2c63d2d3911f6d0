// Fixed-base multiplication with a signed-digit window table.
//
// A scalar below r < 2^254 is cut into k = floor(254 / w) + 1 digits of w
// bits, recoded into (-2^(w-1), 2^(w-1)] with a carry into the next digit
// (the top digit has at most w - 1 bits, so its carry never overflows). The
// table holds d * 2^(w*i) * G for each window i and d in [1, 2^(w-1)], in
// affine form, so every scalar costs at most k mixed additions and no
// doubling; a negative digit adds the negated entry. The table costs about
// k * 2^(w-1) additions, so w grows with the batch (up to 16: 32 MiB of G1
// or 64 MiB of G2 points).
#include "fixed_base.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "curve.h"
#include "field.h"
#include "parallel.h"

namespace zkp {

namespace {

constexpr unsigned kScalarBits = 254;  // r < 2^254
constexpr unsigned kWindowBitsMax = 16;
constexpr size_t kScalarsPerTask = 1024;

static_assert(sizeof(Affine<Fq>) == 64, "G1 affine points are 64 bytes in the zkey");
static_assert(sizeof(Affine<Fq2>) == 128, "G2 affine points are 128 bytes in the zkey");

inline Fq fq_from_standard(u64 a0, u64 a1, u64 a2, u64 a3) { return Fq::to_mont(Fq::raw(a0, a1, a2, a3)); }

// The generators snarkjs (ffjavascript's bn128) uses: G1 = (1, 2) and the standard BN254 G2 generator.
Affine<Fq> g1_generator() { return Affine<Fq>{fq_from_standard(1, 0, 0, 0), fq_from_standard(2, 0, 0, 0)}; }

Affine<Fq2> g2_generator() {
  const Fq2 x{fq_from_standard(0x46debd5cd992f6edULL, 0x674322d4f75edaddULL, 0x426a00665e5c4479ULL, 0x1800deef121f1e76ULL),
              fq_from_standard(0x97e485b7aef312c2ULL, 0xf1aa493335a9e712ULL, 0x7260bfb731fb5d25ULL, 0x198e9393920d483aULL)};
  const Fq2 y{fq_from_standard(0x4ce6cc0166fa7daaULL, 0xe3d1e7690c43d37bULL, 0x4aab71808dcb408fULL, 0x12c85ea5db8c6debULL),
              fq_from_standard(0x55acdadcd122975bULL, 0xbc4b313370b38ef3ULL, 0xec9e99ad690c3395ULL, 0x090689d0585ff075ULL)};
  return Affine<Fq2>{x, y};
}

inline unsigned window_count(unsigned w) { return kScalarBits / w + 1; }

// The width that minimises table building (about two additions per entry,
// counting its share of the normalisation) plus k additions per scalar.
unsigned choose_window_bits(size_t n) {
  unsigned best = 1;
  double best_cost = -1;
  for (unsigned w = 1; w <= kWindowBitsMax; ++w) {
    const double cost = (double)window_count(w) * (2.0 * (double)(1u << (w - 1)) + (double)n);
    if (best_cost < 0 || cost < best_cost) {
      best = w;
      best_cost = cost;
    }
  }
  return best;
}

// Converts n XYZZ points to affine with one field inversion (Montgomery's trick).
template <class F>
void batch_to_affine(const Xyzz<F>* in, Affine<F>* out, size_t n) {
  std::vector<F> denominators(n), scratch(n);
  for (size_t i = 0; i < n; ++i) denominators[i] = in[i].is_infinity() ? F::zero() : in[i].ZZ * in[i].ZZZ;
  batch_inverse(denominators.data(), n, scratch.data());
  for (size_t i = 0; i < n; ++i) {
    if (in[i].is_infinity()) {
      out[i] = Affine<F>{F::zero(), F::zero()};
      continue;
    }
    const F& t = denominators[i];
    out[i] = Affine<F>{in[i].X * (t * in[i].ZZZ), in[i].Y * (t * in[i].ZZ)};
  }
}

template <class F>
struct WindowTable {
  unsigned bits;
  unsigned windows;
  size_t entries_per_window;  // 2^(bits - 1)
  std::vector<Affine<F>> points;  // window-major: points[i * entries_per_window + d - 1] = d * 2^(bits*i) * G

  const Affine<F>& at(unsigned window, uint32_t digit) const { return points[window * entries_per_window + digit - 1]; }
};

template <class F>
WindowTable<F> build_table(const Affine<F>& generator, unsigned bits) {
  WindowTable<F> table;
  table.bits = bits;
  table.windows = window_count(bits);
  table.entries_per_window = (size_t)1 << (bits - 1);
  table.points.resize(table.windows * table.entries_per_window);

  // 2^(bits*i) * G for each window, by doubling (254 doublings in all).
  std::vector<Affine<F>> window_bases(table.windows);
  window_bases[0] = generator;
  for (unsigned i = 1; i < table.windows; ++i) {
    Xyzz<F> p = Xyzz<F>::from_affine(window_bases[i - 1]);
    for (unsigned b = 0; b < bits; ++b) p = p.dbl();
    window_bases[i] = p.to_affine();
  }
  parallel_tasks(table.windows, [&](size_t i) {
    const Affine<F>& base = window_bases[i];
    std::vector<Xyzz<F>> multiples(table.entries_per_window);
    Xyzz<F> acc = Xyzz<F>::from_affine(base);
    multiples[0] = acc;
    for (size_t d = 1; d < table.entries_per_window; ++d) {
      acc.add_affine(base);
      multiples[d] = acc;
    }
    batch_to_affine(multiples.data(), table.points.data() + i * table.entries_per_window, table.entries_per_window);
  });
  return table;
}

// w bits of the 256-bit little-endian scalar starting at bit `position` (w <= 16).
inline uint32_t bits_at(const u64 scalar[4], unsigned position, unsigned w) {
  const unsigned limb = position / 64, offset = position % 64;
  if (limb >= 4) return 0;
  u64 v = scalar[limb] >> offset;
  if (offset + w > 64 && limb + 1 < 4) v |= scalar[limb + 1] << (64 - offset);
  return (uint32_t)(v & ((1ULL << w) - 1));
}

template <class F>
Xyzz<F> multiply(const WindowTable<F>& table, const u64 scalar[4]) {
  const uint32_t half = 1u << (table.bits - 1);
  const uint32_t full = 1u << table.bits;
  Xyzz<F> acc = Xyzz<F>::infinity();
  uint32_t carry = 0;
  for (unsigned i = 0; i < table.windows; ++i) {
    const uint32_t v = bits_at(scalar, i * table.bits, table.bits) + carry;
    if (v > half) {
      carry = 1;
      const uint32_t magnitude = full - v;  // digit v - 2^w, negative
      if (magnitude != 0) acc.add_affine(table.at(i, magnitude).neg());
    } else {
      carry = 0;
      if (v != 0) acc.add_affine(table.at(i, v));
    }
  }
  return acc;
}

template <class F>
std::string fixed_base(const Affine<F>& generator, const char* name, const uint8_t* scalars, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    u64 limbs[4];
    std::memcpy(limbs, scalars + 32 * i, 32);
    if (!is_canonical<FrParams>(limbs)) return std::string(name) + ": scalar " + std::to_string(i) + " is not a canonical Fr element (>= r)";
  }
  if (n == 0) return "";
  const WindowTable<F> table = build_table(generator, choose_window_bits(n));
  const size_t tasks = (n + kScalarsPerTask - 1) / kScalarsPerTask;
  parallel_tasks(tasks, [&](size_t task) {
    const size_t begin = task * kScalarsPerTask;
    const size_t end = std::min(n, begin + kScalarsPerTask);
    std::vector<Xyzz<F>> products(end - begin);
    for (size_t i = begin; i < end; ++i) {
      u64 limbs[4];
      std::memcpy(limbs, scalars + 32 * i, 32);
      products[i - begin] = multiply(table, limbs);
    }
    std::vector<Affine<F>> affine(end - begin);
    batch_to_affine(products.data(), affine.data(), end - begin);
    std::memcpy(out + begin * sizeof(Affine<F>), affine.data(), affine.size() * sizeof(Affine<F>));
  });
  return "";
}

}  // namespace

std::string fixed_base_g1(const uint8_t* scalars, size_t n, uint8_t* out) {
  return fixed_base(g1_generator(), "fixedBaseG1", scalars, n, out);
}

std::string fixed_base_g2(const uint8_t* scalars, size_t n, uint8_t* out) {
  return fixed_base(g2_generator(), "fixedBaseG2", scalars, n, out);
}

}  // namespace zkp
