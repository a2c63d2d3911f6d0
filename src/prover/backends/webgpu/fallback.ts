/**
 * withNativeFallback: wraps the WebGPU backend so that a DeviceLostError
 * (device lost, out of memory) from any operation is logged and the same
 * operation is retried on a CPU backend (native, or snarkjs where native
 * is unavailable). After a loss every later call goes to the CPU backend:
 * the device is gone. A proof is never lost and never wrong, only slower.
 * The wrapper counts where each operation ran (operationCounts), so a test
 * can assert that the device, not the fallback, did the work.
 */
import { DeviceLostError } from '../../../errors/index.ts';
import type { BaseSet, CircuitBases, ProverBackend, ResidentCircuit } from '../../backend.ts';

/** The subset of a pino logger this needs (console works too through consoleLogger). */
export interface WarnLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export const consoleLogger: WarnLogger = {
  warn: (details, message) => console.warn(`${message} ${JSON.stringify(details)}`),
};

export type BackendLoader = () => Promise<ProverBackend>;

/** Operations (MSMs, NTTs, buildABC, computeH, circuit loads) completed on the primary backend and on the fallback. */
export interface OperationCounts {
  readonly primary: number;
  readonly fallback: number;
}

/** A backend wrapped by withNativeFallback. */
export interface FallbackBackend extends ProverBackend {
  operationCounts(): OperationCounts;
}

export function isFallbackBackend(backend: ProverBackend): backend is FallbackBackend {
  return typeof (backend as Partial<FallbackBackend>).operationCounts === 'function';
}

/** `loadFallback` opens the CPU backend (given by backends/index.ts, which assembles the backends: native, else snarkjs). */
export function withNativeFallback(primary: ProverBackend, loadFallback: BackendLoader, logger: WarnLogger = consoleLogger): FallbackBackend {
  let fallback: Promise<ProverBackend> | null = null;
  let primaryLost = false;
  const counts = { primary: 0, fallback: 0 };
  const cpu = (): Promise<ProverBackend> => (fallback ??= loadFallback());

  async function onCpu<R>(backend: ProverBackend, onFallback: (b: ProverBackend) => Promise<R>): Promise<R> {
    const result = await onFallback(backend);
    counts.fallback++;
    return result;
  }

  async function attempt<R>(operation: string, onPrimary: () => Promise<R>, onFallback: (b: ProverBackend) => Promise<R>): Promise<R> {
    if (!primaryLost) {
      try {
        const result = await onPrimary();
        counts.primary++;
        return result;
      } catch (e) {
        if (!(e instanceof DeviceLostError)) throw e;
        primaryLost = true;
        const backend = await cpu();
        logger.warn({ operation, error: e.message, fallback: backend.describe() }, 'webgpu device lost; retrying on the CPU backend');
        return onCpu(backend, onFallback);
      }
    }
    return onCpu(await cpu(), onFallback);
  }

  function wrapCircuit(bases: CircuitBases, onGpu: ResidentCircuit | null): ResidentCircuit {
    let onCpu: Promise<ResidentCircuit> | null = null;
    const cpuCircuit = async (b: ProverBackend): Promise<ResidentCircuit> => (onCpu ??= b.loadCircuit(bases));
    return {
      id: bases.id,
      msmG1: (set: Exclude<BaseSet, 'B2'>, scalars, progress) =>
        attempt(
          `msmG1 ${set}`,
          () => (onGpu ? onGpu.msmG1(set, scalars, progress) : Promise.reject(new DeviceLostError('no device circuit'))),
          async (b) => (await cpuCircuit(b)).msmG1(set, scalars, progress),
        ),
      msmG2: (set, scalars, progress) =>
        attempt(
          `msmG2 ${set}`,
          () => (onGpu ? onGpu.msmG2(set, scalars, progress) : Promise.reject(new DeviceLostError('no device circuit'))),
          async (b) => (await cpuCircuit(b)).msmG2(set, scalars, progress),
        ),
      // Sharing only saves uploads: after a device loss (or on failure) the MSMs run unshared.
      shareScalars: async (vectors) => {
        if (!onGpu?.shareScalars || primaryLost) return async () => undefined;
        try {
          return await onGpu.shareScalars(vectors);
        } catch (e) {
          if (!(e instanceof DeviceLostError)) throw e;
          return async () => undefined;
        }
      },
      release: async () => {
        if (onGpu && !primaryLost) await onGpu.release().catch(() => undefined);
        if (onCpu) await (await onCpu).release();
      },
    };
  }

  const circuits = new Map<string, ResidentCircuit>();
  return {
    name: primary.name,
    operationCounts: () => ({ ...counts }),
    describe: () => (primaryLost ? `${primary.describe()} [device lost; running on CPU fallback]` : primary.describe()),
    loadCircuit: async (bases) => {
      const cached = circuits.get(bases.id);
      if (cached) return cached;
      let onGpu: ResidentCircuit | null = null;
      if (!primaryLost) {
        try {
          onGpu = await primary.loadCircuit(bases);
        } catch (e) {
          if (!(e instanceof DeviceLostError)) throw e;
          primaryLost = true;
          logger.warn({ operation: 'loadCircuit', error: e.message }, 'webgpu device lost; circuits will run on the CPU backend');
        }
      }
      const handle = wrapCircuit(bases, onGpu);
      circuits.set(bases.id, handle);
      return handle;
    },
    msmG1: (bases, scalars) =>
      attempt(
        'msmG1',
        () => primary.msmG1(bases, scalars),
        (b) => b.msmG1(bases, scalars),
      ),
    msmG2: (bases, scalars) =>
      attempt(
        'msmG2',
        () => primary.msmG2(bases, scalars),
        (b) => b.msmG2(bases, scalars),
      ),
    buildABC: (coeffs, witness, domainSize) =>
      attempt(
        'buildABC',
        () => primary.buildABC(coeffs, witness, domainSize),
        (b) => b.buildABC(coeffs, witness, domainSize),
      ),
    ntt: (values, log2n, direction) =>
      attempt(
        'ntt',
        () => primary.ntt(values, log2n, direction),
        (b) => b.ntt(values, log2n, direction),
      ),
    cosetShift: (values, log2n) =>
      attempt(
        'cosetShift',
        () => primary.cosetShift(values, log2n),
        (b) => b.cosetShift(values, log2n),
      ),
    computeH: (a, b, c, log2n, progress) =>
      attempt(
        'computeH',
        () => primary.computeH(a, b, c, log2n, progress),
        (cpuBackend) => cpuBackend.computeH(a, b, c, log2n, progress),
      ),
    close: async () => {
      for (const c of circuits.values()) await c.release().catch(() => undefined);
      circuits.clear();
      await primary.close().catch(() => undefined);
      if (fallback) await (await fallback).close();
    },
  };
}
