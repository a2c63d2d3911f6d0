/**
 * The worker process's composition root: options -> detected backends ->
 * the proving backend -> the coordinator link (LeaderRouter) -> artifact
 * cache -> resident circuits -> Worker (registration, assignments,
 * heartbeats, proving, drain). `zkp worker` and src/worker/process-main.ts
 * call startWorker; tests call it in-process. docs/worker.md describes it.
 */
import { BackendUnavailableError } from '../errors/index.ts';
import { LeaderRouter } from '../client/leader-router.ts';
import type { ProverBackend } from '../prover/backend.ts';
import { openBackend } from '../prover/select-backend.ts';
import { ArtifactCache } from './artifact-cache.ts';
import { WorkerLink } from './coordinator-link.ts';
import { detectHost, type HostCapabilities } from './detect.ts';
import { type BackendName, compileWorkerOptions, type WorkerLogger, type WorkerOptions } from './options.ts';
import { ResidentCircuits } from './resident-circuits.ts';
import { Worker, type WorkerState, type WorkerStats } from './worker.ts';

export type { WorkerOptions, WorkerLogger } from './options.ts';

export interface RunningWorker {
  /** The id the cluster knows this worker by. */
  readonly id: string;
  /** Offered backends, best first; `backend` is the one proving. */
  readonly backends: readonly BackendName[];
  readonly backend: string;
  readonly capabilities: HostCapabilities;
  readonly cacheDir: string;
  /** Resolves once the worker has closed (close(), or the end of drain()). */
  readonly closed: Promise<void>;
  state(): WorkerState;
  runningJobs(): string[];
  residentCircuits(): string[];
  stats(): Readonly<WorkerStats>;
  /** Stops taking jobs, lets the running ones finish within drainGrace_ms or hands them back, deregisters, closes. */
  drain(): Promise<void>;
  /** Stops at once; running jobs are aborted and reported nowhere (their leases run out on the coordinator). */
  close(): Promise<void>;
}

/**
 * Detects the backends, opens the proving one, registers with the cluster
 * (waiting as long as no leader answers, until options.signal aborts) and
 * starts taking assignments.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const compiled = compileWorkerOptions(options);
  const logger = compiled.logger;
  const capabilities = await detectHost({ backends: compiled.backends, logger });
  logger.info(
    {
      backends: capabilities.backends,
      probes: capabilities.probes,
      gpu: capabilities.gpu,
      memory_bytes: capabilities.memory_bytes,
      threads: capabilities.threads,
    },
    'backends detected',
  );
  const backend = await openProvingBackend(capabilities.backends, logger);
  const router = new LeaderRouter(compiled.coordinators, { ...compiled.router, logger });
  const link = new WorkerLink(router);
  const cache = new ArtifactCache({ dir: compiled.cacheDir, source: (sha256, signal) => link.fetchArtifact(sha256, signal), logger });
  const circuits = new ResidentCircuits({ cache, backend, bytes_max: compiled.residentBytesMax, logger });
  const snarkjsOpens = capabilities.probes.some((probe) => probe.name === 'snarkjs' && probe.available);
  let reference: Promise<ProverBackend> | null = null;
  const worker = new Worker({
    options: compiled,
    capabilities,
    backend,
    reference: snarkjsOpens ? () => (reference ??= openBackend('snarkjs')) : null,
    link,
    cache,
    circuits,
  });
  void worker.closed.then(async () => {
    if (reference !== null) await (await reference.catch(() => null))?.close();
  });
  try {
    await worker.start();
  } catch (error) {
    await worker.close();
    throw error;
  }
  return {
    get id() {
      return worker.id;
    },
    backends: capabilities.backends,
    backend: backend.name,
    capabilities,
    cacheDir: compiled.cacheDir,
    closed: worker.closed,
    state: () => worker.state,
    runningJobs: () => worker.runningJobs(),
    residentCircuits: () => circuits.ids(),
    stats: () => ({ ...worker.stats }),
    drain: () => worker.drain(),
    close: () => worker.close(),
  };
}

/** The first backend of the list that opens (kept open for the life of the worker). */
async function openProvingBackend(backends: readonly BackendName[], logger: WorkerLogger): Promise<ProverBackend> {
  const failures: string[] = [];
  for (const name of backends) {
    try {
      const backend = await openBackend(name);
      logger.info({ backend: backend.describe() }, 'proving backend open');
      return backend;
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      logger.warn({ backend: name, error: failures.at(-1) }, 'backend did not open; trying the next');
    }
  }
  throw new BackendUnavailableError(`no backend of ${backends.join(', ')} opens for proving (${failures.join('; ')})`);
}
