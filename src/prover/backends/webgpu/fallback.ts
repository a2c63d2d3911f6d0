/**
 * withNativeFallback: wraps the WebGPU backend so that a DeviceLostError
 * (device lost, out of memory) from any operation is logged and the same
 * operation is retried on a CPU backend (native, or snarkjs where native
 * is unavailable). After a loss every later call goes to the CPU backend:
 * the device is gone. A proof is never lost and never wrong, only slower.
 */
import { BackendUnavailableError, DeviceLostError } from '../../../errors/index.ts';
import type { BaseSet, CircuitBases, ProverBackend, ResidentCircuit } from '../../backend.ts';

/** The subset of a pino logger this needs (console works too through consoleLogger). */
export interface WarnLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export const consoleLogger: WarnLogger = {
  warn: (details, message) => console.warn(`${message} ${JSON.stringify(details)}`),
};

export type BackendLoader = () => Promise<ProverBackend>;

/** The registered native backend, else snarkjs (registered in ../index.ts). */
export async function loadCpuBackend(): Promise<ProverBackend> {
  const { getBackendFactory } = await import('../index.ts');
  const failures: string[] = [];
  for (const name of ['native', 'snarkjs']) {
    const factory = getBackendFactory(name);
    if (!factory) {
      failures.push(`${name}: not registered`);
      continue;
    }
    try {
      return await factory();
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new BackendUnavailableError(`webgpu fallback: no CPU backend available (${failures.join('; ')})`);
}

export function withNativeFallback(primary: ProverBackend, loadFallback: BackendLoader = loadCpuBackend, logger: WarnLogger = consoleLogger): ProverBackend {
  let fallback: Promise<ProverBackend> | null = null;
  let primaryLost = false;
  const cpu = (): Promise<ProverBackend> => (fallback ??= loadFallback());

  async function attempt<R>(operation: string, onPrimary: () => Promise<R>, onFallback: (b: ProverBackend) => Promise<R>): Promise<R> {
    if (!primaryLost) {
      try {
        return await onPrimary();
      } catch (e) {
        if (!(e instanceof DeviceLostError)) throw e;
        primaryLost = true;
        const backend = await cpu();
        logger.warn({ operation, error: e.message, fallback: backend.describe() }, 'webgpu device lost; retrying on the CPU backend');
        return onFallback(backend);
      }
    }
    return onFallback(await cpu());
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
      release: async () => {
        if (onGpu && !primaryLost) await onGpu.release().catch(() => undefined);
        if (onCpu) await (await onCpu).release();
      },
    };
  }

  const circuits = new Map<string, ResidentCircuit>();
  return {
    name: primary.name,
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
