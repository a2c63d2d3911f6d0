/**
 * The WebGPU ProverBackend without fallback: device, cached engines,
 * resident circuits. Every operation checks the device first and turns
 * failures on a lost device into DeviceLostError (index.ts wraps this
 * backend so those retry on a CPU backend). It imports no other backend:
 * the one that runs buildABC is injected (loadAbcBackend).
 */
import { InvalidArgumentError, MismatchError } from '../../../errors/index.ts';
import { FR_BYTES, type BackendFactory, type BaseSet, type CircuitBases, type ProverBackend, type ResidentCircuit } from '../../backend.ts';
import { createAbcBuilder } from './build-abc.ts';
import { arithmeticOptions, chooseCodegen, curveCodeFromEnv, type CodegenOptions, type CurveCode, type FieldWidth, type MulCode } from './codegen.ts';
import { GpuDevice, deviceOptionsFromEnv, type DeviceOptions } from './device.ts';
import { G1_SPEC, G2_SPEC } from './groups.ts';
import { MsmEngine, type MsmOptions, type ResidentBases } from './msm.ts';
import { NttEngine } from './ntt.ts';
import { ScalarRegistry } from './scalars-device.ts';
import type { Fq2El } from './twins/field.ts';

export interface WebgpuBackendOptions extends DeviceOptions, Omit<MsmOptions, 'codegen'> {
  /** Curve formula code; default: ZKP_WEBGPU_CURVE_CODE, else straight on GPUs, interpreted on CPU drivers (codegen.ts). */
  readonly curveCode?: CurveCode;
  /** Fq arithmetic of the curve and MSM kernels, '16' or '13' (codegen.ts); default: ZKP_WEBGPU_FIELD, else '16'. */
  readonly field?: FieldWidth;
  /** Field multiplication shape, 'straight' or 'compact' (codegen.ts); default: ZKP_WEBGPU_MUL, else 'straight'. */
  readonly mul?: MulCode;
  /** Opens the native backend that runs buildABC (injected where backends are assembled: backends/index.ts); absent: host BigInt. */
  readonly loadAbcBackend?: BackendFactory;
  /** buildABC in host BigInt even when the native addon loads (tests compare both paths). */
  readonly hostBuildAbc?: boolean;
}

export interface RawWebgpuBackend extends ProverBackend {
  readonly gpu: GpuDevice;
  /** Compiles the MSM pipelines of one group ahead of time (benchmarks). */
  warm(group: 'G1' | 'G2'): Promise<void>;
  /** The G1 MSM engine (tests set its `inspect` hook to compare stages with the twins). */
  readonly g1Engine: MsmEngine<bigint>;
  /** The shader code generation chosen for this adapter. */
  readonly codegen: CodegenOptions;
  /** Where buildABC runs: 'native' (addon) or 'host' (BigInt). */
  readonly buildAbcKind: 'native' | 'host';
}

export async function createRawWebgpuBackend(options: WebgpuBackendOptions = deviceOptionsFromEnv()): Promise<RawWebgpuBackend> {
  const curveCode = options.curveCode ?? curveCodeFromEnv();
  const arithmetic = arithmeticOptions(options); // a bad value throws before the device opens
  const abc = await createAbcBuilder({ preferHost: options.hostBuildAbc ?? false, ...(options.loadAbcBackend ? { loadNative: options.loadAbcBackend } : {}) });
  if (abc.kind === 'host' && options.loadAbcBackend !== undefined) console.warn(`webgpu: buildABC runs in host BigInt (slow for big circuits): ${abc.reason}`);
  const gpu = await GpuDevice.open(options);
  // CPU drivers inline every call: rolled limb loops and interpreted formulas there (compile time).
  const codegen = chooseCodegen(gpu.adapterDescription, curveCode, arithmetic);
  const g1 = new MsmEngine<bigint>(gpu, G1_SPEC, { ...options, codegen });
  const g2 = new MsmEngine<Fq2El>(gpu, G2_SPEC, { ...options, codegen });
  // The NTT stays on the 16-bit Fr field with its own multiply: the arithmetic options are the curve and MSM code's.
  const ntt = new NttEngine(gpu, { unrollLimbs: codegen.unrollLimbs, curveCode: codegen.curveCode });
  const scalarsOnDevice = new ScalarRegistry(gpu);
  const circuits = new Map<string, ResidentCircuit>();

  // One operation at a time: they share scratch arenas, and computeH's output vector may be the H MSM's input.
  let queue: Promise<void> = Promise.resolve();
  async function guarded<R>(operation: string, body: () => Promise<R>): Promise<R> {
    const previous = queue;
    let done!: () => void;
    queue = new Promise<void>((resolve) => {
      done = resolve;
    });
    await previous;
    try {
      gpu.checkAlive(operation);
      return await body();
    } catch (cause) {
      throw gpu.wrapFailure(operation, cause);
    } finally {
      done();
    }
  }

  async function loadCircuit(bases: CircuitBases): Promise<ResidentCircuit> {
    const cached = circuits.get(bases.id);
    if (cached) return cached;
    const sets = new Map<BaseSet, ResidentBases>();
    try {
      for (const set of ['A', 'B1', 'C', 'H'] as const) sets.set(set, await g1.upload(bases[set], `circuit ${bases.id} ${set}`));
      sets.set('B2', await g2.upload(bases.B2, `circuit ${bases.id} B2`));
    } catch (e) {
      for (const r of sets.values()) MsmEngine.release(r);
      throw e;
    }
    const resident = (set: BaseSet): ResidentBases => {
      const r = sets.get(set);
      if (!r) throw new InvalidArgumentError(`circuit ${bases.id} was released`);
      return r;
    };
    const handle: ResidentCircuit = {
      id: bases.id,
      msmG1: (set, scalars, progress) =>
        guarded(`msmG1 ${set}`, async () => {
          progress?.(`msm ${set}`, 0, 1);
          const out = await g1.msm(resident(set), scalars, scalarsOnDevice.find(scalars));
          progress?.(`msm ${set}`, 1, 1);
          return out;
        }),
      msmG2: (set, scalars, progress) =>
        guarded(`msmG2 ${set}`, async () => {
          progress?.(`msm ${set}`, 0, 1);
          const out = await g2.msm(resident(set), scalars, scalarsOnDevice.find(scalars));
          progress?.(`msm ${set}`, 1, 1);
          return out;
        }),
      shareScalars: (vectors) => guarded('shareScalars', () => scalarsOnDevice.share(vectors)),
      release: async () => {
        for (const r of sets.values()) MsmEngine.release(r);
        sets.clear();
        circuits.delete(bases.id);
      },
    };
    circuits.set(bases.id, handle);
    return handle;
  }

  async function plainMsm<T>(engine: MsmEngine<T>, bases: Uint8Array, scalars: Uint8Array, pointBytes: number): Promise<Uint8Array> {
    if (bases.byteLength / pointBytes !== scalars.byteLength / FR_BYTES) {
      throw new MismatchError(`${bases.byteLength / pointBytes} bases but ${scalars.byteLength / FR_BYTES} scalars`);
    }
    const resident = await engine.upload(bases, 'msm bases');
    try {
      return await engine.msm(resident, scalars);
    } finally {
      MsmEngine.release(resident);
    }
  }

  const backend: RawWebgpuBackend = {
    name: 'webgpu',
    gpu,
    g1Engine: g1,
    codegen,
    buildAbcKind: abc.kind,
    // Ends with "(backend)": the CLI prints this line and its tests match that shape.
    describe: () =>
      `webgpu: ${gpu.adapterDescription} [curve code ${codegen.curveCode}, limbs ${codegen.unrollLimbs ? 'unrolled' : 'rolled'}, field ${arithmetic.field}-bit, mul ${arithmetic.mul}, buildABC ${abc.kind}] (${gpu.backend})`,
    warm: (group) => guarded('warm', () => (group === 'G1' ? g1.warm() : g2.warm())),
    loadCircuit: (bases) => guarded('loadCircuit', () => loadCircuit(bases)),
    msmG1: (bases, scalars) => guarded('msmG1', () => plainMsm(g1, bases, scalars, G1_SPEC.affineBytes)),
    msmG2: (bases, scalars) => guarded('msmG2', () => plainMsm(g2, bases, scalars, G2_SPEC.affineBytes)),
    buildABC: (coeffs, witness, domainSize) => abc.build(coeffs, witness, domainSize),
    ntt: (values, log2n, direction) =>
      guarded('ntt', async () => {
        NttEngine.checkSize(values, log2n);
        return ntt.run(log2n, [values], (rec, [data, , , scratch]) => ntt.encodeNtt(rec, data!, scratch!, log2n, direction), 0);
      }),
    cosetShift: (values, log2n) =>
      guarded('cosetShift', async () => {
        NttEngine.checkSize(values, log2n);
        return ntt.run(log2n, [values], (rec, [data]) => ntt.encodeCoset(rec, data!, log2n), 0);
      }),
    computeH: (a, b, c, log2n, progress) =>
      guarded('computeH', async () => {
        NttEngine.checkSize(a, log2n);
        NttEngine.checkSize(b, log2n);
        NttEngine.checkSize(c, log2n);
        progress?.('computeH', 0, 1);
        // The output vector is about to be overwritten: an h shared from it before is no longer on the device.
        scalarsOnDevice.forgetComputed();
        // One command buffer: three (iNTT, coset, NTT) chains, then join.
        const out = await ntt.run(
          log2n,
          [a, b, c],
          async (rec, vectors) => {
            const scratch = vectors[3]!;
            for (const data of vectors.slice(0, 3)) {
              await ntt.encodeNtt(rec, data, scratch, log2n, 'inverse');
              await ntt.encodeCoset(rec, data, log2n);
              await ntt.encodeNtt(rec, data, scratch, log2n, 'forward');
            }
            await ntt.encodeJoin(rec, log2n);
          },
          4,
        );
        // h stays on the device for the H MSM (used when the caller shares it: ResidentCircuit.shareScalars).
        scalarsOnDevice.noteComputed(out, await ntt.outputVector(log2n));
        progress?.('computeH', 1, 1);
        return out;
      }),
    close: async () => {
      for (const c of [...circuits.values()]) await c.release();
      scalarsOnDevice.release();
      g1.releaseScratch();
      g2.releaseScratch();
      ntt.release();
      gpu.destroy();
    },
  };
  return backend;
}
