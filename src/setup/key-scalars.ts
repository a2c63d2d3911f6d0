/**
 * The scalars behind a Groth16 proving key's per-wire points, from the wire
 * evaluations at tau and the secrets (standard form, 32 bytes each):
 *   A_j = A_j(tau), B_j = B_j(tau) (for B1 in G1 and B2 in G2),
 *   IC_j = (beta*A_j + alpha*B_j + C_j) / gamma   for public wires j <= nPublic,
 *   C_j  = (beta*A_j + alpha*B_j + C_j) / delta   for the private wires.
 */
import { BN254_R } from '../prover/io/bn254.ts';
import { FR_BYTES, frInverse, viewOf, writeFr } from './fr.ts';
import type { WireEvaluations } from './qap.ts';
import type { ToxicWaste } from './toxic-waste.ts';

export interface KeyScalars {
  readonly a: Uint8Array;
  readonly b: Uint8Array;
  /** nPublic + 1 scalars. */
  readonly ic: Uint8Array;
  /** nWires - nPublic - 1 scalars. */
  readonly c: Uint8Array;
}

export function keyScalars(wires: WireEvaluations, nPublic: number, secrets: ToxicWaste): KeyScalars {
  const nWires = wires.a.length;
  const a = new Uint8Array(nWires * FR_BYTES);
  const b = new Uint8Array(nWires * FR_BYTES);
  const ic = new Uint8Array((nPublic + 1) * FR_BYTES);
  const c = new Uint8Array((nWires - nPublic - 1) * FR_BYTES);
  const [aView, bView, icView, cView] = [viewOf(a), viewOf(b), viewOf(ic), viewOf(c)];
  const inverseGamma = frInverse(secrets.gamma);
  const inverseDelta = frInverse(secrets.delta);
  for (let wire = 0; wire < nWires; wire++) {
    const atTau = wires.a[wire]!;
    const btTau = wires.b[wire]!;
    writeFr(aView, wire * FR_BYTES, atTau);
    writeFr(bView, wire * FR_BYTES, btTau);
    const combined = (secrets.beta * atTau + secrets.alpha * btTau + wires.c[wire]!) % BN254_R;
    if (wire <= nPublic) writeFr(icView, wire * FR_BYTES, (combined * inverseGamma) % BN254_R);
    else writeFr(cView, (wire - nPublic - 1) * FR_BYTES, (combined * inverseDelta) % BN254_R);
  }
  return { a, b, ic, c };
}
