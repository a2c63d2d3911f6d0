/**
 * The coordinator's composition root: one Raft member running the job state
 * machine (behind the exactly-once sessions), its gRPC and HTTP services, and
 * the store when one is configured. `startCoordinator` takes typed options
 * (the config layer maps its keys onto them: coordinatorOptionsOf);
 * `runCoordinatorProcess` is what `zkp coordinator` runs: it prints one JSON
 * line {"event":"ready", ...} on stdout once serving and closes cleanly on
 * SIGTERM or SIGINT.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { CoordinatorConfig } from '../config/index.ts';
import { InvalidArgumentError } from '../errors/index.ts';
import type { PeerInfo } from '../raft/driver/index.ts';
import { RaftNode } from '../raft/driver/index.ts';
import { type DriverLogger, silentLogger } from '../raft/logger.ts';
import { ExactlyOnceStateMachine } from '../raft/sessions/exactly-once.ts';
import { createStore } from '../store/index.ts';
import { type UploadLimits, DEFAULT_UPLOAD_LIMITS } from './service/circuit-upload.ts';
import { DEFAULT_SERVICE_OPTIONS, type ServiceOptions } from './service/context.ts';
import { CoordinatorService } from './service/coordinator-service.ts';
import type { CoordinatorStore } from './service/store-port.ts';
import { JobStateMachine } from './state/job-state-machine.ts';

export interface CoordinatorOptions {
  readonly nodeId: string;
  /** Default "zkp". */
  readonly clusterId?: string;
  /** Every member, this node included: id -> raft and client addresses. */
  readonly peers: ReadonlyMap<string, PeerInfo>;
  /** The Raft log lives in <dataDir>/raft, upload spools in <dataDir>/uploads. */
  readonly dataDir: string;
  readonly join?: boolean;
  readonly raft?: {
    readonly tick_ms?: number;
    readonly electionTicks?: number;
    readonly heartbeatTicks?: number;
    readonly snapshotEvery_entries?: number;
    readonly seed?: number;
  };
  /** host:port for the client gRPC API; default: this node's clientAddress in peers. */
  readonly apiListen?: string;
  /** host:port for /health and the JSON API; default 127.0.0.1:0. */
  readonly httpListen?: string;
  /** '' or absent: no store (circuit uploads refused, no archive: finished jobs are kept a while, then forgotten). */
  readonly databaseUrl?: string;
  readonly jobs?: {
    readonly queueMax?: number;
    readonly maxAttempts?: number;
    readonly lease_ms?: number;
    readonly inlineInputMaxBytes?: number;
    /** Finished jobs awaiting the archive before submits are refused. */
    readonly finishedMax?: number;
  };
  readonly limits?: {
    /** The gRPC server's largest message (default 64 MiB). */
    readonly messageBytesMax?: number;
    /** The largest job input (default 60 MiB). */
    readonly inputMaxBytes?: number;
    readonly upload?: Partial<UploadLimits>;
  };
  /** pino fits. Default: silent. */
  readonly logger?: DriverLogger;
}

export interface RunningCoordinator {
  readonly id: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** host:port clients reach (the bound port). */
  readonly grpcAddress: string;
  readonly httpAddress: string;
  readonly node: RaftNode;
  readonly machine: JobStateMachine;
  readonly service: CoordinatorService;
  /** Stops the services, then the Raft node, then the store's pool. */
  close(): Promise<void>;
}

function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const self = options.peers.get(options.nodeId);
  if (self === undefined) throw new InvalidArgumentError(`peers must include this coordinator (${options.nodeId})`);
  const logger = options.logger ?? silentLogger;
  const jobs = options.jobs ?? {};
  const serviceOptions: ServiceOptions = {
    lease_ms: jobs.lease_ms ?? DEFAULT_SERVICE_OPTIONS.lease_ms,
    inlineInputMaxBytes: jobs.inlineInputMaxBytes ?? DEFAULT_SERVICE_OPTIONS.inlineInputMaxBytes,
    inputMaxBytes: options.limits?.inputMaxBytes ?? DEFAULT_SERVICE_OPTIONS.inputMaxBytes,
    messageBytesMax: options.limits?.messageBytesMax ?? DEFAULT_SERVICE_OPTIONS.messageBytesMax,
    upload: { ...DEFAULT_UPLOAD_LIMITS, ...options.limits?.upload },
    spoolDir: join(options.dataDir, 'uploads'),
    tick_ms: DEFAULT_SERVICE_OPTIONS.tick_ms,
    archiveBatch: DEFAULT_SERVICE_OPTIONS.archiveBatch,
    finishedRetain_ms: DEFAULT_SERVICE_OPTIONS.finishedRetain_ms,
  };
  if (!Number.isSafeInteger(serviceOptions.lease_ms) || serviceOptions.lease_ms < 300)
    throw new InvalidArgumentError(`jobs lease_ms must be an integer >= 300, got ${serviceOptions.lease_ms}`);
  // Spooled uploads of an earlier run (it stopped mid-upload) are never resumed.
  rmSync(serviceOptions.spoolDir, { recursive: true, force: true });
  mkdirSync(serviceOptions.spoolDir, { recursive: true });
  const machine = new JobStateMachine({
    ...(jobs.queueMax === undefined ? {} : { queueMax: jobs.queueMax }),
    ...(jobs.maxAttempts === undefined ? {} : { defaultMaxAttempts: jobs.maxAttempts }),
    ...(jobs.finishedMax === undefined ? {} : { finishedMax: jobs.finishedMax }),
    // The leader sends inputs up to the inline bound through the log; the machine refuses only far larger ones. Every jobs.* setting must be the same on every coordinator (they shape replicated decisions).
    inlineInputBytesMax: Math.max(serviceOptions.inlineInputMaxBytes, 4 << 20),
  });
  const databaseUrl = options.databaseUrl ?? '';
  // createStore does no I/O: a database that is down at start only delays archiving and uploads.
  const store: CoordinatorStore | null = databaseUrl === '' ? null : createStore(databaseUrl);
  let node: RaftNode;
  try {
    node = await RaftNode.start({
      id: options.nodeId,
      clusterId: options.clusterId ?? 'zkp',
      dataDir: join(options.dataDir, 'raft'),
      peers: options.peers,
      join: options.join ?? false,
      stateMachine: new ExactlyOnceStateMachine(machine),
      logger,
      ...(options.raft?.tick_ms === undefined ? {} : { tick_ms: options.raft.tick_ms }),
      ...(options.raft?.electionTicks === undefined ? {} : { electionTicks: options.raft.electionTicks }),
      ...(options.raft?.heartbeatTicks === undefined ? {} : { heartbeatTicks: options.raft.heartbeatTicks }),
      ...(options.raft?.snapshotEvery_entries === undefined ? {} : { snapshotEvery_entries: options.raft.snapshotEvery_entries }),
      ...(options.raft?.seed === undefined ? {} : { seed: options.raft.seed }),
    });
  } catch (error) {
    await store?.close();
    throw error;
  }
  const service = new CoordinatorService({ node, machine, store, options: serviceOptions, logger });
  const apiListen = options.apiListen ?? self.clientAddress;
  const httpListen = options.httpListen ?? '127.0.0.1:0';
  let ports: { grpcPort: number; httpPort: number };
  try {
    ports = await service.listen(apiListen, httpListen);
  } catch (error) {
    await service.close();
    await node.close();
    await store?.close();
    throw error;
  }
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await handOffLeadership(node, logger);
      await service.close();
      await node.close();
      await store?.close();
    })();
    return closing;
  };
  logger.info({ grpcPort: ports.grpcPort, httpPort: ports.httpPort, store: store === null ? 'none' : 'configured' }, 'coordinator serving');
  return {
    id: options.nodeId,
    ...ports,
    grpcAddress: `${hostOf(apiListen)}:${ports.grpcPort}`,
    httpAddress: service.ctx.httpAddress() ?? `${hostOf(httpListen)}:${ports.httpPort}`,
    node,
    machine,
    service,
    close,
  };
}

/**
 * A leader that is about to stop hands leadership to a caught-up voter first,
 * so the cluster does not wait an election timeout for it (best effort: it
 * stops anyway after two election timeouts).
 */
async function handOffLeadership(node: RaftNode, logger: DriverLogger): Promise<void> {
  const status = node.status();
  if (status.role !== 'leader') return;
  const target = status.members.find((member) => member.id !== node.id && member.role === 'voter');
  if (target === undefined) return;
  const wait_ms = 2 * node.options.electionTicks * node.options.tick_ms;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(finish, wait_ms);
    function finish(): void {
      clearTimeout(timer);
      node.off('leader-change', onChange);
      resolve();
    }
    function onChange(): void {
      if (node.status().role !== 'leader') finish();
    }
    node.on('leader-change', onChange);
    try {
      node.transferLeadership(target.id);
      logger.info({ to: target.id }, 'handing leadership over before closing');
    } catch (error) {
      logger.debug({ error: (error as Error).message }, 'no leadership hand-off');
      finish();
    }
  });
}

/** The typed config (src/config) as coordinator options. */
export function coordinatorOptionsOf(config: CoordinatorConfig, logger: DriverLogger): CoordinatorOptions {
  return {
    nodeId: config.raft.nodeId,
    clusterId: config.raft.clusterId,
    peers: config.raft.peers,
    dataDir: config.raft.dataDir,
    join: config.raft.join,
    raft: {
      tick_ms: config.raft.tickMs,
      electionTicks: config.raft.electionTicks,
      heartbeatTicks: config.raft.heartbeatTicks,
      snapshotEvery_entries: config.raft.snapshotEvery,
    },
    apiListen: config.api.listen,
    httpListen: config.http.listen,
    databaseUrl: config.store.databaseUrl,
    jobs: {
      queueMax: config.jobs.queueMax,
      maxAttempts: config.jobs.maxAttempts,
      lease_ms: config.jobs.leaseMs,
      inlineInputMaxBytes: config.jobs.inlineInputMaxBytes,
    },
    logger,
  };
}

/** What `zkp coordinator` runs: the process for a validated config (src/config). */
export function runCoordinatorFromConfig(config: CoordinatorConfig): Promise<RunningCoordinator> {
  const { logger: _unused, ...options } = coordinatorOptionsOf(config, silentLogger);
  return runCoordinatorProcess(options, config.log.level);
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/**
 * Runs one coordinator process until SIGTERM or SIGINT: logs (pino JSON) on
 * stderr, one JSON line per event on stdout ("ready" once serving, then
 * "leader-change", "fatal", "closed").
 */
export async function runCoordinatorProcess(options: Omit<CoordinatorOptions, 'logger'>, logLevel = 'info'): Promise<RunningCoordinator> {
  const logger = pino({ level: logLevel, base: { coordinator: options.nodeId } }, pino.destination(2));
  const running = await startCoordinator({ ...options, logger });
  const { node } = running;
  node.on('leader-change', (change) => emit({ event: 'leader-change', id: running.id, ...change, time_ms: Date.now() }));
  node.on('fatal', (error: Error) => {
    emit({ event: 'fatal', id: running.id, error: error.message });
    process.exit(70);
  });
  emit({ event: 'ready', id: running.id, grpc: running.grpcAddress, http: running.httpAddress, raftPort: node.raftPort, pid: process.pid });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'closing');
    running.close().then(
      () => {
        emit({ event: 'closed', id: running.id });
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`coordinator: closing failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(70);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return running;
}
