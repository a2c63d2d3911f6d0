/**
 * buildABC for the webgpu backend, exactly snarkjs's buildABC1. It is a
 * sparse scatter-add (many coefficients hit one constraint), which does not
 * map onto the device without atomics on field elements; it is linear in
 * the number of coefficients and small next to the MSMs. It runs on a CPU
 * backend given by whoever assembles the backends (the native addon:
 * multi-threaded C++, the same byte layouts) when that one loads, else in
 * host BigInt (buildAbcHost), which is correct but slow.
 */
import { BackendUnavailableError, CorruptFileError, InvalidArgumentError, MismatchError } from '../../../errors/index.ts';
import { type BackendFactory, FR_BYTES, type ProverBackend } from '../../backend.ts';
import { Fr, bigintToBytes, bytesToBigint } from './twins/field.ts';

export type AbcVectors = { a: Uint8Array; b: Uint8Array; c: Uint8Array };

export interface AbcBuilder {
  /** 'native' (the addon) or 'host' (BigInt, when the addon is not built or fails to load). */
  readonly kind: 'native' | 'host';
  /** Why the host path is used; empty for native. */
  readonly reason: string;
  build(coeffs: Uint8Array, witness: Uint8Array, domainSize: number): Promise<AbcVectors>;
}

export interface AbcBuilderOptions {
  /** Opens the CPU backend whose buildABC is used (the native one, injected by backends/index.ts); absent: host path. */
  readonly loadNative?: BackendFactory;
  /** Forces the host path (tests compare both). */
  readonly preferHost?: boolean;
}

/** The injected native backend's buildABC when it loads, else the host BigInt one. */
export async function createAbcBuilder(options: AbcBuilderOptions = {}): Promise<AbcBuilder> {
  if (options.preferHost) return hostBuilder('host path requested');
  if (options.loadNative === undefined) return hostBuilder('no native backend given');
  let native: ProverBackend;
  try {
    native = await options.loadNative();
  } catch (e) {
    if (e instanceof BackendUnavailableError) return hostBuilder(e.message);
    throw e;
  }
  return { kind: 'native', reason: '', build: (coeffs, witness, domainSize) => native.buildABC(coeffs, witness, domainSize) };
}

function hostBuilder(reason: string): AbcBuilder {
  return { kind: 'host', reason, build: async (coeffs, witness, domainSize) => buildAbcHost(coeffs, witness, domainSize) };
}

const COEF_BYTES = 12 + FR_BYTES; // matrix u32, constraint u32, signal u32, value

export function buildAbcHost(coeffs: Uint8Array, witness: Uint8Array, domainSize: number): AbcVectors {
  if (!Number.isInteger(domainSize) || domainSize <= 0) throw new InvalidArgumentError(`domainSize must be a positive integer, got ${domainSize}`);
  if (witness.byteLength % FR_BYTES !== 0) throw new InvalidArgumentError(`witness: ${witness.byteLength} bytes is not a whole number of Fr elements`);
  if (coeffs.byteLength < 4) throw new CorruptFileError('zkey coefficients section is shorter than its count');
  const view = new DataView(coeffs.buffer, coeffs.byteOffset, coeffs.byteLength);
  const nCoef = view.getUint32(0, true);
  if (coeffs.byteLength !== 4 + nCoef * COEF_BYTES)
    throw new CorruptFileError(`zkey coefficients section: ${nCoef} coefficients need ${4 + nCoef * COEF_BYTES} bytes, found ${coeffs.byteLength}`);
  const nSignals = witness.byteLength / FR_BYTES;
  const w = new Map<number, bigint>();
  const acc = [new Array<bigint>(domainSize).fill(0n), new Array<bigint>(domainSize).fill(0n)];
  for (let i = 0; i < nCoef; i++) {
    const o = 4 + i * COEF_BYTES;
    const matrix = view.getUint32(o, true);
    const constraint = view.getUint32(o + 4, true);
    const signal = view.getUint32(o + 8, true);
    if (matrix > 1) throw new CorruptFileError(`coefficient ${i}: matrix ${matrix} is not 0 (A) or 1 (B)`);
    if (constraint >= domainSize) throw new MismatchError(`coefficient ${i}: constraint ${constraint} is outside the domain of ${domainSize}`);
    if (signal >= nSignals) throw new MismatchError(`coefficient ${i}: signal ${signal} but the witness has ${nSignals} values`);
    let ws = w.get(signal);
    if (ws === undefined) {
      ws = bytesToBigint(witness, signal * FR_BYTES);
      w.set(signal, ws);
    }
    const target = acc[matrix]!;
    target[constraint] = Fr.add(target[constraint]!, Fr.montMul(bytesToBigint(coeffs, o + 12), ws));
  }
  const a = new Uint8Array(domainSize * FR_BYTES);
  const b = new Uint8Array(domainSize * FR_BYTES);
  const c = new Uint8Array(domainSize * FR_BYTES);
  for (let i = 0; i < domainSize; i++) {
    const ai = acc[0]![i]!;
    const bi = acc[1]![i]!;
    bigintToBytes(ai, a, i * FR_BYTES);
    bigintToBytes(bi, b, i * FR_BYTES);
    bigintToBytes(Fr.montMul(ai, bi), c, i * FR_BYTES);
  }
  return { a, b, c };
}
