// Entry points for the G1 and G2 MSMs (see msm.h for the algorithm).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace zkp {

constexpr size_t kG1AffineBytes = 64;
constexpr size_t kG2AffineBytes = 128;

// bases: n affine points (Montgomery, zero bytes = infinity); scalars: n
// standard-form Fr. Writes one affine point to out. Returns "" or an error.
std::string msm_g1(const uint8_t* bases, const uint8_t* scalars, size_t n, uint8_t* out);
std::string msm_g2(const uint8_t* bases, const uint8_t* scalars, size_t n, uint8_t* out);

}  // namespace zkp
