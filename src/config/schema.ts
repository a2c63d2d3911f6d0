/**
 * Every config key of every process kind: its type, default and doc. The
 * environment name and the flags of a key are derived from its path in one
 * place (names.ts), never written here. docs/config.md is the user's view of
 * this file; test/config checks they agree.
 */
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { ValueType } from './values.ts';

export const PROCESS_KINDS = ['coordinator', 'worker', 'client', 'dev'] as const;
export type ProcessKind = (typeof PROCESS_KINDS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const BACKEND_NAMES = ['webgpu', 'native', 'snarkjs'] as const;

/** Values resolved so far (by key), for defaults derived from other keys. */
export type ResolvedValues = ReadonlyMap<string, unknown>;

export interface KeySpec {
  /** The key path, dotted, camelCase segments: `raft.nodeId`. */
  readonly key: string;
  readonly type: ValueType;
  /** The default; `derive` computes it from other keys (resolved first, in schema order); absent and not required: the key is unset (undefined). */
  readonly default?: { readonly value: unknown } | { readonly derive: (values: ResolvedValues) => unknown; readonly text: string };
  /** Start fails when no source gives a value. */
  readonly required?: boolean;
  /** Other environment variables read for this key, lower in precedence than its ZKP_ name (most important first). */
  readonly extraEnv?: readonly string[];
  /** Other flag names (without --) accepted for this key. */
  readonly extraFlags?: readonly string[];
  /** Printed redacted (a URL's password). */
  readonly secret?: boolean;
  readonly doc: string;
}

const logLevel: KeySpec = {
  key: 'log.level',
  type: { kind: 'enum', values: LOG_LEVELS },
  default: { value: 'info' },
  doc: 'Log level (pino; one JSON line per event on stderr).',
};

const coordinatorsDoc = 'Coordinator client addresses (any of them; the leader is found through redirects).';

const stateDir: KeySpec = {
  key: 'dev.stateDir',
  type: { kind: 'path' },
  default: { value: join('.zkp', 'dev') },
  extraFlags: ['state-dir'],
  doc: 'The dev cluster state directory (database, Raft logs, worker cache, logs, cluster.json).',
};

const COORDINATOR: readonly KeySpec[] = [
  {
    key: 'raft.nodeId',
    type: { kind: 'string', pattern: /^[A-Za-z0-9._-]{1,64}$/, patternText: 'an id of 1-64 letters, digits and ._-' },
    required: true,
    doc: "This coordinator's id; it must be one of raft.peers.",
  },
  {
    key: 'raft.clusterId',
    type: { kind: 'string', pattern: /^[A-Za-z0-9._-]{1,64}$/, patternText: 'a name of 1-64 letters, digits and ._-' },
    default: { value: 'zkp' },
    doc: "The cluster's name; a data directory written for another cluster is refused.",
  },
  {
    key: 'raft.peers',
    type: { kind: 'peers' },
    required: true,
    doc: 'Every member, this node included, as id@raftHost:port/clientHost:port, comma-separated. Every initial member gets the same list; with raft.join, the members to reach and this node.',
  },
  {
    key: 'raft.dataDir',
    type: { kind: 'path' },
    default: {
      derive: (values) =>
        values.has('raft.nodeId') ? join('zkp-data', `${String(values.get('raft.clusterId'))}-${String(values.get('raft.nodeId'))}`) : undefined,
      text: 'zkp-data/<clusterId>-<nodeId>',
    },
    doc: "This coordinator's data: the Raft log, hard state and snapshots (<dataDir>/raft) and the upload spool (created if missing; one process at a time).",
  },
  {
    key: 'raft.join',
    type: { kind: 'bool' },
    default: { value: false },
    doc: 'Start as a node that is not a member yet: an empty log, waiting to be added (AdminService.AddCoordinator). Ignored when the data directory holds a log.',
  },
  { key: 'raft.tickMs', type: { kind: 'int', min: 1, max: 10_000 }, default: { value: 10 }, doc: 'Raft tick period, ms.' },
  {
    key: 'raft.electionTicks',
    type: { kind: 'int', min: 2, max: 100_000 },
    default: { value: 10 },
    doc: 'Election timeout in ticks (randomised in [n, 2n)); must exceed raft.heartbeatTicks.',
  },
  { key: 'raft.heartbeatTicks', type: { kind: 'int', min: 1, max: 100_000 }, default: { value: 2 }, doc: 'Leader heartbeat period in ticks.' },
  {
    key: 'raft.snapshotEvery',
    type: { kind: 'int', min: 1, max: 1_000_000_000 },
    default: { value: 5000 },
    doc: 'Take a snapshot after this many applied entries.',
  },
  {
    key: 'api.listen',
    type: { kind: 'hostPort' },
    default: {
      derive: (values) =>
        (values.get('raft.peers') as ReadonlyMap<string, { clientAddress: string }> | undefined)?.get(String(values.get('raft.nodeId')))?.clientAddress,
      text: "this node's client address in raft.peers",
    },
    doc: 'Where the client gRPC API (JobService, WorkerService, AdminService, health, reflection) listens.',
  },
  {
    key: 'http.listen',
    type: { kind: 'hostPort', portZeroOk: true },
    default: { value: '127.0.0.1:0' },
    doc: 'Where GET /health and the small JSON API listen (port 0: any free port).',
  },
  {
    key: 'store.databaseUrl',
    type: { kind: 'url', protocols: ['postgres:', 'postgresql:'], emptyOk: true },
    default: { value: '' },
    extraEnv: ['DATABASE_URL'],
    secret: true,
    doc: 'PostgreSQL URL of the store (artifacts, job archive). Empty: no store; archiving is off and circuit uploads are refused with a clear message.',
  },
  {
    key: 'jobs.queueMax',
    type: { kind: 'int', min: 1, max: 10_000_000 },
    default: { value: 10_000 },
    doc: 'Jobs waiting at most; a submit beyond is RESOURCE_EXHAUSTED with a retry hint.',
  },
  {
    key: 'jobs.maxAttempts',
    type: { kind: 'int', min: 1, max: 100 },
    default: { value: 3 },
    doc: "Assignments of a job at most (a submit's max_attempts may lower it).",
  },
  {
    key: 'jobs.leaseMs',
    type: { kind: 'int', min: 300, max: 3_600_000 },
    default: { value: 5000 },
    doc: "A worker's lease, ms; workers heartbeat every leaseMs/3 and a worker silent past its lease is dead (its jobs requeued).",
  },
  {
    key: 'jobs.inlineInputMaxBytes',
    type: { kind: 'int', min: 0, max: 64 * 1024 * 1024 },
    default: { value: 1024 * 1024 },
    doc: 'Job inputs up to this size travel in the Raft log; larger ones go to the store first.',
  },
  logLevel,
];

const WORKER: readonly KeySpec[] = [
  {
    key: 'worker.id',
    type: { kind: 'string', pattern: /^[A-Za-z0-9._:@-]{1,128}$/, patternText: 'an id of 1-128 letters, digits and ._:@-' },
    default: { derive: () => `${hostname()}-${process.pid}`, text: '<hostname>-<pid>' },
    doc: "This worker's id (stable per host is best).",
  },
  { key: 'coordinators', type: { kind: 'hostPortList' }, required: true, doc: coordinatorsDoc },
  {
    key: 'worker.backends',
    type: { kind: 'enumList', values: BACKEND_NAMES },
    default: { value: [] },
    doc: 'Backends to use, best first (empty: detect on this host).',
  },
  {
    key: 'worker.cacheDir',
    type: { kind: 'path' },
    default: { derive: () => join(homedir(), '.cache', 'zkp', 'circuits'), text: '~/.cache/zkp/circuits' },
    doc: 'Where fetched circuit artifacts are cached (checked by hash).',
  },
  { key: 'worker.slots', type: { kind: 'int', min: 1, max: 64 }, default: { value: 1 }, doc: 'Jobs proven at once.' },
  {
    key: 'worker.drainGraceMs',
    type: { kind: 'int', min: 0, max: 3_600_000 },
    default: { value: 30_000 },
    doc: 'On SIGTERM, how long running jobs may take to finish before they are handed back, ms.',
  },
  logLevel,
];

const CLIENT: readonly KeySpec[] = [
  {
    key: 'coordinators',
    type: { kind: 'hostPortList' },
    default: { value: [] },
    doc: `${coordinatorsDoc} Empty: the dev cluster's, from <dev.stateDir>/cluster.json.`,
  },
  { ...stateDir, doc: 'Where the dev cluster keeps cluster.json, read when coordinators is empty.' },
];

const DEV: readonly KeySpec[] = [
  stateDir,
  { key: 'dev.coordinators', type: { kind: 'int', min: 1, max: 5 }, default: { value: 3 }, doc: 'Coordinator processes the dev cluster starts (1, 3 or 5).' },
  { key: 'dev.workers', type: { kind: 'int', min: 0, max: 16 }, default: { value: 1 }, doc: 'Worker processes the dev cluster starts.' },
  logLevel,
];

export const SCHEMAS: Readonly<Record<ProcessKind, readonly KeySpec[]>> = { coordinator: COORDINATOR, worker: WORKER, client: CLIENT, dev: DEV };

// ---- the typed config objects each process receives ----

export interface CoordinatorConfig {
  readonly raft: {
    readonly nodeId: string;
    readonly clusterId: string;
    readonly peers: ReadonlyMap<string, { readonly raftAddress: string; readonly clientAddress: string }>;
    readonly dataDir: string;
    readonly join: boolean;
    readonly tickMs: number;
    readonly electionTicks: number;
    readonly heartbeatTicks: number;
    readonly snapshotEvery: number;
  };
  readonly api: { readonly listen: string };
  readonly http: { readonly listen: string };
  /** databaseUrl '' = no store. */
  readonly store: { readonly databaseUrl: string };
  readonly jobs: { readonly queueMax: number; readonly maxAttempts: number; readonly leaseMs: number; readonly inlineInputMaxBytes: number };
  readonly log: { readonly level: LogLevel };
}

export interface WorkerConfig {
  readonly worker: {
    readonly id: string;
    /** Empty: detect. */
    readonly backends: readonly string[];
    readonly cacheDir: string;
    readonly slots: number;
    readonly drainGraceMs: number;
  };
  readonly coordinators: readonly string[];
  readonly log: { readonly level: LogLevel };
}

export interface ClientConfig {
  /** Empty: read the dev cluster's cluster.json in dev.stateDir. */
  readonly coordinators: readonly string[];
  readonly dev: { readonly stateDir: string };
}

export interface DevConfig {
  readonly dev: { readonly stateDir: string; readonly coordinators: number; readonly workers: number };
  readonly log: { readonly level: LogLevel };
}

export interface ConfigOf {
  coordinator: CoordinatorConfig;
  worker: WorkerConfig;
  client: ClientConfig;
  dev: DevConfig;
}
