/**
 * Test helpers for the coordinator's services: a fresh PostgreSQL database
 * per test file, coordinators in this process on loopback, raw gRPC clients
 * (so tests see exact statuses and redirects), a circuit upload, and a stub
 * worker that proves with the real prover (native backend) over the real
 * WorkerService.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { freePort } from '../../src/net/free-port.ts';
import { type BuiltCircuit, buildCircuit, TEST_CIRCUITS } from '../../scripts/build-circuits.ts';
import { adminServiceClient, jobServiceClient, workerServiceClient } from '../../src/api/load.ts';
import { fromServiceError } from '../../src/api/status.ts';
import type {
  AssignmentMessage,
  CircuitMessage,
  JobMessage,
  RegisterCircuitRequestMessage,
  RegisterCircuitResponseMessage,
  WorkerInstructionMessage,
} from '../../src/api/types.ts';
import { type CoordinatorOptions, type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.ts';
import type { ZkpError } from '../../src/errors/index.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { prove } from '../../src/prover/groth16.ts';
import { parseWtns } from '../../src/prover/io/wtns.ts';
import { parseZkey } from '../../src/prover/io/zkey.ts';
import { calculateWitness, parseInputJson } from '../../src/prover/witness.ts';
import type { PeerInfo } from '../../src/raft/driver/options.ts';

export const ADMIN_URL = process.env.ZKP_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** A database of its own for one test file: created now, dropped by drop(). */
export async function freshDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function mulchain(): Promise<BuiltCircuit> {
  return buildCircuit(TEST_CIRCUITS.find((spec) => spec.name === 'mulchain')!);
}

export async function bits(): Promise<BuiltCircuit> {
  return buildCircuit(TEST_CIRCUITS.find((spec) => spec.name === 'bits')!);
}

// ---------------------------------------------------------------- clusters

export async function peersFor(ids: readonly string[]): Promise<Map<string, PeerInfo>> {
  const peers = new Map<string, PeerInfo>();
  for (const id of ids) peers.set(id, { raftAddress: `127.0.0.1:${await freePort()}`, clientAddress: `127.0.0.1:${await freePort()}` });
  return peers;
}

export type ClusterOverrides = Partial<Omit<CoordinatorOptions, 'nodeId' | 'peers' | 'dataDir'>>;

export class InProcessCluster {
  private constructor(
    readonly dir: string,
    readonly peers: Map<string, PeerInfo>,
    readonly nodes: Map<string, RunningCoordinator>,
  ) {}

  static async start(size: number, overrides: ClusterOverrides = {}): Promise<InProcessCluster> {
    const ids = Array.from({ length: size }, (_, index) => `c${index + 1}`);
    const peers = await peersFor(ids);
    const dir = tempDir('zkp-coord');
    const nodes = new Map<string, RunningCoordinator>();
    const started = await Promise.all(
      ids.map((id) =>
        startCoordinator({
          nodeId: id,
          clusterId: 'test',
          peers,
          dataDir: path.join(dir, id),
          // 20-tick elections (200-400 ms): three nodes share this process's event loop on a busy 2-core host.
          raft: { tick_ms: 10, electionTicks: 20, heartbeatTicks: 2 },
          ...overrides,
        }),
      ),
    );
    for (const node of started) nodes.set(node.id, node);
    return new InProcessCluster(dir, peers, nodes);
  }

  node(id: string): RunningCoordinator {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no coordinator ${id}`);
    return node;
  }

  /** The leader, once one leads and has applied its leader-start (waits up to timeout_ms). */
  async leader(timeout_ms = 10_000): Promise<RunningCoordinator> {
    const until = Date.now() + timeout_ms;
    while (Date.now() < until) {
      for (const node of this.nodes.values()) if (node.node.status().role === 'leader' && node.service.duties.leading) return node;
      await sleep(20);
    }
    throw new Error('no leader within the timeout');
  }

  async follower(): Promise<RunningCoordinator> {
    const leader = await this.leader();
    for (const node of this.nodes.values()) if (node !== leader) return node;
    throw new Error('no follower');
  }

  addresses(): string[] {
    return [...this.nodes.values()].map((node) => node.grpcAddress);
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.close()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeout_ms = 20_000, every_ms = 25): Promise<T> {
  const until = Date.now() + timeout_ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(every_ms);
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`);
}

// ---------------------------------------------------------------- clients

type Callback<T> = (error: grpc.ServiceError | null, response?: T) => void;
type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Raw gRPC clients of one coordinator address, with promise helpers. */
export class Clients {
  readonly job: AnyClient;
  readonly worker: AnyClient;
  readonly admin: AnyClient;

  constructor(
    readonly address: string,
    options: grpc.ChannelOptions = {},
  ) {
    const channel = { 'grpc.max_send_message_length': 256 * 1024 * 1024, 'grpc.max_receive_message_length': 256 * 1024 * 1024, ...options };
    this.job = new (jobServiceClient())(address, grpc.credentials.createInsecure(), channel) as unknown as AnyClient;
    this.worker = new (workerServiceClient())(address, grpc.credentials.createInsecure(), channel) as unknown as AnyClient;
    this.admin = new (adminServiceClient())(address, grpc.credentials.createInsecure(), channel) as unknown as AnyClient;
  }

  call<T>(service: 'job' | 'worker' | 'admin', method: string, request: object, timeout_ms = 30_000): Promise<T> {
    const client = this[service];
    return new Promise((resolve, reject) => {
      (client[method] as (req: object, options: grpc.CallOptions, cb: Callback<T>) => void).call(
        client,
        request,
        { deadline: Date.now() + timeout_ms },
        (error, response) => {
          if (error !== null) reject(error);
          else resolve(response as T);
        },
      );
    });
  }

  close(): void {
    this.job.close();
    this.worker.close();
    this.admin.close();
  }
}

/** Runs a call expected to fail; returns the gRPC error. */
export async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('the call succeeded but was expected to fail');
}

export function namedErrorOf(error: grpc.ServiceError): ZkpError {
  return fromServiceError(error, 'test');
}

export function metadataOf(error: grpc.ServiceError, key: string): string | undefined {
  const value = error.metadata?.get(key)[0];
  return value === undefined ? undefined : String(value);
}

export interface CircuitFiles {
  readonly name: string;
  readonly wasm: Buffer;
  readonly zkey: Buffer;
  readonly vkey: Buffer | null;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function circuitFiles(circuit: BuiltCircuit, name: string, withVkey = false): CircuitFiles {
  return { name, wasm: fs.readFileSync(circuit.wasm), zkey: fs.readFileSync(circuit.zkey), vkey: withVkey ? fs.readFileSync(circuit.vkey) : null };
}

/** Streams a RegisterCircuit upload: header (hashes may be overridden to test the check), then 64 KiB chunks. */
export function uploadCircuit(
  clients: Clients,
  files: CircuitFiles,
  header: Partial<Record<'wasm_sha256' | 'zkey_sha256' | 'vkey_sha256', string>> = {},
): Promise<RegisterCircuitResponseMessage> {
  return new Promise((resolve, reject) => {
    const call = (
      clients.job.RegisterCircuit as (
        options: grpc.CallOptions,
        cb: Callback<RegisterCircuitResponseMessage>,
      ) => grpc.ClientWritableStream<RegisterCircuitRequestMessage>
    ).call(clients.job, { deadline: Date.now() + 60_000 }, (error, response) => (error !== null ? reject(error) : resolve(response!)));
    call.write({
      header: {
        name: files.name,
        wasm_sha256: header.wasm_sha256 ?? sha256(files.wasm),
        zkey_sha256: header.zkey_sha256 ?? sha256(files.zkey),
        vkey_sha256: files.vkey === null ? '' : (header.vkey_sha256 ?? sha256(files.vkey)),
        wasm_bytes: files.wasm.length,
        zkey_bytes: files.zkey.length,
        vkey_bytes: files.vkey?.length ?? 0,
      },
    });
    const chunk = 64 * 1024;
    const kinds: ['WASM' | 'ZKEY' | 'VKEY', Buffer | null][] = [
      ['ZKEY', files.zkey],
      ['WASM', files.wasm],
      ['VKEY', files.vkey],
    ];
    for (const [kind, data] of kinds) {
      if (data === null) continue;
      for (let at = 0; at < data.length; at += chunk) call.write({ chunk: { kind, data: data.subarray(at, at + chunk) } });
    }
    call.end();
  });
}

/** Where a caller last found the leader (shared across its calls, so a dead address is not tried first every time). */
export interface LeaderHint {
  target: string | null;
}

/**
 * Follows leader redirects across the given addresses until the call succeeds
 * or timeout_ms passes (for failover tests): a redirect goes to the named
 * leader; no leader known, a server or transport UNAVAILABLE or a deadline
 * tries the next address after a short pause.
 */
export async function onLeader<T>(
  addresses: readonly string[],
  clientsOf: (address: string) => Clients,
  run: (clients: Clients) => Promise<T>,
  timeout_ms = 20_000,
  hint: LeaderHint = { target: null },
): Promise<T> {
  const until = Date.now() + timeout_ms;
  let at = Math.max(0, hint.target === null ? 0 : addresses.indexOf(hint.target));
  let target = hint.target !== null && addresses.includes(hint.target) ? hint.target : addresses[0]!;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const result = await run(clientsOf(target));
      hint.target = target;
      return result;
    } catch (error) {
      last = error;
      const status = (error as grpc.ServiceError).code;
      const named = namedErrorOf(error as grpc.ServiceError);
      const redirect = (named as { leaderAddress?: string | null }).leaderAddress;
      const retryable =
        named.code === 'NOT_LEADER' || named.code === 'UNAVAILABLE' || status === grpc.status.UNAVAILABLE || status === grpc.status.DEADLINE_EXCEEDED;
      if (!retryable) throw error;
      if (typeof redirect === 'string' && redirect !== target && addresses.includes(redirect)) target = redirect;
      else {
        at = (at + 1) % addresses.length;
        target = addresses[at]!;
        await sleep(50);
      }
    }
  }
  throw new Error(`no leader answered within ${timeout_ms} ms: ${(last as Error | undefined)?.message}`);
}

// ---------------------------------------------------------------- stub worker

export interface StubWorkerOptions {
  readonly id: string;
  readonly backend: ProverBackend;
  /** Local circuit files by circuit id (else the worker fetches them with FetchArtifact). */
  readonly files?: ReadonlyMap<string, BuiltCircuit>;
  /** Report a proof that does not verify (a broken worker). */
  readonly tamper?: boolean;
  /** Wait this long before proving (so a test can cancel or kill meanwhile). */
  readonly delay_ms?: number;
  readonly slots?: number;
}

/**
 * A worker written for the tests (the real one is src/worker): registers,
 * keeps its Assignments stream and heartbeats on whichever coordinator leads
 * (following redirects), proves each assignment with the real prover and
 * reports progress and the result.
 */
export class StubWorker {
  readonly completed: string[] = [];
  readonly cancelled: string[] = [];
  readonly acks: { jobId: string; accepted: boolean; reason: string }[] = [];
  readonly assignments: AssignmentMessage[] = [];
  /** Per job: how long each step took (ms), for the failover tests' logs. */
  readonly timings = new Map<string, Record<string, number>>();
  private readonly clients = new Map<string, Clients>();
  private stopped = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stream: grpc.ClientReadableStream<WorkerInstructionMessage> | null = null;
  private readonly running = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly cache = new Map<string, { wasm: Uint8Array; zkey: ReturnType<typeof parseZkey> }>();
  lease_ms = 0;

  constructor(
    private addresses: readonly string[],
    private readonly options: StubWorkerOptions,
  ) {}

  setAddresses(addresses: readonly string[]): void {
    this.addresses = addresses;
  }

  private clientsOf = (address: string): Clients => {
    let clients = this.clients.get(address);
    if (clients === undefined) {
      clients = new Clients(address);
      this.clients.set(address, clients);
    }
    return clients;
  };

  private readonly hint: LeaderHint = { target: null };

  private onLeader<T>(run: (clients: Clients) => Promise<T>): Promise<T> {
    return onLeader(this.addresses, this.clientsOf, run, 20_000, this.hint);
  }

  async start(): Promise<void> {
    const registered = await this.onLeader((clients) =>
      clients.call<{ worker_id: string; lease_ms: number }>('worker', 'Register', {
        worker: {
          id: this.options.id,
          address: 'localhost',
          backends: [this.options.backend.name],
          threads: 1,
          slots: this.options.slots ?? 1,
          resident_circuits: [],
        },
      }),
    );
    this.lease_ms = registered.lease_ms;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.lease_ms / 4)));
    void this.openStream();
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    try {
      const response = await this.onLeader((clients) =>
        clients.call<{ cancel_job_ids: string[] }>(
          'worker',
          'Heartbeat',
          { worker_id: this.options.id, running_jobs: [...this.running], resident_circuits: [...this.cache.keys()] },
          2_000,
        ),
      );
      for (const jobId of response.cancel_job_ids) this.cancel(jobId);
    } catch {
      // the next beat tries again
    }
  }

  private cancel(jobId: string): void {
    if (!this.cancelled.includes(jobId)) this.cancelled.push(jobId);
    this.running.delete(jobId);
  }

  private async openStream(): Promise<void> {
    while (!this.stopped) {
      const ended = await onLeader(
        this.addresses,
        this.clientsOf,
        (clients) =>
          new Promise<'ended'>((resolve, reject) => {
            const stream = (clients.worker.Assignments as (req: object) => grpc.ClientReadableStream<WorkerInstructionMessage>).call(clients.worker, {
              worker_id: this.options.id,
            });
            this.stream = stream;
            let opened = false;
            stream.on('metadata', () => {
              opened = true;
            });
            stream.on('data', (instruction: WorkerInstructionMessage) => {
              opened = true;
              this.onInstruction(instruction, clients);
            });
            stream.on('error', (error: grpc.ServiceError) => {
              if (error.code === grpc.status.CANCELLED && this.stopped) resolve('ended');
              else if (!opened || namedErrorOf(error).code === 'NOT_LEADER') reject(error);
              else resolve('ended');
            });
            stream.on('end', () => resolve('ended'));
          }),
        60_000,
      ).catch(() => 'ended' as const);
      if (ended === 'ended' && !this.stopped) await sleep(50);
    }
  }

  private onInstruction(instruction: WorkerInstructionMessage, _clients: Clients): void {
    if ('cancel_job_id' in instruction && instruction.instruction === 'cancel_job_id') {
      this.cancel(instruction.cancel_job_id);
      return;
    }
    if (!('assign' in instruction) || instruction.assign === undefined) return;
    const assignment = instruction.assign;
    const key = `${assignment.job_id}/${assignment.attempt}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.assignments.push(assignment);
    void this.work(assignment);
  }

  private async circuit(circuit: CircuitMessage): Promise<{ wasm: Uint8Array; zkey: ReturnType<typeof parseZkey> }> {
    const cached = this.cache.get(circuit.id);
    if (cached !== undefined) return cached;
    const local = this.options.files?.get(circuit.id);
    const wasm = local !== undefined ? fs.readFileSync(local.wasm) : await this.fetch(circuit.wasm_sha256);
    const zkeyBytes = local !== undefined ? fs.readFileSync(local.zkey) : await this.fetch(circuit.zkey_sha256);
    if (sha256(zkeyBytes) !== circuit.zkey_sha256) throw new Error(`zkey of ${circuit.id} fetched with the wrong hash`);
    const loaded = { wasm, zkey: parseZkey(zkeyBytes, `${circuit.name}.zkey`) };
    this.cache.set(circuit.id, loaded);
    return loaded;
  }

  /** FetchArtifact from any coordinator. */
  async fetch(sha: string): Promise<Buffer> {
    return this.onLeader(
      (clients) =>
        new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const stream = (clients.worker.FetchArtifact as (req: object) => grpc.ClientReadableStream<{ data: Buffer }>).call(clients.worker, { sha256: sha });
          stream.on('data', (chunk: { data: Buffer }) => chunks.push(chunk.data));
          stream.on('error', reject);
          stream.on('end', () => resolve(Buffer.concat(chunks)));
        }),
    );
  }

  private async work(assignment: AssignmentMessage): Promise<void> {
    const jobId = assignment.job_id;
    this.running.add(jobId);
    const timing: Record<string, number> = {};
    this.timings.set(`${jobId}/${assignment.attempt}`, timing);
    let mark = performance.now();
    const step = (name: string): void => {
      const now = performance.now();
      timing[name] = Math.round(now - mark);
      mark = now;
    };
    try {
      const report = { worker_id: this.options.id, job_id: jobId, attempt: assignment.attempt };
      await this.onLeader((clients) => clients.call('worker', 'ReportProgress', { ...report, progress: { stage: 'witness', done: 0, total: 1, fraction: 0 } }));
      step('progress');
      if (this.options.delay_ms !== undefined) await sleep(this.options.delay_ms);
      step('delay');
      if (!this.running.has(jobId) || this.stopped) return;
      const { wasm, zkey } = await this.circuit(assignment.circuit);
      step('circuit');
      const witness =
        assignment.input === 'witness_wtns'
          ? parseWtns(assignment.witness_wtns!, 'assignment')
          : assignment.input === 'input_sha256'
            ? assignment.input_is_wtns
              ? parseWtns(await this.fetch(assignment.input_sha256!), 'stored input')
              : await calculateWitness(parseInputJson((await this.fetch(assignment.input_sha256!)).toString('utf8'), 'stored input'), {
                  wasm,
                  inputLabel: 'stored input',
                })
            : await calculateWitness(parseInputJson(assignment.input_json!, 'input'), { wasm, inputLabel: 'input' });
      step('witness');
      await this.onLeader((clients) => clients.call('worker', 'ReportProgress', { ...report, progress: { stage: 'msm', done: 1, total: 2, fraction: 0.5 } }));
      step('progress2');
      const started = performance.now();
      const result = await prove(zkey, witness, { backend: this.options.backend });
      step('prove');
      if (!this.running.has(jobId) || this.stopped) return;
      const proof = this.options.tamper === true ? { ...result.proof, pi_a: [result.proof.pi_b[0]![0], result.proof.pi_a[1], '1'] } : result.proof;
      const ack = await this.onLeader((clients) =>
        clients.call<{ accepted: boolean; reason: string }>('worker', 'Complete', {
          ...report,
          proof_json: JSON.stringify(proof),
          public_json: JSON.stringify(result.publicSignals),
          prove_ms: Math.round(performance.now() - started),
          backend: this.options.backend.name,
        }),
      );
      step('complete');
      this.acks.push({ jobId, ...ack });
      if (ack.accepted) this.completed.push(jobId);
    } catch (error) {
      if (!this.stopped) this.acks.push({ jobId, accepted: false, reason: `worker error: ${(error as Error).message}` });
    } finally {
      this.running.delete(jobId);
    }
  }

  /** Stops like a crashed process (no deregistration). */
  stop(): void {
    this.stopped = true;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.stream?.cancel();
    for (const clients of this.clients.values()) clients.close();
    this.clients.clear();
  }
}

export function jobDone(job: JobMessage): boolean {
  return job.state === 'SUCCEEDED' || job.state === 'FAILED' || job.state === 'CANCELLED' || job.state === 'EXPIRED';
}
