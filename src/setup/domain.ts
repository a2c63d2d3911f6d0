/**
 * The evaluation domain and the Lagrange values a development setup needs,
 * computed with the native NTT.
 *
 * snarkjs adds one constraint `wire_s * 1 = 0` for s = 0..nPublic after the
 * circuit's own, and sizes the domain as 2^(bitLength(nConstraints + nPublic))
 * (zkey_new.js); the prover and the zkey's coefficient section use the same.
 *
 * L_i(tau) over the domain of n = 2^k points (omega = ffjavascript's w[k]) is
 * entry i of the inverse NTT of (tau^0, ..., tau^(n-1)). The H points are
 * L'_(2i+1)(tau) / delta over the domain of 2n points: the prover evaluates
 * A*B - C on the odd points of that domain (the coset omega_2n * omega_n^i),
 * and since A*B - C vanishes on the even ones, the sum over odd points alone
 * gives h(tau) * Z(tau). Folding the 2n-point sum in half turns it into an
 * n-point inverse NTT: L'_(2i+1)(tau) = (1 - tau^n) / 2 * INTT((tau/omega_2n)^j)_i.
 *
 * The native NTT works on Montgomery-form vectors; being linear, it maps
 * standard-form bytes to the standard-form bytes of the result, so no
 * conversion is needed either way.
 */
import { assert, InvalidArgumentError } from '../errors/index.ts';
import type { NativeAddon } from '../prover/backends/native/addon.ts';
import { FR_TWO_ADICITY, frInverse, frMul, frPow, frPowers, frRootOfUnity } from './fr.ts';
import { BN254_R } from '../prover/io/bn254.ts';

export interface SetupDomain {
  readonly log2n: number;
  readonly size: number;
}

/** The domain snarkjs chooses (see above); refused past 2^27, where snarkjs's H points follow another rule. */
export function setupDomain(nConstraints: number, nPublic: number, label: string): SetupDomain {
  const rows = nConstraints + nPublic;
  // The bit length of rows: the domain always has room for rows + 1 (the constant wire's row).
  const log2n = rows >= 2 ** 31 ? 32 : Math.max(1, 32 - Math.clz32(rows));
  if (log2n >= FR_TWO_ADICITY) {
    throw new InvalidArgumentError(
      `${label}: ${nConstraints} constraints and ${nPublic} public signals need a domain of 2^${log2n}; the development setup supports up to 2^${FR_TWO_ADICITY - 1}`,
    );
  }
  return { log2n, size: 2 ** log2n };
}

type NttAddon = Pick<NativeAddon, 'ntt'>;

/** L_i(tau) for i < n, standard form, 32 bytes each. */
export async function lagrangeAt(addon: NttAddon, tau: bigint, domain: SetupDomain): Promise<Uint8Array> {
  assertOutsideDomain(tau, domain);
  return addon.ntt(frPowers(tau, domain.size, 1n), domain.log2n, true);
}

/** The H points' scalars: L'_(2i+1)(tau) / delta over the domain of 2n points, standard form. */
export async function hScalars(addon: NttAddon, tau: bigint, delta: bigint, domain: SetupDomain): Promise<Uint8Array> {
  assertOutsideDomain(tau, domain);
  const rootOf2n = frRootOfUnity(domain.log2n + 1);
  const sigma = frMul(tau, frInverse(rootOf2n));
  // (1 - tau^n) / 2 / delta, folded into the input: the NTT is linear.
  const scale = frMul(frMul((1n - frPow(tau, BigInt(domain.size)) + BN254_R) % BN254_R, frInverse(2n)), frInverse(delta));
  return addon.ntt(frPowers(sigma, domain.size, scale), domain.log2n, true);
}

/** Z(tau) = tau^n - 1 must not vanish, or every proof's H term would too (the secrets are fixed: this never fires). */
function assertOutsideDomain(tau: bigint, domain: SetupDomain): void {
  assert(frPow(tau, BigInt(2 * domain.size)) !== 1n, 'tau lies outside the 2n-point domain');
}
