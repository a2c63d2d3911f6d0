/**
 * The reference backend: ffjavascript (WASM, worker threads), doing exactly
 * what snarkjs's groth16_prove.js does. Every other backend is tested against
 * this one, so it favours being obviously the same as snarkjs over speed.
 */
import {
  FR_BYTES,
  G1_AFFINE_BYTES,
  G2_AFFINE_BYTES,
  type BaseSet,
  type CircuitBases,
  type ProgressFn,
  type ProverBackend,
  type ResidentCircuit,
} from '../../backend.ts';
import { InvalidArgumentError, assert } from '../../../errors/index.ts';
import { bn128, type FfCurve, type FfGroup } from '../../ffjs.ts';
import { COEFF_ENTRY_BYTES } from '../../io/zkey.ts';

/** joinABC chunk, as snarkjs: bounded so one worker task stays small. */
const JOIN_CHUNK_ELEMENTS = 1 << 22;
const LOG2N_MAX = 28;

export async function createSnarkjsBackend(): Promise<ProverBackend> {
  const curve = await bn128();
  const resident = new Map<string, ResidentCircuit>();

  const backend: ProverBackend = {
    name: 'snarkjs',
    describe: () => `snarkjs: ffjavascript WASM, ${curve.tm.concurrency} worker threads`,

    async loadCircuit(bases: CircuitBases): Promise<ResidentCircuit> {
      const known = resident.get(bases.id);
      if (known) return known;
      const handle = residentCircuit(curve, bases, () => resident.delete(bases.id));
      resident.set(bases.id, handle);
      return handle;
    },

    msmG1: (bases, scalars) => msm(curve.G1, 'G1', G1_AFFINE_BYTES, bases, scalars, false),
    msmG2: (bases, scalars) => msm(curve.G2, 'G2', G2_AFFINE_BYTES, bases, scalars, false),

    buildABC: async (coeffs, witness, domainSize) => buildABC(curve, coeffs, witness, domainSize),

    async ntt(values, log2n, direction) {
      checkVector('ntt', values, log2n);
      return direction === 'forward' ? curve.Fr.fft(values) : curve.Fr.ifft(values);
    },

    async cosetShift(values, log2n) {
      checkVector('cosetShift', values, log2n);
      return curve.Fr.batchApplyKey(values, curve.Fr.e(1), cosetGenerator(curve, log2n));
    },

    async computeH(a, b, c, log2n, progress) {
      for (const [what, values] of [
        ['a', a],
        ['b', b],
        ['c', c],
      ] as const)
        checkVector(`computeH ${what}`, values, log2n);
      const inc = cosetGenerator(curve, log2n);
      const toCoset = async (values: Uint8Array, what: string, step: number): Promise<Uint8Array> => {
        progress?.(`computeH ${what}`, step, 3);
        const coefficients = await curve.Fr.ifft(values);
        const shifted = await curve.Fr.batchApplyKey(coefficients, curve.Fr.e(1), inc);
        return curve.Fr.fft(shifted);
      };
      const aOdd = await toCoset(a, 'A', 0);
      const bOdd = await toCoset(b, 'B', 1);
      const cOdd = await toCoset(c, 'C', 2);
      progress?.('computeH', 3, 3);
      return joinABC(curve, aOdd, bOdd, cOdd);
    },

    async close() {
      // The curve is ffjavascript's process-wide singleton (snarkjs shares it): not ours to terminate.
      resident.clear();
    },
  };
  return backend;
}

function residentCircuit(curve: FfCurve, bases: CircuitBases, forget: () => void): ResidentCircuit {
  return {
    id: bases.id,
    msmG1(set: Exclude<BaseSet, 'B2'>, scalars: Uint8Array, progress?: ProgressFn) {
      progress?.(`msm ${set}`, 0, 1);
      return msm(curve.G1, `msm ${set}`, G1_AFFINE_BYTES, bases[set], scalars, true);
    },
    msmG2(set: 'B2', scalars: Uint8Array, progress?: ProgressFn) {
      progress?.(`msm ${set}`, 0, 1);
      return msm(curve.G2, `msm ${set}`, G2_AFFINE_BYTES, bases[set], scalars, true);
    },
    async release() {
      forget();
    },
  };
}

/** multiExpAffine needs as many points as scalars; a shorter scalar vector uses a prefix of the bases. */
async function msm(group: FfGroup, what: string, pointBytes: number, bases: Uint8Array, scalars: Uint8Array, prefixAllowed: boolean): Promise<Uint8Array> {
  if (bases.byteLength % pointBytes !== 0) throw new InvalidArgumentError(`${what}: bases are ${bases.byteLength} bytes, not a multiple of ${pointBytes}`);
  if (scalars.byteLength % FR_BYTES !== 0) throw new InvalidArgumentError(`${what}: scalars are ${scalars.byteLength} bytes, not a multiple of ${FR_BYTES}`);
  const nBases = bases.byteLength / pointBytes;
  const nScalars = scalars.byteLength / FR_BYTES;
  if (prefixAllowed ? nScalars > nBases : nScalars !== nBases) throw new InvalidArgumentError(`${what}: ${nScalars} scalars for ${nBases} bases`);
  if (nScalars === 0) return new Uint8Array(pointBytes);
  const used = nScalars === nBases ? bases : bases.subarray(0, nScalars * pointBytes);
  const result = group.toAffine(await group.multiExpAffine(used, scalars));
  assert(result.byteLength === pointBytes, () => `${what}: affine result is ${result.byteLength} bytes`);
  return result;
}

/** snarkjs's buildABC1, element by element with ffjavascript's Fr (Montgomery products). */
function buildABC(curve: FfCurve, coeffs: Uint8Array, witness: Uint8Array, domainSize: number): { a: Uint8Array; b: Uint8Array; c: Uint8Array } {
  const Fr = curve.Fr;
  if (!Number.isInteger(domainSize) || domainSize < 1 || (domainSize & (domainSize - 1)) !== 0)
    throw new InvalidArgumentError(`buildABC: domainSize ${domainSize} is not a power of two`);
  if (coeffs.byteLength < 4) throw new InvalidArgumentError('buildABC: coeffs is shorter than its count');
  if (witness.byteLength % FR_BYTES !== 0) throw new InvalidArgumentError(`buildABC: witness is ${witness.byteLength} bytes, not a multiple of ${FR_BYTES}`);
  const view = new DataView(coeffs.buffer, coeffs.byteOffset, coeffs.byteLength);
  const nCoeffs = view.getUint32(0, true);
  if (coeffs.byteLength !== 4 + nCoeffs * COEFF_ENTRY_BYTES)
    throw new InvalidArgumentError(`buildABC: coeffs is ${coeffs.byteLength} bytes but counts ${nCoeffs} entries`);
  const nWitness = witness.byteLength / FR_BYTES;

  const a = new Uint8Array(domainSize * FR_BYTES);
  const b = new Uint8Array(domainSize * FR_BYTES);
  const matrices = [a, b];
  for (let index = 0; index < nCoeffs; index++) {
    const at = 4 + index * COEFF_ENTRY_BYTES;
    const matrix = view.getUint32(at, true);
    const constraint = view.getUint32(at + 4, true);
    const signal = view.getUint32(at + 8, true);
    const target = matrices[matrix];
    if (!target || constraint >= domainSize || signal >= nWitness) {
      throw new InvalidArgumentError(`buildABC: coeffs entry ${index} is out of range (matrix ${matrix}, constraint ${constraint}, signal ${signal})`);
    }
    const coefficient = coeffs.subarray(at + 12, at + 12 + FR_BYTES);
    const value = witness.subarray(signal * FR_BYTES, (signal + 1) * FR_BYTES);
    const slot = constraint * FR_BYTES;
    target.set(Fr.add(target.subarray(slot, slot + FR_BYTES), Fr.mul(coefficient, value)), slot);
  }
  const c = new Uint8Array(domainSize * FR_BYTES);
  for (let index = 0; index < domainSize; index++) {
    const slot = index * FR_BYTES;
    c.set(Fr.mul(a.subarray(slot, slot + FR_BYTES), b.subarray(slot, slot + FR_BYTES)), slot);
  }
  return { a, b, c };
}

/** a*b - c per element, then out of Montgomery form: the H MSM's scalars (snarkjs's joinABC). */
async function joinABC(curve: FfCurve, a: Uint8Array, b: Uint8Array, c: Uint8Array): Promise<Uint8Array> {
  assert(a.byteLength === b.byteLength && b.byteLength === c.byteLength, 'joinABC vectors have one length');
  const nElements = a.byteLength / FR_BYTES;
  const chunks: Promise<Uint8Array[]>[] = [];
  for (let first = 0; first < nElements; first += JOIN_CHUNK_ELEMENTS) {
    const count = Math.min(nElements - first, JOIN_CHUNK_ELEMENTS);
    const range = (values: Uint8Array) => values.slice(first * FR_BYTES, (first + count) * FR_BYTES);
    chunks.push(
      curve.tm.queueAction([
        { cmd: 'ALLOCSET', var: 0, buff: range(a) },
        { cmd: 'ALLOCSET', var: 1, buff: range(b) },
        { cmd: 'ALLOCSET', var: 2, buff: range(c) },
        { cmd: 'ALLOC', var: 3, len: count * FR_BYTES },
        { cmd: 'CALL', fnName: 'qap_joinABC', params: [{ var: 0 }, { var: 1 }, { var: 2 }, { val: count }, { var: 3 }] },
        { cmd: 'CALL', fnName: 'frm_batchFromMontgomery', params: [{ var: 3 }, { val: count }, { var: 3 }] },
        { cmd: 'GET', out: 0, var: 3, len: count * FR_BYTES },
      ]),
    );
  }
  const out = new Uint8Array(a.byteLength);
  let cursor = 0;
  for (const [part] of await Promise.all(chunks)) {
    assert(part !== undefined, 'joinABC task returned its output');
    out.set(part, cursor);
    cursor += part.byteLength;
  }
  assert(cursor === out.byteLength, 'joinABC filled its output');
  return out;
}

function cosetGenerator(curve: FfCurve, log2n: number): Uint8Array {
  const generator = log2n === curve.Fr.s ? curve.Fr.shift : curve.Fr.w[log2n + 1];
  assert(generator !== undefined, () => `no 2^${log2n + 1}-th root of unity`);
  return generator;
}

function checkVector(what: string, values: Uint8Array, log2n: number): void {
  if (!Number.isInteger(log2n) || log2n < 0 || log2n > LOG2N_MAX)
    throw new InvalidArgumentError(`${what}: log2n must be an integer in 0..${LOG2N_MAX}, got ${log2n}`);
  const expected_bytes = FR_BYTES * 2 ** log2n;
  if (values.byteLength !== expected_bytes)
    throw new InvalidArgumentError(`${what}: ${values.byteLength} bytes given, 2^${log2n} Fr elements need ${expected_bytes}`);
}
