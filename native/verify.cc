#include "verify.h"

#include <cstring>

#include "msm.h"

namespace zkp {
namespace groth16 {

namespace {

using pairing::Fq12;
using pairing::G2Prepared;
using pairing::PairInput;

bool all_zero(const uint8_t* bytes, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= bytes[i];
  return acc == 0;
}

// A standard-form coordinate into Montgomery form; false when it is >= p.
bool read_fq(const uint8_t* bytes, Fq* out) {
  u64 limbs[4];
  std::memcpy(limbs, bytes, kFieldBytes);
  if (!is_canonical<FqParams>(limbs)) return false;
  *out = Fq::to_mont(Fq::raw(limbs[0], limbs[1], limbs[2], limbs[3]));
  return true;
}

// The G1 point at bytes (all zero: infinity); "" or why it is refused.
std::string read_g1(const uint8_t* bytes, const std::string& name, G1Affine* out) {
  if (all_zero(bytes, kG1Bytes)) {
    *out = G1Affine{Fq::zero(), Fq::zero()};
    return "";
  }
  G1Affine p;
  if (!read_fq(bytes, &p.x) || !read_fq(bytes + kFieldBytes, &p.y)) return name + " has a coordinate >= p";
  // y^2 = x^3 + 3. G1 has cofactor 1: every point on the curve is in the group.
  if (p.y.sqr() != p.x.sqr() * p.x + pairing::fq_from_u64(3)) return name + " is not on the curve";
  *out = p;
  return "";
}

// The G2 point at bytes (x.c0 | x.c1 | y.c0 | y.c1; all zero: infinity).
std::string read_g2(const uint8_t* bytes, const std::string& name, G2Affine* out) {
  if (all_zero(bytes, kG2Bytes)) {
    *out = G2Affine{Fq2::zero(), Fq2::zero()};
    return "";
  }
  G2Affine q;
  if (!read_fq(bytes, &q.x.c0) || !read_fq(bytes + kFieldBytes, &q.x.c1) || !read_fq(bytes + 2 * kFieldBytes, &q.y.c0) ||
      !read_fq(bytes + 3 * kFieldBytes, &q.y.c1)) {
    return name + " has a coordinate >= p";
  }
  if (q.y.sqr() != q.x.sqr() * q.x + pairing::constants().twist_b) return name + " is not on the twist curve";
  if (!pairing::in_g2(q)) return name + " is on the twist curve but not in the order-r subgroup G2";
  *out = q;
  return "";
}

// IC[0] + sum s_i IC[i]: zero scalars skipped, ones added, the rest by a
// single-threaded GLV Pippenger (a verification is too short to share).
G1Affine linear_combination(const PreparedKey& key, const u64* scalars) {
  G1Xyzz acc = G1Xyzz::from_affine(key.ic0);
  std::vector<uint32_t> general;
  for (size_t i = 0; i < key.n_public; ++i) {
    const u64* s = scalars + 4 * i;
    if (msm_detail::is_zero(s) || key.ic[i].is_infinity()) continue;
    if (msm_detail::is_one(s)) acc.add_affine(key.ic[i]);
    else general.push_back((uint32_t)i);
  }
  if (!general.empty()) acc.add(pippenger_glv(key.ic.data(), scalars, general, 1));
  return acc.to_affine();
}

}  // namespace

std::string prepare_key(const uint8_t* key, size_t key_bytes, PreparedKey* out) {
  if (key_bytes < kKeyFixedBytes + kG1Bytes || (key_bytes - kKeyFixedBytes) % kG1Bytes != 0) {
    return "verifying key length " + std::to_string(key_bytes) + " is not " + std::to_string(kKeyFixedBytes) +
           " + 64 * (1 + nPublic) bytes";
  }
  G1Affine alpha;
  G2Affine beta, gamma, delta;
  std::string error = read_g1(key, "vk_alpha_1", &alpha);
  if (error.empty()) error = read_g2(key + kG1Bytes, "vk_beta_2", &beta);
  if (error.empty()) error = read_g2(key + kG1Bytes + kG2Bytes, "vk_gamma_2", &gamma);
  if (error.empty()) error = read_g2(key + kG1Bytes + 2 * kG2Bytes, "vk_delta_2", &delta);
  if (!error.empty()) return error;
  // A key with one of these at infinity accepts forgeries (gamma = O, say,
  // drops the public signals from the check).
  if (alpha.is_infinity()) return "vk_alpha_1 is the point at infinity";
  if (beta.is_infinity()) return "vk_beta_2 is the point at infinity";
  if (gamma.is_infinity()) return "vk_gamma_2 is the point at infinity";
  if (delta.is_infinity()) return "vk_delta_2 is the point at infinity";
  const size_t n_ic = (key_bytes - kKeyFixedBytes) / kG1Bytes;
  out->n_public = n_ic - 1;
  out->ic.resize(out->n_public);
  const uint8_t* ic_bytes = key + kKeyFixedBytes;
  error = read_g1(ic_bytes, "IC[0]", &out->ic0);
  for (size_t i = 0; error.empty() && i < out->n_public; ++i) {
    error = read_g1(ic_bytes + (i + 1) * kG1Bytes, "IC[" + std::to_string(i + 1) + "]", &out->ic[i]);
  }
  if (!error.empty()) return error;
  out->gamma = pairing::prepare_g2(gamma);
  out->delta = pairing::prepare_g2(delta);
  const G2Prepared beta_lines = pairing::prepare_g2(beta);
  const PairInput alpha_beta{alpha, &beta_lines};
  out->alpha_beta = pairing::multi_miller_loop(&alpha_beta, 1);
  return "";
}

std::string verify(const PreparedKey& key, const uint8_t* proof, const uint8_t* publics) {
  std::vector<u64> scalars(4 * key.n_public);
  for (size_t i = 0; i < key.n_public; ++i) {
    std::memcpy(&scalars[4 * i], publics + i * kFieldBytes, kFieldBytes);
    if (!is_canonical<FrParams>(&scalars[4 * i])) return "public signal " + std::to_string(i) + " is not below r";
  }
  G1Affine a, c;
  G2Affine b;
  std::string error = read_g1(proof, "pi_a", &a);
  if (error.empty()) error = read_g2(proof + kG1Bytes, "pi_b", &b);
  if (error.empty()) error = read_g1(proof + kG1Bytes + kG2Bytes, "pi_c", &c);
  if (!error.empty()) return error;

  const G1Affine vk_x = linear_combination(key, scalars.data());
  const G2Prepared b_lines = pairing::prepare_g2(b);
  // e(-A, B) e(vk_x, gamma) e(C, delta) e(alpha, beta) == 1.
  const PairInput pairs[3] = {{a.neg(), &b_lines}, {vk_x, &key.gamma}, {c, &key.delta}};
  const Fq12 f = pairing::multi_miller_loop(pairs, 3) * key.alpha_beta;
  return pairing::final_exponentiation(f).is_one() ? "" : "the pairing check failed";
}

}  // namespace groth16
}  // namespace zkp
