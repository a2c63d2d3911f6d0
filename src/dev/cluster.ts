/**
 * The dev cluster: the embedded database, 3 coordinators and 1 worker as
 * separate processes on loopback, each configured through its ZKP_*
 * environment exactly as a user would configure it, and DIR/cluster.json
 * naming every process (role, id, pid, gRPC address, health URL).
 *
 * The state directory keeps everything between runs (the database, the Raft
 * logs, the worker's circuit cache, logs/); a second run reuses the ports
 * recorded in cluster.json, because the Raft logs remember the members'
 * addresses.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, InUseError } from '../errors/index.ts';
import { freePort, tryListen } from '../net/free-port.ts';
import { processEntry } from '../runtime/entry.ts';
import { PACKAGE_ROOT } from '../runtime/package-root.ts';
import { DevChild, type ChildSpec } from './child.ts';

const ZKP_BIN = join(PACKAGE_ROOT, 'bin', 'zkp.js');
const EMBEDDED_DATABASE_MAIN = processEntry('../store/embedded-main.ts', import.meta.url);
export const CLUSTER_FILE = 'cluster.json';

export interface DevClusterOptions {
  readonly stateDir: string;
  readonly coordinators: number;
  readonly workers: number;
  readonly logLevel: string;
  /** Called with one line per step, for the terminal. */
  readonly say: (line: string) => void;
}

/** The ports a dev cluster listens on, kept in cluster.json so a restart finds its Raft peers where they were. */
interface PortPlan {
  readonly database: number;
  readonly coordinators: { readonly id: string; readonly raft: number; readonly grpc: number; readonly http: number }[];
}

export interface ClusterFileProcess {
  readonly role: 'coordinator' | 'worker' | 'database';
  readonly id: string;
  readonly pid: number | null;
  readonly grpc: string | null;
  readonly health: string | null;
  readonly raft?: string;
  readonly url?: string;
  readonly log: string;
}

export interface ClusterFile {
  readonly version: 1;
  readonly started_at: string;
  readonly state_dir: string;
  readonly ports: PortPlan;
  readonly processes: ClusterFileProcess[];
}

const COORDINATOR_IDS = ['a', 'b', 'c', 'd', 'e'];

async function planPorts(stateDir: string, coordinators: number): Promise<PortPlan> {
  const file = join(stateDir, CLUSTER_FILE);
  if (existsSync(file)) {
    const previous = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterFile>;
    const plan = previous.ports;
    if (plan !== undefined && plan.coordinators.length === coordinators) {
      for (const port of [plan.database, ...plan.coordinators.flatMap((c) => [c.raft, c.grpc, c.http])]) {
        if ((await tryListen(port)) === null) {
          throw new InUseError(`port ${port} recorded in ${file} is taken: is this dev cluster already running? Stop it (Ctrl-C) or use another --state-dir`);
        }
      }
      return plan;
    }
  }
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const list: PortPlan['coordinators'] = [];
  for (const id of COORDINATOR_IDS.slice(0, coordinators)) list.push({ id, raft: await next(), grpc: await next(), http: await next() });
  return { database: await next(), coordinators: list };
}

export class DevCluster {
  readonly children: DevChild[] = [];
  private constructor(
    readonly options: DevClusterOptions,
    readonly ports: PortPlan,
    readonly databaseUrl: string,
  ) {}

  /** Client addresses of the coordinators (host:port). */
  get coordinatorAddresses(): string[] {
    return this.ports.coordinators.map((c) => `127.0.0.1:${c.grpc}`);
  }

  static async start(options: DevClusterOptions): Promise<DevCluster> {
    if (![3, 5].includes(options.coordinators) && options.coordinators !== 1) {
      throw new InvalidArgumentError(`dev.coordinators must be 1, 3 or 5, got ${options.coordinators}`);
    }
    if (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > 16) {
      throw new InvalidArgumentError(`dev.workers must be an integer in 0..16, got ${options.workers}`);
    }
    const stateDir = resolve(options.stateDir);
    const logs = join(stateDir, 'logs');
    mkdirSync(logs, { recursive: true });
    const ports = await planPorts(stateDir, options.coordinators);
    const databaseUrl = `postgresql://postgres@127.0.0.1:${ports.database}/postgres`;
    const cluster = new DevCluster({ ...options, stateDir }, ports, databaseUrl);
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
    const database = new DevChild({
      role: 'database',
      id: 'db',
      args: [...EMBEDDED_DATABASE_MAIN.execArgv, EMBEDDED_DATABASE_MAIN.path, '--data-dir', join(stateDir, 'database'), '--port', String(this.ports.database)],
      env: {},
      logPath: join(logs, 'database.log'),
      ready_ms_max: 60_000,
    });
    this.children.push(database);
    say(`starting the embedded database (PGlite) on 127.0.0.1:${this.ports.database}`);
    await database.start();

    const peers = this.ports.coordinators.map((c) => `${c.id}@127.0.0.1:${c.raft}/127.0.0.1:${c.grpc}`).join(',');
    const coordinators = this.ports.coordinators.map(
      (c) =>
        new DevChild({
          role: 'coordinator',
          id: c.id,
          args: [ZKP_BIN, 'coordinator'],
          env: {
            ZKP_RAFT_NODE_ID: c.id,
            ZKP_RAFT_CLUSTER_ID: 'dev',
            ZKP_RAFT_PEERS: peers,
            ZKP_RAFT_DATA_DIR: join(stateDir, `coordinator-${c.id}`),
            ZKP_API_LISTEN: `127.0.0.1:${c.grpc}`,
            ZKP_HTTP_LISTEN: `127.0.0.1:${c.http}`,
            ZKP_STORE_DATABASE_URL: this.databaseUrl,
            ZKP_LOG_LEVEL: this.options.logLevel,
          },
          logPath: join(logs, `coordinator-${c.id}.log`),
          ready_ms_max: 60_000,
        }),
    );
    this.children.push(...coordinators);
    say(`starting ${coordinators.length} coordinators (${this.coordinatorAddresses.join(', ')})`);
    await Promise.all(coordinators.map((child) => child.start()));

    const workers = Array.from(
      { length: this.options.workers },
      (_, i) =>
        new DevChild({
          role: 'worker',
          id: `w${i + 1}`,
          args: [ZKP_BIN, 'worker'],
          env: {
            ZKP_WORKER_ID: `w${i + 1}`,
            ZKP_COORDINATORS: this.coordinatorAddresses.join(','),
            ZKP_WORKER_CACHE_DIR: join(stateDir, `worker-w${i + 1}-cache`),
            ZKP_LOG_LEVEL: this.options.logLevel,
          },
          logPath: join(logs, `worker-w${i + 1}.log`),
          ready_ms_max: 120_000,
        }),
    );
    this.children.push(...workers);
    if (workers.length > 0) say(`starting ${workers.length} worker${workers.length === 1 ? '' : 's'}`);
    await Promise.all(workers.map((child) => child.start()));
    this.writeClusterFile();
  }

  /** DIR/cluster.json as it stands now (pids of running processes). */
  writeClusterFile(): string {
    const processes: ClusterFileProcess[] = this.children.map((child) => {
      const spec = child.spec;
      const coordinator = this.ports.coordinators.find((c) => c.id === spec.id);
      if (spec.role === 'coordinator' && coordinator !== undefined) {
        return {
          role: 'coordinator',
          id: spec.id,
          pid: child.pid,
          grpc: `127.0.0.1:${coordinator.grpc}`,
          health: `http://127.0.0.1:${coordinator.http}/health`,
          raft: `127.0.0.1:${coordinator.raft}`,
          log: spec.logPath,
        };
      }
      if (spec.role === 'database')
        return { role: 'database', id: spec.id, pid: child.pid, grpc: null, health: null, url: this.databaseUrl, log: spec.logPath };
      return { role: spec.role, id: spec.id, pid: child.pid, grpc: null, health: null, log: spec.logPath };
    });
    const file: ClusterFile = { version: 1, started_at: new Date().toISOString(), state_dir: this.options.stateDir, ports: this.ports, processes };
    const path = join(this.options.stateDir, CLUSTER_FILE);
    writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
    return path;
  }

  /** Workers first (they drain), then coordinators, then the database. */
  async stop(): Promise<void> {
    const order: ChildSpec['role'][] = ['worker', 'coordinator', 'database'];
    for (const role of order) {
      await Promise.all(this.children.filter((child) => child.spec.role === role).map((child) => child.stop(role === 'worker' ? 35_000 : 10_000)));
    }
  }
}
