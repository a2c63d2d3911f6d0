// Batch fixed-base scalar multiplication by the G1 or G2 generator: out[i] =
// scalars[i] * G, affine, Montgomery, in the zkey's point layout (zero bytes
// for infinity). Used by the development setup (src/setup/), which turns
// known field elements into a proving key's points.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace zkp {

// scalars: n standard-form Fr elements (32 bytes LE each, < r). out: n affine
// points (64 bytes each for G1, 128 for G2). Returns "" or an error.
std::string fixed_base_g1(const uint8_t* scalars, size_t n, uint8_t* out);
std::string fixed_base_g2(const uint8_t* scalars, size_t n, uint8_t* out);

}  // namespace zkp
