/**
 * A tiny real gRPC server speaking zkp.v1 JobService/AdminService on
 * loopback, for the router's tests: a follower answers with the leader
 * redirect exactly as the coordinator does (src/api/status.ts), a leader
 * answers a few methods from memory. It tests the routing rules, not the
 * coordinator.
 */
import * as grpc from '@grpc/grpc-js';
import { adminServiceClient, jobServiceClient } from '../../src/api/load.ts';
import { toServiceError } from '../../src/api/status.ts';
import type { JobMessage, JobStateName } from '../../src/api/types.ts';
import { NotLeaderError, type ZkpError } from '../../src/errors/index.ts';

export type FakeMode =
  | { kind: 'leader' }
  | { kind: 'follower'; leaderId: string | null; leaderAddress: string | null }
  | { kind: 'hang' }
  | { kind: 'fail'; error: ZkpError };

export interface FakeCoordinator {
  readonly id: string;
  readonly address: string;
  mode: FakeMode;
  /** Every method call received, in order. */
  readonly calls: string[];
  /** Jobs submitted here, by idempotency key. */
  readonly jobs: Map<string, JobMessage>;
  /** Bytes received per artifact kind by RegisterCircuit. */
  readonly uploads: Map<string, number>[];
  /** Headers received by RegisterCircuit. */
  readonly headers: Record<string, unknown>[];
  /** When set, a new WatchJob stream gets the job in this state first (as the coordinator sends the job now); else only headers. */
  watchState: JobStateName | null;
  /** Sends an event to every open WatchJob stream (and sets watchState); `end` closes them. */
  emit(state: JobStateName, end?: boolean): void;
  /** Fails every open WatchJob stream with this error. */
  breakWatches(error: ZkpError): void;
  stop(): Promise<void>;
  kill(): void;
}

/** A job as the fake answers it; a SUCCEEDED one carries a proof, a FAILED one an error. */
function job(id: string, state: JobStateName, key = ''): JobMessage {
  const succeeded = state === 'SUCCEEDED';
  const failed = state === 'FAILED';
  return {
    id,
    circuit_id: 'c',
    state,
    priority: 0,
    deadline_ms: 0,
    idempotency_key: key,
    attempts: 0,
    max_attempts: 3,
    worker_id: '',
    progress: null,
    error_code: failed ? 'MISMATCH' : '',
    error_message: failed ? 'the witness belongs to another circuit' : '',
    proof_json: succeeded ? '{"protocol":"groth16"}' : '',
    public_json: succeeded ? '["33"]' : '',
    submitted_ms: 0,
    started_ms: 0,
    finished_ms: 0,
    prove_ms: 0,
    archived: false,
  };
}

export async function startFakeCoordinator(id: string, mode: FakeMode = { kind: 'leader' }): Promise<FakeCoordinator> {
  const server = new grpc.Server();
  const watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  // Calls held by 'hang' mode; answered (never) until the server stops.
  const hung: (() => void)[] = [];
  const fake = {
    id,
    address: '',
    mode,
    calls: [] as string[],
    jobs: new Map<string, JobMessage>(),
    uploads: [] as Map<string, number>[],
    headers: [] as Record<string, unknown>[],
    watchState: null as JobStateName | null,
    emit(state: JobStateName, end = false) {
      fake.watchState = state;
      for (const call of watches) {
        call.write({ job: job('job-1', state) });
        if (end) call.end();
      }
      if (end) watches.clear();
    },
    breakWatches(error: ZkpError) {
      for (const call of watches) call.emit('error', toServiceError(error));
      watches.clear();
    },
    async stop() {
      for (const release of hung) release();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
    kill() {
      server.forceShutdown();
    },
  } satisfies Omit<FakeCoordinator, 'address'> & { address: string };

  /** null: go on as the leader; otherwise the error to answer (or 'hang'). */
  function refusal(): Partial<grpc.StatusObject> | 'hang' | null {
    const current = fake.mode;
    if (current.kind === 'leader') return null;
    if (current.kind === 'hang') return 'hang';
    if (current.kind === 'fail') return toServiceError(current.error);
    return toServiceError(new NotLeaderError(current.leaderId, current.leaderAddress));
  }

  function unary<Req, Res>(name: string, answer: (request: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      fake.calls.push(name);
      const refused = refusal();
      if (refused === 'hang') {
        hung.push(() => callback({ code: grpc.status.UNAVAILABLE, details: 'stopped' }));
        return;
      }
      if (refused !== null) callback(refused);
      else callback(null, answer(call.request));
    };
  }

  server.addService(jobServiceClient().service, {
    SubmitJob: unary<{ idempotency_key: string }, unknown>('SubmitJob', (request) => {
      const existing = fake.jobs.get(request.idempotency_key);
      if (existing !== undefined) return { job: existing, existing: true };
      const created = job(`job-${fake.jobs.size + 1}`, 'QUEUED', request.idempotency_key);
      fake.jobs.set(request.idempotency_key, created);
      return { job: created, existing: false };
    }),
    GetJob: unary<{ job_id: string }, JobMessage>('GetJob', (request) => job(request.job_id, 'QUEUED')),
    // Five jobs, two per page: the token is the index of the next job.
    ListJobs: unary<{ page_token: string; states: string[] }, unknown>('ListJobs', (request) => {
      const all = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'QUEUED'] as const;
      const matching = all.map((state, index) => job(`job-${index + 1}`, state)).filter((j) => request.states.length === 0 || request.states.includes(j.state));
      const from = request.page_token === '' ? 0 : Number(request.page_token);
      const next = from + 2 < matching.length ? String(from + 2) : '';
      return { jobs: matching.slice(from, from + 2), next_page_token: next };
    }),
    ListCircuits: unary<unknown, unknown>('ListCircuits', () => ({
      circuits: [{ id: 'ab'.repeat(32), name: 'mulchain', n_constraints: 1000, n_public: 1, zkey_bytes: 12345 }],
    })),
    CancelJob: unary<{ job_id: string }, JobMessage>('CancelJob', (request) => job(request.job_id, 'CANCELLED')),
    RegisterCircuit: (
      call: grpc.ServerReadableStream<{ chunk?: { kind: string; data: Buffer }; header?: unknown }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      fake.calls.push('RegisterCircuit');
      const refused = refusal();
      if (refused !== null && refused !== 'hang') {
        callback(refused);
        return;
      }
      const received = new Map<string, number>();
      call.on('data', (part) => {
        if (part.header !== undefined && part.header !== null) fake.headers.push(part.header);
        if (part.chunk !== undefined && part.chunk !== null) received.set(part.chunk.kind, (received.get(part.chunk.kind) ?? 0) + part.chunk.data.length);
      });
      call.on('end', () => {
        fake.uploads.push(received);
        callback(null, { circuit: { id: 'circuit-id', name: 'n' }, existing: false });
      });
    },
    WatchJob: (call: grpc.ServerWritableStream<{ job_id: string }, unknown>) => {
      fake.calls.push('WatchJob');
      const refused = refusal();
      if (refused === 'hang') return;
      if (refused !== null) {
        call.emit('error', refused);
        return;
      }
      watches.add(call);
      call.on('cancelled', () => watches.delete(call));
      if (fake.watchState === null) call.sendMetadata(new grpc.Metadata());
      else call.write({ job: job(call.request.job_id, fake.watchState) });
    },
  });
  server.addService(adminServiceClient().service, {
    Status: unary<unknown, unknown>('Status', () => ({ answered_by: id, leader_id: id })),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  fake.address = `127.0.0.1:${port}`;
  return fake;
}
