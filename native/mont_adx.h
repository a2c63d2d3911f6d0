// 4-limb Montgomery multiplication (CIOS) in x86-64 assembly with MULX and
// the two independent carry chains of ADCX (CF) / ADOX (OF). Needs BMI2 and
// ADX; detect_adx() tells callers whether this path may run.
//
// Bound (why no fifth limb is needed): P < 2^254, so each row's running value
// t + a*b_i + m*P stays below 2^320 and the top word absorbs both carries.
#pragma once
#include <cpuid.h>
#include <cstdint>
#include <cstdlib>

// The hot field operations must inline into the curve formulas; GCC will not
// inline a function this large on its own.
#define ZKP_INLINE inline __attribute__((always_inline))

namespace zkp {

inline bool detect_adx() {
  if (const char* off = std::getenv("ZKP_NATIVE_NO_ADX")) {
    if (off[0] != '\0' && off[0] != '0') return false;
  }
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool bmi2 = (ebx >> 8) & 1, adx = (ebx >> 19) & 1;
  return bmi2 && adx;
}

#define ZKP_MONT_ROW(boff)                   \
  "movq " #boff "(%[b]), %%rdx\n\t"          \
  "xorl %k[z], %k[z]\n\t"                    \
  "mulxq 0(%[a]), %[lo], %[hi]\n\t"          \
  "adoxq %[lo], %[t0]\n\t"                   \
  "adcxq %[hi], %[t1]\n\t"                   \
  "mulxq 8(%[a]), %[lo], %[hi]\n\t"          \
  "adoxq %[lo], %[t1]\n\t"                   \
  "adcxq %[hi], %[t2]\n\t"                   \
  "mulxq 16(%[a]), %[lo], %[hi]\n\t"         \
  "adoxq %[lo], %[t2]\n\t"                   \
  "adcxq %[hi], %[t3]\n\t"                   \
  "mulxq 24(%[a]), %[lo], %[top]\n\t"        \
  "adoxq %[lo], %[t3]\n\t"                   \
  "adcxq %[z], %[top]\n\t"                   \
  "adoxq %[z], %[top]\n\t"                   \
  "movq %[t0], %%rdx\n\t"                    \
  "imulq %[inv], %%rdx\n\t"                  \
  "xorl %k[z], %k[z]\n\t"                    \
  "mulxq %[p0], %[lo], %[hi]\n\t"            \
  "adcxq %[lo], %[t0]\n\t"                   \
  "adoxq %[hi], %[t1]\n\t"                   \
  "mulxq %[p1], %[lo], %[hi]\n\t"            \
  "adcxq %[lo], %[t1]\n\t"                   \
  "adoxq %[hi], %[t2]\n\t"                   \
  "mulxq %[p2], %[lo], %[hi]\n\t"            \
  "adcxq %[lo], %[t2]\n\t"                   \
  "adoxq %[hi], %[t3]\n\t"                   \
  "mulxq %[p3], %[lo], %[hi]\n\t"            \
  "adcxq %[lo], %[t3]\n\t"                   \
  "adoxq %[hi], %[top]\n\t"                  \
  "adcxq %[z], %[top]\n\t"                   \
  "movq %[t1], %[t0]\n\t"                    \
  "movq %[t2], %[t1]\n\t"                    \
  "movq %[t3], %[t2]\n\t"                    \
  "movq %[top], %[t3]\n\t"

// out = a * b / 2^256 mod P, for a, b < P. out may alias a or b.
template <class Prm>
ZKP_INLINE void mont_mul_adx(uint64_t out[4], const uint64_t a[4], const uint64_t b[4]) {
  uint64_t t0, t1, t2, t3, top, lo, hi, z;
  asm("xorl %k[t0], %k[t0]\n\t"
      "xorl %k[t1], %k[t1]\n\t"
      "xorl %k[t2], %k[t2]\n\t"
      "xorl %k[t3], %k[t3]\n\t"
      ZKP_MONT_ROW(0) ZKP_MONT_ROW(8) ZKP_MONT_ROW(16) ZKP_MONT_ROW(24)
      // Conditional subtraction: keep t - P unless it borrowed.
      "movq %[t0], %[lo]\n\t"
      "subq %[p0], %[lo]\n\t"
      "movq %[t1], %[hi]\n\t"
      "sbbq %[p1], %[hi]\n\t"
      "movq %[t2], %[z]\n\t"
      "sbbq %[p2], %[z]\n\t"
      "movq %[t3], %[top]\n\t"
      "sbbq %[p3], %[top]\n\t"
      "cmovncq %[lo], %[t0]\n\t"
      "cmovncq %[hi], %[t1]\n\t"
      "cmovncq %[z], %[t2]\n\t"
      "cmovncq %[top], %[t3]\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [top] "=&r"(top), [lo] "=&r"(lo), [hi] "=&r"(hi),
        [z] "=&r"(z)
      : [a] "r"(a), [b] "r"(b), [p0] "m"(Prm::P[0]), [p1] "m"(Prm::P[1]), [p2] "m"(Prm::P[2]), [p3] "m"(Prm::P[3]),
        [inv] "m"(Prm::INV),
        // The 32 bytes read through a and b, declared so that no "memory"
        // clobber is needed (one would force every live value to the stack).
        "m"(*(const uint64_t(*)[4])a), "m"(*(const uint64_t(*)[4])b)
      : "rdx", "cc");
  out[0] = t0;
  out[1] = t1;
  out[2] = t2;
  out[3] = t3;
}

#undef ZKP_MONT_ROW

}  // namespace zkp
