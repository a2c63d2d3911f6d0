#include "abc.h"

#include <cstring>

#include "field.h"
#include "parallel.h"

namespace zkp {

namespace {
constexpr size_t kCoefBytes = 12 + 32;

inline uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace

std::string build_abc(const uint8_t* coeffs, size_t coeffs_len, const uint8_t* witness, size_t witness_len,
                      size_t domain_size, uint8_t* a, uint8_t* b, uint8_t* c) {
  if (coeffs_len < 4) return "coefficient section is " + std::to_string(coeffs_len) + " bytes; it needs at least the 4-byte count";
  const size_t count = read_u32(coeffs);
  if ((coeffs_len - 4) != count * kCoefBytes) {
    return "coefficient section holds " + std::to_string(coeffs_len) + " bytes but its count " + std::to_string(count) +
           " needs " + std::to_string(4 + count * kCoefBytes);
  }
  // Validate every entry before touching the outputs, so a bad section
  // fails cleanly instead of half-building.
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* e = coeffs + 4 + i * kCoefBytes;
    const uint32_t matrix = read_u32(e), constraint = read_u32(e + 4), signal = read_u32(e + 8);
    if (matrix > 1) return "coefficient " + std::to_string(i) + " names matrix " + std::to_string(matrix) + " (only 0 = A and 1 = B exist)";
    if (constraint >= domain_size) {
      return "coefficient " + std::to_string(i) + " names constraint " + std::to_string(constraint) + " but the domain size is " + std::to_string(domain_size);
    }
    if (signal >= witness_len) {
      return "coefficient " + std::to_string(i) + " names signal " + std::to_string(signal) + " but the witness has " + std::to_string(witness_len) + " values";
    }
    u64 coef[4];
    std::memcpy(coef, e + 12, 32);
    if (!is_canonical<FrParams>(coef)) return "coefficient " + std::to_string(i) + " has a value >= r";
  }
  for (size_t s = 0; s < witness_len; ++s) {
    u64 w[4];
    std::memcpy(w, witness + 32 * s, 32);
    if (!is_canonical<FrParams>(w)) return "witness value " + std::to_string(s) + " is >= r";
  }

  std::memset(a, 0, domain_size * 32);
  std::memset(b, 0, domain_size * 32);
  uint8_t* out[2] = {a, b};
  // Sequential on purpose: entries may hit the same constraint, and the
  // section is a small share of proving time.
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* e = coeffs + 4 + i * kCoefBytes;
    const uint32_t matrix = read_u32(e), constraint = read_u32(e + 4), signal = read_u32(e + 8);
    uint8_t* slot = out[matrix] + (size_t)constraint * 32;
    const Fr sum = Fr::load(slot) + Fr::load(e + 12) * Fr::load(witness + (size_t)signal * 32);
    sum.store(slot);
  }
  parallel_ranges(domain_size, 1 << 12, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) (Fr::load(a + 32 * i) * Fr::load(b + 32 * i)).store(c + 32 * i);
  });
  return "";
}

}  // namespace zkp
