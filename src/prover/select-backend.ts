/**
 * Opening backends by name for the CLI, the bench and tests. The default is
 * native when it loads on this host, else snarkjs (always available).
 */
import { BackendUnavailableError, InvalidArgumentError } from '../errors/index.ts';
import type { ProverBackend } from './backend.ts';
import { backendNames, getBackendFactory } from './backends/index.ts';

export const DEFAULT_BACKEND_ORDER = ['native', 'snarkjs'] as const;

export async function openBackend(name?: string): Promise<ProverBackend> {
  if (name === undefined) {
    const failures: string[] = [];
    for (const candidate of DEFAULT_BACKEND_ORDER) {
      try {
        return await openNamedBackend(candidate);
      } catch (error) {
        failures.push(`${candidate}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    throw new BackendUnavailableError(`no backend could be opened (${failures.join('; ')})`);
  }
  return openNamedBackend(name);
}

async function openNamedBackend(name: string): Promise<ProverBackend> {
  const factory = getBackendFactory(name);
  if (!factory) throw new InvalidArgumentError(`unknown backend "${name}" (known: ${backendNames().join(', ')})`);
  try {
    return await factory();
  } catch (error) {
    if (error instanceof BackendUnavailableError) throw error;
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new BackendUnavailableError(`backend ${name} is not available here: ${reason}`, { cause: error });
  }
}

export interface BackendProbe {
  readonly name: string;
  readonly available: boolean;
  /** describe() when available, else why not. */
  readonly detail: string;
}

/** Tries to open every registered backend (and closes it again). */
export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of backendNames()) {
    try {
      const backend = await openNamedBackend(name);
      probes.push({ name, available: true, detail: backend.describe() });
      await backend.close();
    } catch (error) {
      probes.push({ name, available: false, detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return probes;
}
