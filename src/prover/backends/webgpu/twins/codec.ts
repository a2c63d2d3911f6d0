/**
 * Byte layouts of src/prover/backend.ts <-> twin values: affine points are
 * Montgomery Fq coordinates (all-zero bytes = infinity); the device's
 * Jacobian points are 3 Montgomery coordinates back to back.
 */
import { Fq, bigintToBytes, bytesToBigint, type Fq2El } from './field.ts';
import type { Aff, Jac } from './curve.ts';

const FQ_BYTES = 32;

function readFq(bytes: Uint8Array, offset: number): bigint {
  return Fq.fromMont(bytesToBigint(bytes, offset));
}
function readFq2(bytes: Uint8Array, offset: number): Fq2El {
  return [readFq(bytes, offset), readFq(bytes, offset + FQ_BYTES)];
}
function allZero(bytes: Uint8Array, offset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

export function readG1Affine(bytes: Uint8Array, index: number): Aff<bigint> {
  const o = index * 64;
  if (allZero(bytes, o, 64)) return { x: 0n, y: 0n, infinity: true };
  return { x: readFq(bytes, o), y: readFq(bytes, o + 32), infinity: false };
}
export function readG2Affine(bytes: Uint8Array, index: number): Aff<Fq2El> {
  const o = index * 128;
  if (allZero(bytes, o, 128)) return { x: [0n, 0n], y: [0n, 0n], infinity: true };
  return { x: readFq2(bytes, o), y: readFq2(bytes, o + 64), infinity: false };
}
export function writeG1Affine(p: Aff<bigint>): Uint8Array {
  const out = new Uint8Array(64);
  if (p.infinity) return out;
  bigintToBytes(Fq.toMont(p.x), out, 0);
  bigintToBytes(Fq.toMont(p.y), out, 32);
  return out;
}
export function writeG2Affine(p: Aff<Fq2El>): Uint8Array {
  const out = new Uint8Array(128);
  if (p.infinity) return out;
  bigintToBytes(Fq.toMont(p.x[0]), out, 0);
  bigintToBytes(Fq.toMont(p.x[1]), out, 32);
  bigintToBytes(Fq.toMont(p.y[0]), out, 64);
  bigintToBytes(Fq.toMont(p.y[1]), out, 96);
  return out;
}
export function readG1Jacobian(bytes: Uint8Array, index: number): Jac<bigint> {
  const o = index * 96;
  return { x: readFq(bytes, o), y: readFq(bytes, o + 32), z: readFq(bytes, o + 64) };
}
export function readG2Jacobian(bytes: Uint8Array, index: number): Jac<Fq2El> {
  const o = index * 192;
  return { x: readFq2(bytes, o), y: readFq2(bytes, o + 64), z: readFq2(bytes, o + 128) };
}
