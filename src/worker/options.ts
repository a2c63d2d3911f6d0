/**
 * The worker's options (what the config layer maps `worker.*` keys onto) and
 * their validation into a complete, checked set. Every bad value is an
 * InvalidArgumentError naming the option.
 */
import { hostname, homedir, totalmem } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.ts';
import { checkAddress } from '../client/leader-router.ts';

/** The slice of a pino logger the worker uses (a pino Logger fits; child() gives per-job loggers when present). */
export interface WorkerLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child?(bindings: Record<string, unknown>): WorkerLogger;
}

export const silentWorkerLogger: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function childLogger(logger: WorkerLogger, bindings: Record<string, unknown>): WorkerLogger {
  return logger.child === undefined ? logger : logger.child(bindings);
}

export const KNOWN_BACKENDS = ['webgpu', 'native', 'snarkjs'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

export interface WorkerOptions {
  /** Stable per host; default `<hostname>-<pid>`. */
  readonly id?: string;
  /** Coordinator client addresses, host:port (any of them; the leader is found by redirects). */
  readonly coordinators: readonly string[];
  /** Backends to use, best first (default: detected; see detect.ts for the order). The first is the one that proves. */
  readonly backends?: readonly string[];
  /** Where fetched circuit artifacts are kept (default ~/.cache/zkp/circuits). */
  readonly cacheDir?: string;
  /** Jobs proven at once (default 1). */
  readonly slots?: number;
  /** On drain, how long a running job may take to finish before it is handed back (default 30,000). */
  readonly drainGrace_ms?: number;
  /** Bound on the memory that resident circuits (parsed zkeys, wasm) may hold (default a quarter of host memory). */
  readonly residentBytesMax?: number;
  /** How long a Complete/Fail report is retried while no leader answers before it is given up (default 120,000). */
  readonly reportRetry_ms?: number;
  /** Progress reports per second per job at most (default 5). */
  readonly progressReportsPerSecondMax?: number;
  /** Aborting it while startWorker waits for its first registration rejects startWorker with CancelledError. */
  readonly signal?: AbortSignal;
  readonly logger?: WorkerLogger;
  /** Passed to the LeaderRouter (backoff and timeouts); tests shorten them. */
  readonly router?: { readonly deadline_ms?: number; readonly attempt_timeout_ms?: number; readonly backoff_ms_min?: number; readonly backoff_ms_max?: number };
}

export interface CompiledWorkerOptions {
  readonly id: string;
  readonly coordinators: readonly string[];
  readonly backends: readonly BackendName[] | null;
  readonly cacheDir: string;
  readonly slots: number;
  readonly drainGrace_ms: number;
  readonly residentBytesMax: number;
  readonly reportRetry_ms: number;
  readonly progressInterval_ms: number;
  readonly signal: AbortSignal | null;
  readonly logger: WorkerLogger;
  readonly router: NonNullable<WorkerOptions['router']>;
}

export const WORKER_DEFAULTS = {
  slots: 1,
  drainGrace_ms: 30_000,
  reportRetry_ms: 120_000,
  progressReportsPerSecondMax: 5,
} as const;

const SLOTS_MAX = 64;
const WORKER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}`;
}

export function defaultCacheDir(): string {
  return join(homedir(), '.cache', 'zkp', 'circuits');
}

function positiveInteger(name: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw new InvalidArgumentError(`worker option ${name} must be an integer in 1..${max}, got ${value}`);
  return value;
}

/** Names in a --backends list, checked: known, not repeated, not empty. */
export function parseBackendList(names: readonly string[]): BackendName[] {
  const list: BackendName[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (name === '') continue;
    if (!(KNOWN_BACKENDS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`worker backends: unknown backend "${name}" (known: ${KNOWN_BACKENDS.join(', ')})`);
    }
    if (list.includes(name as BackendName)) throw new InvalidArgumentError(`worker backends: "${name}" is listed twice`);
    list.push(name as BackendName);
  }
  if (list.length === 0) throw new InvalidArgumentError('worker backends: the list is empty (omit it to detect the backends)');
  return list;
}

export function compileWorkerOptions(options: WorkerOptions): CompiledWorkerOptions {
  const id = options.id ?? defaultWorkerId();
  if (!WORKER_ID.test(id)) throw new InvalidArgumentError(`worker id ${JSON.stringify(id)} must be 1-128 characters of letters, digits and ._:@-`);
  if (options.coordinators.length === 0) throw new InvalidArgumentError('worker coordinators: no address given (host:port, comma-separated)');
  const coordinators = options.coordinators.map((address) => checkAddress(address.trim()));
  const perSecond = positiveInteger('progressReportsPerSecondMax', options.progressReportsPerSecondMax, WORKER_DEFAULTS.progressReportsPerSecondMax, 1000);
  const drainGrace_ms = options.drainGrace_ms ?? WORKER_DEFAULTS.drainGrace_ms;
  if (!Number.isSafeInteger(drainGrace_ms) || drainGrace_ms < 0)
    throw new InvalidArgumentError(`worker option drainGrace_ms must be an integer >= 0, got ${drainGrace_ms}`);
  return {
    id,
    coordinators,
    backends: options.backends === undefined ? null : parseBackendList(options.backends),
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    slots: positiveInteger('slots', options.slots, WORKER_DEFAULTS.slots, SLOTS_MAX),
    drainGrace_ms,
    residentBytesMax: positiveInteger('residentBytesMax', options.residentBytesMax, Math.floor(totalmem() / 4)),
    reportRetry_ms: positiveInteger('reportRetry_ms', options.reportRetry_ms, WORKER_DEFAULTS.reportRetry_ms),
    progressInterval_ms: Math.ceil(1000 / perSecond),
    signal: options.signal ?? null,
    logger: options.logger ?? silentWorkerLogger,
    router: options.router ?? {},
  };
}
