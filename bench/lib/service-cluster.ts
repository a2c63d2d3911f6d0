/**
 * The systems the service bench measures, as real processes on loopback:
 *
 * - ServiceCluster: the embedded database (PGlite behind pglite-socket, as
 *   `zkp dev` runs it, or a PostgreSQL server given by URL), 3 coordinators
 *   (`zkp coordinator`, configured through ZKP_* exactly as src/dev/cluster.ts
 *   does) and the workers; the leader found, killed with SIGKILL and its
 *   coordinator restarted on the same ports and data directory.
 * - FloorSystem: the floor process (service-floor.ts) and the workers.
 *
 * Workers are `zkp worker` processes in both, with the same settings.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledEntry } from '../../scripts/build-dist.ts';
import { freePort } from '../../src/net/free-port.ts';
import { BenchProcess } from './service-procs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ZKP_BIN = join(ROOT, 'bin', 'zkp.js');

/** bin/zkp.js, which runs dist/; refuses a dist/ older than the sources. */
function zkpBin(): string {
  compiledEntry('src/cli/main.ts');
  return ZKP_BIN;
}
/** The compiled database process (dist/), as `zkp dev` starts it. */
const EMBEDDED_DATABASE_SOURCE = 'src/store/embedded-main.ts';
const FLOOR_MAIN = join(ROOT, 'bench', 'lib', 'service-floor-main.ts');
const COORDINATOR_IDS = ['a', 'b', 'c', 'd', 'e'];
const HEALTH_TIMEOUT_MS = 1_000;

export interface WorkerSettings {
  readonly count: number;
  /** Node flags before the script (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  readonly nodeArgs?: readonly string[];
  /** ZKP_WORKER_BACKENDS: the proving backend first. */
  readonly backends: string;
  readonly logLevel: string;
}

/** /health of a coordinator (issue 14 item 9); the fields the bench reads. */
export interface Health {
  readonly status: string;
  readonly coordinator_id: string;
  readonly raft: {
    readonly state: string;
    readonly is_leader: boolean;
    readonly leader_id: string | null;
    readonly term: number;
    readonly commit_index: number;
    readonly applied_index: number;
  };
  readonly workers: { readonly total: number; readonly active: number };
  readonly jobs: { readonly queued: number; readonly running: number };
}

export interface CoordinatorProcess {
  readonly id: string;
  readonly grpcAddress: string;
  readonly healthUrl: string;
  readonly process: BenchProcess;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function distinctPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** Worker processes against `coordinators` (a cluster's addresses or the floor's). */
export class WorkerGroup {
  readonly processes: BenchProcess[];

  constructor(stateDir: string, tag: string, coordinators: readonly string[], settings: WorkerSettings) {
    this.processes = Array.from({ length: settings.count }, (_, i) => {
      const id = `${tag}-w${i + 1}`;
      return new BenchProcess({
        label: `worker ${id}`,
        args: [...(settings.nodeArgs ?? []), zkpBin(), 'worker'],
        env: {
          ZKP_WORKER_ID: id,
          ZKP_COORDINATORS: coordinators.join(','),
          ZKP_WORKER_CACHE_DIR: join(stateDir, `${id}-cache`),
          ZKP_WORKER_BACKENDS: settings.backends,
          // info: the worker logs "job started" and "job proven and verified" per job, which the bench reads for its timeline.
          ZKP_LOG_LEVEL: settings.logLevel,
        },
        logPath: join(stateDir, 'logs', `${id}.log`),
        ready_ms_max: 120_000,
      });
    });
  }

  /** Starts every worker; when one fails, stops the others before failing. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.processes.map((p) => p.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.stop();
      throw failed.reason;
    }
  }

  /** SIGTERM drains a worker; a bench worker has nothing left to finish, so the grace is short. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(10_000)));
  }

  get logPaths(): string[] {
    return this.processes.map((p) => p.spec.logPath);
  }
}

export interface ServiceClusterOptions {
  readonly stateDir: string;
  readonly coordinators: number;
  /** '' = start the embedded database. */
  readonly databaseUrl: string;
  readonly queueMax: number;
  readonly logLevel: string;
  readonly say: (line: string) => void;
  /** Node flags before the script (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

export class ServiceCluster {
  readonly coordinators: CoordinatorProcess[] = [];
  database: BenchProcess | null = null;
  databaseUrl = '';

  private constructor(readonly options: ServiceClusterOptions) {}

  get addresses(): string[] {
    return this.coordinators.map((c) => c.grpcAddress);
  }

  /** Every process of the cluster (database included), for CPU sampling. */
  get processes(): { readonly label: string; readonly process: BenchProcess }[] {
    return [
      ...(this.database === null ? [] : [{ label: 'database', process: this.database }]),
      ...this.coordinators.map((c) => ({ label: `coordinator ${c.id}`, process: c.process })),
    ];
  }

  static async start(options: ServiceClusterOptions): Promise<ServiceCluster> {
    const cluster = new ServiceCluster(options);
    try {
      await cluster.startAll();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async startAll(): Promise<void> {
    const { stateDir, say } = this.options;
    const logs = join(stateDir, 'logs');
    mkdirSync(logs, { recursive: true });
    const ports = await distinctPorts(1 + 3 * this.options.coordinators);
    if (this.options.databaseUrl === '') {
      const port = ports[0]!;
      this.database = new BenchProcess({
        label: 'database',
        args: [compiledEntry(EMBEDDED_DATABASE_SOURCE), '--data-dir', join(stateDir, 'database'), '--port', String(port)],
        env: {},
        logPath: join(logs, 'database.log'),
        ready_ms_max: 60_000,
      });
      say(`starting the embedded database (PGlite) on 127.0.0.1:${port}`);
      const ready = await this.database.start();
      this.databaseUrl = typeof ready.url === 'string' ? ready.url : `postgresql://postgres@127.0.0.1:${port}/postgres`;
    } else {
      this.databaseUrl = this.options.databaseUrl;
    }
    const plan = COORDINATOR_IDS.slice(0, this.options.coordinators).map((id, i) => ({
      id,
      raft: ports[1 + 3 * i]!,
      grpc: ports[2 + 3 * i]!,
      http: ports[3 + 3 * i]!,
    }));
    const peers = plan.map((c) => `${c.id}@127.0.0.1:${c.raft}/127.0.0.1:${c.grpc}`).join(',');
    for (const c of plan) {
      this.coordinators.push({
        id: c.id,
        grpcAddress: `127.0.0.1:${c.grpc}`,
        healthUrl: `http://127.0.0.1:${c.http}/health`,
        process: new BenchProcess({
          label: `coordinator ${c.id}`,
          args: [...(this.options.nodeArgs ?? []), zkpBin(), 'coordinator'],
          env: {
            ZKP_RAFT_NODE_ID: c.id,
            ZKP_RAFT_CLUSTER_ID: 'bench',
            ZKP_RAFT_PEERS: peers,
            ZKP_RAFT_DATA_DIR: join(stateDir, `coordinator-${c.id}`),
            ZKP_API_LISTEN: `127.0.0.1:${c.grpc}`,
            ZKP_HTTP_LISTEN: `127.0.0.1:${c.http}`,
            ZKP_STORE_DATABASE_URL: this.databaseUrl,
            ZKP_JOBS_QUEUE_MAX: String(this.options.queueMax),
            ZKP_LOG_LEVEL: this.options.logLevel,
          },
          logPath: join(logs, `coordinator-${c.id}.log`),
          ready_ms_max: 60_000,
        }),
      });
    }
    say(`starting ${plan.length} coordinators (${this.addresses.join(', ')})`);
    // allSettled: every start has ended (ready or failed) before a failure makes the caller stop them all.
    const results = await Promise.allSettled(this.coordinators.map((c) => c.process.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    await this.waitForLeader(30_000);
  }

  coordinator(id: string): CoordinatorProcess {
    const found = this.coordinators.find((c) => c.id === id);
    if (found === undefined) throw new Error(`no coordinator ${id}`);
    return found;
  }

  async health(id: string): Promise<Health | null> {
    const coordinator = this.coordinator(id);
    if (!coordinator.process.running) return null;
    try {
      const response = await fetch(coordinator.healthUrl, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      return (await response.json()) as Health;
    } catch {
      return null;
    }
  }

  /** The coordinator that says it leads (the highest term among those that do), within `timeout_ms`. */
  async waitForLeader(timeout_ms: number): Promise<{ id: string; health: Health }> {
    const deadline = performance.now() + timeout_ms;
    while (performance.now() < deadline) {
      const reports = await Promise.all(this.coordinators.map(async (c) => ({ id: c.id, health: await this.health(c.id) })));
      const leaders = reports
        .filter((r): r is { id: string; health: Health } => r.health?.raft.is_leader === true)
        .sort((a, b) => b.health.raft.term - a.health.raft.term);
      if (leaders.length > 0) return leaders[0]!;
      await sleep(20);
    }
    throw new Error(`no coordinator reported itself leader within ${timeout_ms} ms`);
  }

  /** Restarts a killed coordinator (same ports, same data directory) and waits until it follows `leaderId` with everything applied that was committed when it came back. */
  async restartAndCatchUp(id: string, leaderId: string, timeout_ms: number): Promise<void> {
    await this.coordinator(id).process.start();
    const deadline = performance.now() + timeout_ms;
    const leader = await this.health(leaderId);
    const target = leader?.raft.commit_index ?? 0;
    while (performance.now() < deadline) {
      const health = await this.health(id);
      if (health !== null && health.raft.leader_id !== null && health.raft.applied_index >= target) return;
      await sleep(20);
    }
    throw new Error(`coordinator ${id} did not catch up (applied >= ${target}) within ${timeout_ms} ms`);
  }

  /** Leaders elected (a coordinator's leader-change line saying it now leads) between two performance.now() times. */
  electionsBetween(from_perf: number, to_perf: number): number {
    let count = 0;
    for (const c of this.coordinators) {
      for (const event of c.process.events) {
        if (event.event === 'leader-change' && event.role === 'leader' && event.seen_ms >= from_perf && event.seen_ms <= to_perf) count++;
      }
    }
    return count;
  }

  async stop(): Promise<void> {
    await Promise.all(this.coordinators.map((c) => c.process.stop(10_000)));
    await this.database?.stop(10_000);
  }
}

export interface FloorSystemOptions {
  readonly stateDir: string;
  readonly circuitsFile: string;
  readonly queueMax: number;
  readonly nodeArgs?: readonly string[];
}

export class FloorSystem {
  readonly process: BenchProcess;
  address = '';

  constructor(readonly options: FloorSystemOptions) {
    mkdirSync(join(options.stateDir, 'logs'), { recursive: true });
    this.process = new BenchProcess({
      label: 'floor',
      args: [
        ...(options.nodeArgs ?? []),
        '--import',
        'tsx',
        FLOOR_MAIN,
        '--listen',
        '127.0.0.1:0',
        '--circuits',
        options.circuitsFile,
        '--queue-max',
        String(options.queueMax),
      ],
      env: {},
      logPath: join(options.stateDir, 'logs', 'floor.log'),
      ready_ms_max: 60_000,
    });
  }

  get logPath(): string {
    return this.process.spec.logPath;
  }

  async start(): Promise<void> {
    const ready = await this.process.start();
    if (typeof ready.grpc !== 'string') throw new Error('the floor did not say where it listens');
    this.address = ready.grpc;
  }

  async stop(): Promise<void> {
    await this.process.stop(5_000);
  }
}
