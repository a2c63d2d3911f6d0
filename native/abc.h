// The QAP evaluations A, B, C from zkey section 4, exactly as snarkjs's buildABC1.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace zkp {

// coeffs: the whole section (u32 count, then per coefficient u32 matrix,
// u32 constraint, u32 signal, 32-byte Montgomery value). witness: standard-form
// Fr, witness_len elements. a, b, c: domain_size elements each, written fully.
// Returns "" or a message naming the bad input (nothing is read out of bounds).
std::string build_abc(const uint8_t* coeffs, size_t coeffs_len, const uint8_t* witness, size_t witness_len,
                      size_t domain_size, uint8_t* a, uint8_t* b, uint8_t* c);

}  // namespace zkp
