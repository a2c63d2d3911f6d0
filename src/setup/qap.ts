/**
 * One pass over the R1CS with the Lagrange values L_c(tau): for every wire j,
 * A_j(tau) = sum over constraints c of A[c][j] * L_c(tau) (likewise B and C),
 * plus snarkjs's extra rows `wire_s * 1 = 0` for s = 0..nPublic, which add
 * L_(nConstraints + s)(tau) to A_s(tau). The same pass writes the zkey's
 * coefficient section (section 4): every A and B term as (matrix u32,
 * constraint u32, wire u32, coefficient), the extra rows last, in the order
 * snarkjs's zkey_new.js writes them. The stored coefficient is c * R^2 mod r
 * (R = 2^256): a Montgomery product with a standard-form witness value then
 * yields the Montgomery form of c * w, which is what the prover's buildABC
 * expects.
 */
import { BN254_R } from '../prover/io/bn254.ts';
import type { SetupDomain } from './domain.ts';
import { FR_BYTES, readFr, viewOf, writeFr } from './fr.ts';
import type { R1cs } from './r1cs.ts';

const TERM_BYTES = 4 + FR_BYTES;
const COEFF_ENTRY_BYTES = 12 + FR_BYTES;
const R_SQUARED = ((1n << 256n) % BN254_R) ** 2n % BN254_R;

export interface WireEvaluations {
  /** A_j(tau), B_j(tau), C_j(tau) for every wire j, reduced mod r. */
  readonly a: bigint[];
  readonly b: bigint[];
  readonly c: bigint[];
  /** The zkey's section 4, whole: u32 count, then the entries. */
  readonly coeffs: Uint8Array;
}

/** `lagrange`: L_i(tau) for i < domain.size, standard form (see domain.ts). */
export function evaluateWires(r1cs: R1cs, lagrange: Uint8Array, domain: SetupDomain): WireEvaluations {
  const { nWires, nPublic, nConstraints } = r1cs;
  if (nConstraints + nPublic + 1 > domain.size) throw new RangeError(`domain of ${domain.size} is too small for ${nConstraints} constraints`);
  const sums: bigint[][] = [new Array<bigint>(nWires).fill(0n), new Array<bigint>(nWires).fill(0n), new Array<bigint>(nWires).fill(0n)];
  const nCoeffs = r1cs.termCounts.a + r1cs.termCounts.b + nPublic + 1;
  const coeffs = new Uint8Array(4 + nCoeffs * COEFF_ENTRY_BYTES);
  const coeffView = viewOf(coeffs);
  coeffView.setUint32(0, nCoeffs, true);
  let entry = 4;
  const writeEntry = (matrix: number, constraint: number, wire: number, coefficient: bigint) => {
    coeffView.setUint32(entry, matrix, true);
    coeffView.setUint32(entry + 4, constraint, true);
    coeffView.setUint32(entry + 8, wire, true);
    writeFr(coeffView, entry + 12, coefficient === 1n ? R_SQUARED : (coefficient * R_SQUARED) % BN254_R);
    entry += COEFF_ENTRY_BYTES;
  };

  const lagrangeView = viewOf(lagrange);
  const view = viewOf(r1cs.constraints);
  let cursor = 0;
  for (let constraint = 0; constraint < nConstraints; constraint++) {
    const basis = readFr(lagrangeView, constraint * FR_BYTES);
    for (let matrix = 0; matrix < 3; matrix++) {
      const sum = sums[matrix]!;
      const nTerms = view.getUint32(cursor, true);
      cursor += 4;
      for (let term = 0; term < nTerms; term++, cursor += TERM_BYTES) {
        const wire = view.getUint32(cursor, true);
        const coefficient = readFr(view, cursor + 4);
        // Reduced once at the end: a few hundred extra bits per sum cost less than a division per term.
        sum[wire]! += coefficient === 1n ? basis : coefficient * basis;
        if (matrix < 2) writeEntry(matrix, constraint, wire, coefficient);
      }
    }
  }
  const [a, b, c] = sums as [bigint[], bigint[], bigint[]];
  for (let wire = 0; wire <= nPublic; wire++) {
    a[wire]! += readFr(lagrangeView, (nConstraints + wire) * FR_BYTES);
    writeEntry(0, nConstraints + wire, wire, 1n);
  }
  for (const sum of sums) {
    for (let wire = 0; wire < nWires; wire++) sum[wire]! %= BN254_R;
  }
  return { a, b, c, coeffs };
}
