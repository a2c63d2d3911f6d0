/**
 * snarkjs's Groth16 JSON (verification_key.json, proof.json, public.json)
 * into the byte forms of the native verifier (native/verify.h): 32-byte
 * little-endian standard-form coordinates, G2 coordinates as c0 then c1
 * (snarkjs writes an Fq2 element as [c0, c1], for c0 + c1 u), all-zero bytes
 * for the point at infinity.
 *
 * Points are snarkjs's projective triples: z = 1 is an affine point, z = 0 the
 * point at infinity. A malformed shape (a missing field, a value that is not
 * a decimal string) throws InvalidArgumentError naming the field. A
 * well-formed proof with an impossible value (a coordinate >= p, a public
 * signal >= r, another z, the affine pair (0, 0), which is on no curve here)
 * is not thrown: it comes back as a reason to refuse, as snarkjs refuses
 * it. The same problems in a verification key throw: the key is the
 * verifier's own configuration.
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import { BN254_P, BN254_R } from '../io/bn254.ts';

export const FIELD_BYTES = 32;
export const G1_BYTES = 2 * FIELD_BYTES;
export const G2_BYTES = 4 * FIELD_BYTES;
/** alpha G1 | beta, gamma, delta G2 | IC[0..nPublic] G1. */
export const KEY_FIXED_BYTES = G1_BYTES + 3 * G2_BYTES;
/** A G1 | B G2 | C G1. */
export const PROOF_BYTES = 2 * G1_BYTES + G2_BYTES;

const CURVE_NAMES = new Set(['bn128', 'bn254', 'altbn128', 'alt_bn128']);
const DECIMAL = /^[0-9]+$/;

/** Bytes, or why a well-formed value cannot be valid. */
export type Encoded = { readonly bytes: Uint8Array; readonly refused?: undefined } | { readonly bytes?: undefined; readonly refused: string };

export interface EncodedKey {
  readonly nPublic: number;
  readonly bytes: Uint8Array;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}

function decimal(value: unknown, name: string): bigint {
  if (typeof value !== 'string' || !DECIMAL.test(value)) throw new InvalidArgumentError(`${name}: expected a decimal string, got ${describe(value)}`);
  return BigInt(value);
}

function array(value: unknown, name: string, lengths: readonly number[]): unknown[] {
  if (!Array.isArray(value) || !lengths.includes(value.length)) {
    throw new InvalidArgumentError(`${name}: expected an array of ${lengths.join(' or ')}, got ${describe(value)}`);
  }
  return value;
}

/** value < 2^256 as 32 little-endian bytes at out[offset]. */
function writeLe32(value: bigint, out: Uint8Array, offset: number): void {
  const hex = value.toString(16).padStart(64, '0');
  for (let i = 0; i < FIELD_BYTES; i++) out[offset + i] = Number.parseInt(hex.slice(62 - 2 * i, 64 - 2 * i), 16);
}

/** Coordinates in order (x then y; an Fq2 one as c0, c1), each < p, or why not. */
function encodePoint(coordinates: bigint[], z: bigint[], name: string): Encoded {
  const bytes = new Uint8Array(coordinates.length * FIELD_BYTES);
  if (z.every((c) => c === 0n)) return { bytes };
  if (z[0] !== 1n || z.slice(1).some((c) => c !== 0n)) return { refused: `${name} is not affine (z must be 1, or 0 for infinity)` };
  if (coordinates.some((c) => c >= BN254_P)) return { refused: `${name} has a coordinate >= p` };
  // All-zero bytes mean infinity to the native side; the affine (0, 0) is on neither curve.
  if (coordinates.every((c) => c === 0n)) return { refused: `${name} is not on the curve` };
  for (const [index, c] of coordinates.entries()) writeLe32(c, bytes, index * FIELD_BYTES);
  return { bytes };
}

/** A G1 point [x, y, z] (z optional, as snarkjs reads it). */
export function encodeG1(value: unknown, name: string): Encoded {
  const [x, y, z] = array(value, name, [2, 3]);
  const zValue = z === undefined ? 1n : decimal(z, `${name}[2]`);
  return encodePoint([decimal(x, `${name}[0]`), decimal(y, `${name}[1]`)], [zValue], name);
}

/** A G2 point [[x0, x1], [y0, y1], [z0, z1]] (z optional). */
export function encodeG2(value: unknown, name: string): Encoded {
  const rows = array(value, name, [2, 3]);
  const pair = (row: number): bigint[] => array(rows[row], `${name}[${row}]`, [2]).map((c, i) => decimal(c, `${name}[${row}][${i}]`));
  const z = rows.length === 3 ? pair(2) : [1n, 0n];
  return encodePoint([...pair(0), ...pair(1)], z, name);
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError(`${what}: expected a JSON object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function keyPoint(encoded: Encoded): Uint8Array {
  if (encoded.refused !== undefined) throw new InvalidArgumentError(`verification key: ${encoded.refused}`);
  return encoded.bytes;
}

/** verification_key.json into the native key bytes; throws on any problem. */
export function encodeVerificationKey(vkey: unknown): EncodedKey {
  const key = objectOf(vkey, 'verification key');
  if (key.protocol !== 'groth16') throw new InvalidArgumentError(`verification key: protocol must be "groth16", got ${describe(key.protocol)}`);
  if (typeof key.curve !== 'string' || !CURVE_NAMES.has(key.curve.toLowerCase())) {
    throw new InvalidArgumentError(`verification key: curve must be "bn128" (BN254), got ${describe(key.curve)}`);
  }
  const nPublic = key.nPublic;
  if (typeof nPublic !== 'number' || !Number.isSafeInteger(nPublic) || nPublic < 0) {
    throw new InvalidArgumentError(`verification key: nPublic must be a non-negative integer, got ${describe(nPublic)}`);
  }
  const ic = array(key.IC, 'verification key IC', [nPublic + 1]);
  const bytes = new Uint8Array(KEY_FIXED_BYTES + ic.length * G1_BYTES);
  bytes.set(keyPoint(encodeG1(key.vk_alpha_1, 'vk_alpha_1')), 0);
  bytes.set(keyPoint(encodeG2(key.vk_beta_2, 'vk_beta_2')), G1_BYTES);
  bytes.set(keyPoint(encodeG2(key.vk_gamma_2, 'vk_gamma_2')), G1_BYTES + G2_BYTES);
  bytes.set(keyPoint(encodeG2(key.vk_delta_2, 'vk_delta_2')), G1_BYTES + 2 * G2_BYTES);
  for (const [index, point] of ic.entries()) bytes.set(keyPoint(encodeG1(point, `IC[${index}]`)), KEY_FIXED_BYTES + index * G1_BYTES);
  return { nPublic, bytes };
}

/** proof.json's pi_a, pi_b, pi_c into A | B | C, or why the proof cannot be valid. */
export function encodeProof(proof: unknown): Encoded {
  const object = objectOf(proof, 'proof');
  const parts = [encodeG1(object.pi_a, 'pi_a'), encodeG2(object.pi_b, 'pi_b'), encodeG1(object.pi_c, 'pi_c')];
  const refused = parts.find((part) => part.refused !== undefined);
  if (refused) return refused;
  const bytes = new Uint8Array(PROOF_BYTES);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part.bytes!, offset);
    offset += part.bytes!.byteLength;
  }
  return { bytes };
}

/** public.json (decimal strings, exactly nPublic of them) into Fr bytes, or why they cannot be valid. */
export function encodePublicSignals(publicSignals: unknown, nPublic: number): Encoded {
  if (!Array.isArray(publicSignals)) throw new InvalidArgumentError(`public signals: expected a JSON array, got ${describe(publicSignals)}`);
  if (publicSignals.length !== nPublic) {
    throw new InvalidArgumentError(`public signals has ${publicSignals.length} values but the verification key expects ${nPublic}`);
  }
  const values = publicSignals.map((value, index) => decimal(value, `public signal ${index}`));
  const bytes = new Uint8Array(nPublic * FIELD_BYTES);
  for (const [index, value] of values.entries()) {
    if (value >= BN254_R) return { refused: `public signal ${index} is not below r` };
    writeLe32(value, bytes, index * FIELD_BYTES);
  }
  return { bytes };
}
