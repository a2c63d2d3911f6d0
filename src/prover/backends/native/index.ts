/**
 * The `native` prover backend: multi-threaded C++ (Pippenger MSM, NTT,
 * buildABC) behind the ProverBackend interface. Lengths are checked here with
 * InvalidArgumentError before anything reaches the addon; errors the addon
 * reports (e.g. a scalar >= r, a coefficient naming a constraint outside the
 * domain) are rethrown as InvalidArgumentError too.
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
import { loadNativeAddon, type NativeAddon } from './addon.ts';

const MAX_LOG2N = 28;

function checkMultiple(what: string, bytes: Uint8Array, unit: number): number {
  if (bytes.byteLength % unit !== 0) {
    throw new InvalidArgumentError(`${what}: length ${bytes.byteLength} is not a multiple of ${unit} bytes`);
  }
  return bytes.byteLength / unit;
}

function checkVector(what: string, values: Uint8Array, log2n: number): void {
  if (!Number.isInteger(log2n) || log2n < 0 || log2n > MAX_LOG2N) {
    throw new InvalidArgumentError(`${what}: log2n must be an integer in [0, ${MAX_LOG2N}], got ${log2n}`);
  }
  const expected = FR_BYTES * 2 ** log2n;
  if (values.byteLength !== expected) {
    throw new InvalidArgumentError(`${what}: ${values.byteLength} bytes given, 2^${log2n} Fr elements need ${expected}`);
  }
}

/** Runs an addon call, turning its input errors into InvalidArgumentError. */
async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new InvalidArgumentError(`${what}: ${message}`, { cause });
  }
}

async function msm(addon: NativeAddon, group: 'G1' | 'G2', bases: Uint8Array, scalars: Uint8Array, prefixAllowed: boolean): Promise<Uint8Array> {
  const pointBytes = group === 'G1' ? G1_AFFINE_BYTES : G2_AFFINE_BYTES;
  const what = `msm${group}`;
  const nBases = checkMultiple(`${what} bases`, bases, pointBytes);
  const nScalars = checkMultiple(`${what} scalars`, scalars, FR_BYTES);
  if (prefixAllowed ? nScalars > nBases : nScalars !== nBases) {
    throw new InvalidArgumentError(`${what}: ${nScalars} scalars for ${nBases} bases`);
  }
  const result = await call(what, () => (group === 'G1' ? addon.msmG1(bases, scalars) : addon.msmG2(bases, scalars)));
  assert(result.byteLength === pointBytes, `${what} returned ${result.byteLength} bytes`);
  return result;
}

class NativeResidentCircuit implements ResidentCircuit {
  private bases: CircuitBases | undefined;
  private readonly of: CircuitBases;
  private readonly addon: NativeAddon;
  private readonly onRelease: () => void;

  constructor(addon: NativeAddon, bases: CircuitBases, onRelease: () => void) {
    this.of = bases;
    this.addon = addon;
    this.bases = bases;
    this.onRelease = onRelease;
  }

  /** The bases' id, read when asked: a zkey's is the sha256 of the whole file, which a one-shot prove never needs. */
  get id(): string {
    return this.of.id;
  }

  private held(): CircuitBases {
    if (!this.bases) throw new InvalidArgumentError(`circuit ${this.id} was released`);
    return this.bases;
  }

  async msmG1(set: Exclude<BaseSet, 'B2'>, scalars: Uint8Array, progress?: ProgressFn): Promise<Uint8Array> {
    progress?.(`msm ${set}`, 0, 1);
    const result = await msm(this.addon, 'G1', this.held()[set], scalars, true);
    progress?.(`msm ${set}`, 1, 1);
    return result;
  }

  async msmG2(set: 'B2', scalars: Uint8Array, progress?: ProgressFn): Promise<Uint8Array> {
    progress?.(`msm ${set}`, 0, 1);
    const result = await msm(this.addon, 'G2', this.held()[set], scalars, true);
    progress?.(`msm ${set}`, 1, 1);
    return result;
  }

  async release(): Promise<void> {
    if (!this.bases) return;
    this.bases = undefined;
    this.onRelease();
  }
}

class NativeBackend implements ProverBackend {
  readonly name = 'native';
  private readonly addon: NativeAddon;
  /**
   * Resident circuits by their bases object: the buffers are kept, never
   * copied (the addon reads them in place), so a handle costs nothing and is
   * looked up without reading the bases' id (hashing a whole zkey, and
   * reading every page of a mapped one, for a one-shot prove).
   */
  private readonly circuits = new Map<CircuitBases, NativeResidentCircuit>();

  constructor(addon: NativeAddon) {
    this.addon = addon;
  }

  describe(): string {
    const threads = this.addon.threadCount();
    const features = this.addon.cpuFeatures();
    const paths = [features.adx ? 'ADX' : 'portable 64-bit products', ...(features.ifma ? ['AVX-512 IFMA'] : [])];
    return `native: ${threads} thread${threads === 1 ? '' : 's'}, ${paths.join(', ')}`;
  }

  async loadCircuit(bases: CircuitBases): Promise<ResidentCircuit> {
    const existing = this.circuits.get(bases);
    if (existing) return existing;
    checkMultiple('circuit bases A', bases.A, G1_AFFINE_BYTES);
    checkMultiple('circuit bases B1', bases.B1, G1_AFFINE_BYTES);
    checkMultiple('circuit bases B2', bases.B2, G2_AFFINE_BYTES);
    checkMultiple('circuit bases C', bases.C, G1_AFFINE_BYTES);
    checkMultiple('circuit bases H', bases.H, G1_AFFINE_BYTES);
    const circuit = new NativeResidentCircuit(this.addon, bases, () => this.circuits.delete(bases));
    this.circuits.set(bases, circuit);
    return circuit;
  }

  async msmG1(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array> {
    return msm(this.addon, 'G1', bases, scalars, false);
  }

  async msmG2(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array> {
    return msm(this.addon, 'G2', bases, scalars, false);
  }

  async buildABC(coeffs: Uint8Array, witness: Uint8Array, domainSize: number): Promise<{ a: Uint8Array; b: Uint8Array; c: Uint8Array }> {
    if (!Number.isInteger(domainSize) || domainSize < 1 || domainSize > 2 ** MAX_LOG2N) {
      throw new InvalidArgumentError(`buildABC: domainSize must be an integer in [1, 2^${MAX_LOG2N}], got ${domainSize}`);
    }
    checkMultiple('buildABC witness', witness, FR_BYTES);
    const result = await call('buildABC', () => this.addon.buildABC(coeffs, witness, domainSize));
    assert(result.a.byteLength === domainSize * FR_BYTES, 'buildABC returned a wrong-sized A');
    return result;
  }

  async ntt(values: Uint8Array, log2n: number, direction: 'forward' | 'inverse'): Promise<Uint8Array> {
    checkVector('ntt', values, log2n);
    if (direction !== 'forward' && direction !== 'inverse') {
      throw new InvalidArgumentError(`ntt: direction must be 'forward' or 'inverse', got ${String(direction)}`);
    }
    return call('ntt', () => this.addon.ntt(values, log2n, direction === 'inverse'));
  }

  async cosetShift(values: Uint8Array, log2n: number): Promise<Uint8Array> {
    checkVector('cosetShift', values, log2n);
    return call('cosetShift', () => this.addon.cosetShift(values, log2n));
  }

  async computeH(a: Uint8Array, b: Uint8Array, c: Uint8Array, log2n: number, progress?: ProgressFn): Promise<Uint8Array> {
    checkVector('computeH a', a, log2n);
    checkVector('computeH b', b, log2n);
    checkVector('computeH c', c, log2n);
    progress?.('computeH', 0, 1);
    const h = await call('computeH', () => this.addon.computeH(a, b, c, log2n));
    progress?.('computeH', 1, 1);
    return h;
  }

  async buildH(coeffs: Uint8Array, witness: Uint8Array, log2n: number): Promise<{ h: Uint8Array; buildABC_ms: number; computeH_ms: number }> {
    if (!Number.isInteger(log2n) || log2n < 0 || log2n > MAX_LOG2N) {
      throw new InvalidArgumentError(`buildH: log2n must be an integer in [0, ${MAX_LOG2N}], got ${log2n}`);
    }
    checkMultiple('buildH witness', witness, FR_BYTES);
    const { h, timings } = await call('buildH', () => this.addon.buildH(coeffs, witness, 2 ** log2n));
    assert(h.byteLength === 2 ** log2n * FR_BYTES, 'buildH returned a wrong-sized H');
    return { h, buildABC_ms: timings[0]!, computeH_ms: timings[1]! };
  }

  async close(): Promise<void> {
    for (const circuit of [...this.circuits.values()]) await circuit.release();
  }
}

/** Creates the native backend; throws BackendUnavailableError when the addon is not built. */
export async function createNativeBackend(): Promise<ProverBackend> {
  return new NativeBackend(loadNativeAddon());
}
