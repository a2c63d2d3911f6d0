// Groth16 verification over BN254 (pairing.h): the check
// e(A, B) == e(alpha, beta) * e(vk_x, gamma) * e(C, delta), with
// vk_x = IC[0] + sum s_i IC[i], as one multi-Miller loop of
// (-A, B), (vk_x, gamma), (C, delta) times the cached Miller value of
// (alpha, beta), and one final exponentiation.
//
// Byte forms (every coordinate 32 bytes, little-endian, standard form, not
// Montgomery; a G2 coordinate is c0 then c1, for c0 + c1 u; all-zero bytes
// are the point at infinity):
//   key:    alpha G1 (64) | beta G2 (128) | gamma G2 | delta G2 | IC[0..n] G1 (64 each)
//   proof:  A G1 (64) | B G2 (128) | C G1 (64)
//   public: n Fr elements (32 each)
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "curve.h"
#include "pairing.h"

namespace zkp {
namespace groth16 {

constexpr size_t kG1Bytes = 64;
constexpr size_t kG2Bytes = 128;
constexpr size_t kFieldBytes = 32;
constexpr size_t kKeyFixedBytes = kG1Bytes + 3 * kG2Bytes;
constexpr size_t kProofBytes = 2 * kG1Bytes + kG2Bytes;

// A checked verifying key with its fixed pairing work done: the lines of
// gamma and delta and the Miller loop value of (alpha, beta).
struct PreparedKey {
  size_t n_public = 0;
  G1Affine ic0;
  std::vector<G1Affine> ic;  // IC[1..n], Montgomery form
  pairing::G2Prepared gamma, delta;
  pairing::Fq12 alpha_beta;
};

// Checks and prepares a key; returns "" or a message naming the bad part
// (a coordinate >= p, a point off its curve, a G2 point outside the
// order-r subgroup, alpha/beta/gamma/delta at infinity, a wrong length).
std::string prepare_key(const uint8_t* key, size_t key_bytes, PreparedKey* out);

// "" when the proof verifies; otherwise why not: a proof coordinate >= p, a
// proof point off its curve or (B) outside G2, a public signal >= r, or the
// pairing check failing. The caller checks the byte lengths.
std::string verify(const PreparedKey& key, const uint8_t* proof, const uint8_t* publics);

}  // namespace groth16
}  // namespace zkp
