#include "msm_api.h"

#include "msm.h"

namespace zkp {

std::string msm_g1(const uint8_t* bases, const uint8_t* scalars, size_t n, uint8_t* out) {
  return msm<Fq>(bases, scalars, n, out);
}

std::string msm_g2(const uint8_t* bases, const uint8_t* scalars, size_t n, uint8_t* out) {
  return msm<Fq2>(bases, scalars, n, out);
}

}  // namespace zkp
