/**
 * The development setup's secrets: tau, alpha, beta, gamma, delta, derived
 * from fixed public labels, so they are known to anyone who reads this file.
 * Whoever knows them can forge proofs for every circuit set up with them:
 * such keys are for development and benchmarks only. Fixed secrets also make
 * the setup reproducible: the same .r1cs gives the same .zkey, byte for byte.
 */
import { createHash } from 'node:crypto';
import { BN254_R } from '../prover/io/bn254.ts';

export interface ToxicWaste {
  readonly tau: bigint;
  readonly alpha: bigint;
  readonly beta: bigint;
  readonly gamma: bigint;
  readonly delta: bigint;
}

const LABEL = 'zkp-cluster INSECURE development setup, public toxic waste';

/** sha512 of the label and name, reduced mod r (never 0 for these labels; checked). */
function derive(name: string): bigint {
  const digest = createHash('sha512').update(`${LABEL}: ${name}`).digest('hex');
  const value = BigInt(`0x${digest}`) % BN254_R;
  if (value === 0n) throw new Error(`dev secret ${name} derived as 0`);
  return value;
}

export const DEV_TOXIC_WASTE: ToxicWaste = Object.freeze({
  tau: derive('tau'),
  alpha: derive('alpha'),
  beta: derive('beta'),
  gamma: derive('gamma'),
  delta: derive('delta'),
});
