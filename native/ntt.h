// NTT over Fr (Montgomery form), matching ffjavascript's Fr.fft / Fr.ifft:
// forward out[i] = sum_j in[j] * w^(i*j) with w = Fr.w[log2n]; inverse is the
// exact inverse transform (including 1/n). Roots follow ffjavascript's table:
// w[28] = nqr^t with nqr = 5 (the smallest non-residue) and r - 1 = 2^28 * t,
// w[k-1] = w[k]^2.
#pragma once
#include <cstdint>
#include <string>

#include "field.h"

namespace zkp {

constexpr unsigned kFrTwoAdicity = 28;

// Fr.w[k] (Montgomery form) for k in [0, 28].
Fr fr_root_of_unity(unsigned k);
// ffjavascript's Fr.shift = nqr^2 (Montgomery form): the coset generator used when log2n == 28.
Fr fr_shift();
// The coset generator snarkjs uses for a domain of 2^log2n: w[log2n + 1], or shift at 28.
Fr fr_coset_generator(unsigned log2n);

// In-place NTT of 2^log2n Montgomery elements.
void ntt_in_place(Fr* v, unsigned log2n, bool inverse);
// v[i] *= g^i with g = fr_coset_generator(log2n).
void coset_shift_in_place(Fr* v, unsigned log2n);
// out[i] = standard form of a[i]*b[i] - c[i].
void join_abc(const Fr* a, const Fr* b, const Fr* c, Fr* out, size_t n);

}  // namespace zkp
