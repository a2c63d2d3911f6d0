/**
 * EdDSA over BabyJubJub with a Poseidon challenge, the scheme circomlib's
 * EdDSAPoseidonVerifier checks, written here to make the bench ladder's
 * signature witnesses (a signer library would bring a large dependency tree
 * for a few lines of curve arithmetic). For benchmarks only: keys and nonces
 * come from the caller's seeded Prng, nothing here is constant-time, and
 * there is no key derivation from a seed hash.
 *
 * - BabyJubJub: the twisted Edwards curve a*x^2 + y^2 = 1 + d*x^2*y^2 over
 *   BN254's scalar field, a = 168700, d = 168696; B8 generates its subgroup of
 *   prime order L.
 * - Poseidon: the optimised form circomlib's poseidon.circom computes
 *   (PoseidonEx: full rounds, a sparse-matrix partial phase, full rounds),
 *   with the round constants and matrices read from circomlib's own
 *   poseidon_constants.circom, so the hash is the circuit's by construction.
 * - A signature of M under the secret scalar k (public key A = k*B8) with the
 *   nonce r: R8 = r*B8, h = Poseidon(R8.x, R8.y, A.x, A.y, M),
 *   S = r + 8*h*k mod L; the verifier checks S*B8 == R8 + (8*h)*A, S < L.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import type { Prng } from '../../src/random/prng.ts';
import { PACKAGE_ROOT } from '../../src/runtime/package-root.ts';
import { powMod } from '../../src/prover/io/pow-mod.ts';

const P = BN254_R;
const JUB_A = 168700n;
const JUB_D = 168696n;
/** The order of B8's subgroup. */
export const JUB_ORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;
export const BASE8: Point = {
  x: 5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  y: 16950150798460657717958625567821834550301663161624707787222815936182638968203n,
};

export interface Point {
  readonly x: bigint;
  readonly y: bigint;
}

function mod(a: bigint, m: bigint = P): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a: bigint): bigint {
  return powMod(a, P - 2n, P); // Fermat
}

interface Projective {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
}

/** Unified projective addition on a twisted Edwards curve (also doubles). */
function addProjective(p: Projective, q: Projective): Projective {
  const a = (p.Z * q.Z) % P;
  const b = (a * a) % P;
  const c = (p.X * q.X) % P;
  const d = (p.Y * q.Y) % P;
  const e = (((JUB_D * c) % P) * d) % P;
  const f = mod(b - e);
  const g = (b + e) % P;
  const cross = mod((p.X + p.Y) * (q.X + q.Y) - c - d);
  return {
    X: (((a * f) % P) * cross) % P,
    Y: (((a * g) % P) * mod(d - JUB_A * c)) % P,
    Z: (f * g) % P,
  };
}

/** k * point, k >= 0 (double and add). */
export function mulPoint(point: Point, k: bigint): Point {
  let acc: Projective = { X: 0n, Y: 1n, Z: 1n };
  let base: Projective = { X: point.x, Y: point.y, Z: 1n };
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) acc = addProjective(acc, base);
    base = addProjective(base, base);
  }
  return fromProjective(acc);
}

export function addPoints(p: Point, q: Point): Point {
  return fromProjective(addProjective(toProjective(p), toProjective(q)));
}

function toProjective(p: Point): Projective {
  return { X: p.x, Y: p.y, Z: 1n };
}

function fromProjective(p: Projective): Point {
  const zInv = inverse(p.Z);
  return { x: (p.X * zInv) % P, y: (p.Y * zInv) % P };
}

export function onCurve(p: Point): boolean {
  const x2 = (p.x * p.x) % P;
  const y2 = (p.y * p.y) % P;
  return mod(JUB_A * x2 + y2) === mod(1n + ((((JUB_D * x2) % P) * y2) % P));
}

// --- Poseidon, as circomlib's PoseidonEx(nInputs, 1) with initialState 0 ---

/** Partial rounds per width t = 2..17, as poseidon.circom's N_ROUNDS_P. */
const PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68] as const;
const FULL_ROUNDS = 8;

interface PoseidonConstants {
  readonly t: number;
  readonly partialRounds: number;
  readonly C: readonly bigint[];
  readonly S: readonly bigint[];
  readonly M: readonly (readonly bigint[])[];
  readonly P: readonly (readonly bigint[])[];
}

let constantsText: string | null = null;
const constantsByWidth = new Map<number, PoseidonConstants>();

/** The numbers of `function NAME(t)`'s branch for width t in circomlib's poseidon_constants.circom, in order. */
function constantsOf(text: string, name: string, t: number): bigint[] {
  const start = text.indexOf(`function ${name}(t)`);
  if (start < 0) throw new Error(`poseidon_constants.circom: no function ${name}`);
  const end = text.indexOf('\nfunction ', start + 1);
  const body = text.slice(start, end < 0 ? text.length : end);
  const branch = new RegExp(`\\(t\\s*==\\s*${t}\\)\\s*\\{`).exec(body);
  if (branch === null) throw new Error(`poseidon_constants.circom: ${name} has no branch for t=${t}`);
  const from = branch.index + branch[0].length;
  const next = body.indexOf('} else', from);
  const slice = body.slice(from, next < 0 ? body.length : next);
  return Array.from(slice.matchAll(/0x[0-9a-fA-F]+/g), (m) => BigInt(m[0]));
}

function square(values: readonly bigint[], t: number, what: string): bigint[][] {
  if (values.length !== t * t) throw new Error(`poseidon_constants.circom: ${what} for t=${t} has ${values.length} entries, expected ${t * t}`);
  return Array.from({ length: t }, (_, row) => values.slice(row * t, row * t + t));
}

function poseidonConstants(t: number): PoseidonConstants {
  const cached = constantsByWidth.get(t);
  if (cached !== undefined) return cached;
  const partialRounds = PARTIAL_ROUNDS[t - 2];
  if (partialRounds === undefined) throw new RangeError(`Poseidon: width ${t} is outside 2..17`);
  constantsText ??= readFileSync(join(PACKAGE_ROOT, 'node_modules', 'circomlib', 'circuits', 'poseidon_constants.circom'), 'utf8');
  const C = constantsOf(constantsText, 'POSEIDON_C', t);
  const S = constantsOf(constantsText, 'POSEIDON_S', t);
  if (C.length !== t * FULL_ROUNDS + partialRounds) throw new Error(`poseidon_constants.circom: C for t=${t} has ${C.length} entries`);
  if (S.length !== partialRounds * (2 * t - 1)) throw new Error(`poseidon_constants.circom: S for t=${t} has ${S.length} entries`);
  const constants: PoseidonConstants = {
    t,
    partialRounds,
    C,
    S,
    M: square(constantsOf(constantsText, 'POSEIDON_M', t), t, 'M'),
    P: square(constantsOf(constantsText, 'POSEIDON_P', t), t, 'P'),
  };
  constantsByWidth.set(t, constants);
  return constants;
}

function pow5(x: bigint): bigint {
  const x2 = (x * x) % P;
  return (((x2 * x2) % P) * x) % P;
}

function at<T>(values: readonly T[], index: number): T {
  const value = values[index];
  if (value === undefined) throw new RangeError(`index ${index} out of range (${values.length})`);
  return value;
}

/** out[i] = sum_j matrix[j][i] * state[j], as poseidon.circom's Mix. */
function mix(state: readonly bigint[], matrix: readonly (readonly bigint[])[]): bigint[] {
  return state.map((_, i) => {
    let sum = 0n;
    for (let j = 0; j < state.length; j++) sum += at(at(matrix, j), i) * at(state, j);
    return sum % P;
  });
}

function ark(state: readonly bigint[], C: readonly bigint[], offset: number): bigint[] {
  return state.map((v, i) => (v + at(C, offset + i)) % P);
}

/** circomlib's Poseidon(inputs.length) of field elements (each reduced mod r). */
export function poseidon(inputs: readonly bigint[]): bigint {
  const t = inputs.length + 1;
  const { C, S, M, P: Pm, partialRounds } = poseidonConstants(t);
  const half = FULL_ROUNDS / 2;
  let state = ark([0n, ...inputs.map((v) => mod(v))], C, 0);
  for (let r = 0; r < half - 1; r++) state = mix(ark(state.map(pow5), C, (r + 1) * t), M);
  state = mix(ark(state.map(pow5), C, half * t), Pm);
  const stride = 2 * t - 1;
  for (let r = 0; r < partialRounds; r++) {
    const first = (pow5(at(state, 0)) + at(C, (half + 1) * t + r)) % P;
    let sum = 0n;
    for (let i = 0; i < t; i++) sum += at(S, stride * r + i) * (i === 0 ? first : at(state, i));
    const next = [sum % P];
    for (let i = 1; i < t; i++) next.push((at(state, i) + first * at(S, stride * r + t + i - 1)) % P);
    state = next;
  }
  for (let r = 0; r < half - 1; r++) state = mix(ark(state.map(pow5), C, (half + 1) * t + partialRounds + r * t), M);
  state = state.map(pow5);
  let out = 0n;
  for (let j = 0; j < t; j++) out += at(at(M, j), 0) * at(state, j);
  return out % P;
}

// --- EdDSA-Poseidon ---

export interface EddsaSignature {
  /** The public key k*B8. */
  readonly A: Point;
  readonly R8: Point;
  readonly S: bigint;
}

/** A random scalar in [1, L). */
export function randomScalar(rng: Prng): bigint {
  return 1n + rng.below(JUB_ORDER - 1n);
}

/** The signature of `message` (a field element) under the secret scalar `k` with the nonce `r` (both in [1, L)). */
export function signPoseidon(k: bigint, r: bigint, message: bigint): EddsaSignature {
  const A = mulPoint(BASE8, k);
  const R8 = mulPoint(BASE8, r);
  const h = poseidon([R8.x, R8.y, A.x, A.y, message]);
  return { A, R8, S: mod(r + 8n * h * k, JUB_ORDER) };
}

/** The verifier's equation, outside the circuit: S < L and S*B8 == R8 + (8*h)*A. */
export function verifyPoseidon(signature: EddsaSignature, message: bigint): boolean {
  const { A, R8, S } = signature;
  if (S >= JUB_ORDER || !onCurve(A) || !onCurve(R8)) return false;
  const h = poseidon([R8.x, R8.y, A.x, A.y, message]);
  const left = mulPoint(BASE8, S);
  const right = addPoints(R8, mulPoint(A, 8n * h));
  return left.x === right.x && left.y === right.y;
}
