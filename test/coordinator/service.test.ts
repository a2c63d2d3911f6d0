/**
 * The coordinator's services on 3 in-process coordinators (real RaftNodes on
 * loopback, the real PostgreSQL in a database of its own): circuits, jobs,
 * redirects, a stub worker proving with the real prover, results checked
 * with snarkjs, the archive, health, reflection.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import { type SubmitJobsOutcome, ZkpClient } from '../../src/client/index.ts';
import type { CircuitMessage, JobMessage } from '../../src/api/types.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { createStore, type Store } from '../../src/store/index.ts';
import {
  circuitFiles,
  Clients,
  eventually,
  freshDatabase,
  grpcError,
  InProcessCluster,
  metadataOf,
  mulchain,
  StubWorker,
  sha256,
  uploadCircuit,
  bits,
} from './service-harness.ts';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let cluster: InProcessCluster;
let circuit: BuiltCircuit;
/** Another circuit, for the witness-of-another-circuit case; built here so a fresh checkout's first build is not inside a test's timeout. */
let otherCircuit: BuiltCircuit;
let backend: ProverBackend;
let store: Store;
const clients = new Map<string, Clients>();

function clientsOf(address: string): Clients {
  let found = clients.get(address);
  if (found === undefined) {
    found = new Clients(address);
    clients.set(address, found);
  }
  return found;
}

beforeAll(async () => {
  circuit = await mulchain();
  otherCircuit = await bits();
  backend = await openBackend('native');
  database = await freshDatabase('zkp_service');
  store = createStore(database.url);
  cluster = await InProcessCluster.start(3, {
    databaseUrl: database.url,
    jobs: { lease_ms: 1_500 },
    limits: { messageBytesMax: 4 * 1024 * 1024, inputMaxBytes: 2 * 1024 * 1024 },
  });
});

afterAll(async () => {
  for (const c of clients.values()) c.close();
  await cluster?.close();
  await store?.close();
  await backend?.close();
  await database?.drop();
});

describe('coordinator service (3 in-process coordinators)', () => {
  let registered: CircuitMessage;

  it('a follower redirects a circuit upload to the leader, naming its client address', async () => {
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    const error = await grpcError(uploadCircuit(clientsOf(follower.grpcAddress), circuitFiles(circuit, 'mulchain')));
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(metadataOf(error, 'zkp-not-leader')).toBe('1');
    expect(metadataOf(error, 'zkp-leader-id')).toBe(leader.id);
    expect(metadataOf(error, 'zkp-leader-address')).toBe(leader.grpcAddress);
  });

  it('registers a circuit on the leader: sizes from the zkey, the vkey derived and stored', async () => {
    const leader = await cluster.leader();
    const response = await uploadCircuit(clientsOf(leader.grpcAddress), circuitFiles(circuit, 'mulchain'));
    registered = response.circuit;
    expect(response.existing).toBe(false);
    expect(registered.name).toBe('mulchain');
    expect(registered.n_constraints).toBe(circuit.nConstraints);
    expect(registered.n_public).toBe(circuit.nPublic);
    expect(registered.domain_size).toBe(2 ** circuit.power);
    const vkey = JSON.parse((await store.getArtifact(registered.vkey_sha256)).toString('utf8'));
    expect(vkey).toEqual(JSON.parse(fs.readFileSync(circuit.vkey, 'utf8')));
    // Again: the same zkey is the same circuit.
    const again = await uploadCircuit(clientsOf(leader.grpcAddress), circuitFiles(circuit, 'mulchain', true));
    expect(again.existing).toBe(true);
    expect(again.circuit.id).toBe(registered.id);
    // Every node answers reads of it (linearizable through ReadIndex on a follower).
    const follower = await cluster.follower();
    const read = await clientsOf(follower.grpcAddress).call<CircuitMessage>('job', 'GetCircuit', { circuit: 'mulchain' });
    expect(read.id).toBe(registered.id);
  });

  it('proves a submitted job on a stub worker; the proof verifies with snarkjs; the job is archived once', async () => {
    const leader = await cluster.leader();
    const worker = new StubWorker(cluster.addresses(), { id: 'w-honest', backend });
    await worker.start();
    try {
      const leaderClients = clientsOf(leader.grpcAddress);
      const submitted = await leaderClients.call<{ job: JobMessage; existing: boolean }>('job', 'SubmitJob', {
        circuit: 'mulchain',
        input_json: JSON.stringify({ a: '3', b: '11' }),
        idempotency_key: 'first-job',
      });
      expect(submitted.existing).toBe(false);
      // A worker was free, so the entry that queued the job also assigned it (the leader's `schedule` at the batch's end).
      expect(submitted.job.state).toBe('ASSIGNED');
      expect(submitted.job.worker_id).toBe('w-honest');
      const done = await eventually('the job to succeed', async () => {
        const job = await leaderClients.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
        return job.state === 'SUCCEEDED' ? job : undefined;
      });
      const vkey = JSON.parse(fs.readFileSync(circuit.vkey, 'utf8'));
      const module = await snarkjs();
      expect(await module.groth16.verify(vkey, JSON.parse(done.public_json), JSON.parse(done.proof_json))).toBe(true);
      expect(done.attempts).toBe(1);
      expect(done.worker_id).toBe('w-honest');
      // The same idempotency key returns the same job.
      const retried = await leaderClients.call<{ job: JobMessage; existing: boolean }>('job', 'SubmitJob', {
        circuit: 'mulchain',
        input_json: JSON.stringify({ a: '3', b: '11' }),
        idempotency_key: 'first-job',
      });
      expect(retried.existing).toBe(true);
      expect(retried.job.id).toBe(submitted.job.id);
      // The outbox drains into the archive; the job leaves the replicated state on every node.
      await eventually('the job to be archived and leave the state', () => {
        for (const node of cluster.nodes.values()) if (node.machine.job(submitted.job.id) !== undefined) return undefined;
        return true;
      });
      const archived = await store.getArchivedJob(submitted.job.id);
      expect(archived?.state).toBe('SUCCEEDED');
      expect(archived?.proof_json).toBe(done.proof_json);
      const read = await leaderClients.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
      expect(read.archived).toBe(true);
      expect(read.proof_json).toBe(done.proof_json);
    } finally {
      worker.stop();
    }
  });

  it('refuses bad input with a clear status: unknown circuit, malformed JSON, a witness of another circuit, a bad upload hash, an oversize message', async () => {
    const leader = await cluster.leader();
    const c = clientsOf(leader.grpcAddress);
    const unknown = await grpcError(c.call('job', 'SubmitJob', { circuit: 'no-such-circuit', input_json: '{"a":"1","b":"2"}' }));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toContain('"no-such-circuit" is not registered');

    const malformed = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', input_json: '{"a": 1,' }));
    expect(malformed.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(malformed.details).toMatch(/input_json: malformed JSON \(.+\)/);
    const notObject = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', input_json: '[1, 2]' }));
    expect(notObject.details).toContain('must be a JSON object');
    const badValue = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', input_json: '{"a": "x1", "b": 2}' }));
    expect(badValue.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badValue.details).toContain('signal a');

    // A witness of another circuit (bits) sent for mulchain.
    const other = otherCircuit;
    const module = await snarkjs();
    const wtns = { type: 'mem' as const, data: undefined as Uint8Array | undefined };
    await module.wtns.calculate({ values: Array.from({ length: 13 }, (_, i) => String(i + 1)) }, other.wasm, wtns);
    const mismatch = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', witness_wtns: Buffer.from(wtns.data!) }));
    expect(mismatch.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(metadataOf(mismatch, 'zkp-error-code')).toBe('MISMATCH');
    expect(mismatch.details).toMatch(/witness_wtns has \d+ values but circuit mulchain .* has 1503 variables/);
    const garbage = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', witness_wtns: Buffer.from('not a witness at all') }));
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);

    // An upload whose bytes do not hash to what the header says.
    const wrong = 'ab'.repeat(32);
    const badUpload = await grpcError(uploadCircuit(c, circuitFiles(circuit, 'mulchain-bad'), { zkey_sha256: wrong }));
    expect(badUpload.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(metadataOf(badUpload, 'zkp-error-code')).toBe('MISMATCH');
    expect(badUpload.details).toContain(`but the header says ${wrong}`);
    expect(badUpload.details).toContain(sha256(fs.readFileSync(circuit.zkey)));

    // Larger than the server's message bound (set to 4 MiB for this cluster).
    const huge = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', input_json: `{"a":"${'1'.repeat(5 * 1024 * 1024)}"}` }));
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(huge.details).toMatch(/larger than max/i);
    // Under the message bound but over the input bound: our own message.
    const big = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', input_json: `{"a":"${'1'.repeat(3 * 1024 * 1024)}"}` }));
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(big.details).toMatch(/input_json is \d+ bytes; a job's input may be at most 2097152 bytes/);
    // Nothing was queued by any of them.
    expect(leader.machine.counts().active).toBe(0);
  });

  it('a proof that does not verify is refused; the attempt fails and the job is proven by another worker', async () => {
    const leader = await cluster.leader();
    const c = clientsOf(leader.grpcAddress);
    const liar = new StubWorker(cluster.addresses(), { id: 'w-liar', backend, tamper: true });
    await liar.start();
    let honest: StubWorker | null = null;
    try {
      const submitted = await c.call<{ job: JobMessage }>('job', 'SubmitJob', {
        circuit: 'mulchain',
        input_json: JSON.stringify({ a: '5', b: '7' }),
        max_attempts: 10,
      });
      const ack = await eventually('the liar to report', () => liar.acks.find((a) => a.jobId === submitted.job.id));
      liar.stop();
      await c.call('worker', 'Deregister', { worker_id: 'w-liar' });
      expect(ack.accepted).toBe(false);
      expect(ack.reason).toContain('proof rejected: the proof does not verify');
      const requeued = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
      expect(requeued.state).toBe('QUEUED');
      expect(requeued.error_code).toBe('');
      honest = new StubWorker(cluster.addresses(), { id: 'w-honest-2', backend });
      await honest.start();
      const done = await eventually('the job to succeed on the honest worker', async () => {
        const job = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
        return job.state === 'SUCCEEDED' ? job : undefined;
      });
      expect(done.worker_id).toBe('w-honest-2');
      expect(done.attempts).toBeGreaterThanOrEqual(2);
      expect(honest.completed).toEqual([submitted.job.id]);
    } finally {
      liar.stop();
      honest?.stop();
      await c.call('worker', 'Deregister', { worker_id: 'w-honest-2' }).catch(() => undefined);
    }
  });

  it('watches a job to its end, cancels a running job on its worker, and pages through jobs', async () => {
    const leader = await cluster.leader();
    const c = clientsOf(leader.grpcAddress);
    const slow = new StubWorker(cluster.addresses(), { id: 'w-slow', backend, delay_ms: 60_000 });
    await slow.start();
    try {
      const submitted = await c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: JSON.stringify({ a: '2', b: '9' }) });
      const follower = await cluster.follower();
      const events: JobMessage[] = [];
      const watched = new Promise<void>((resolve, reject) => {
        const stream = (clientsOf(follower.grpcAddress).job.WatchJob as (req: object) => grpc.ClientReadableStream<{ job: JobMessage }>).call(
          clientsOf(follower.grpcAddress).job,
          { job_id: submitted.job.id },
        );
        stream.on('data', (event: { job: JobMessage }) => events.push(event.job));
        stream.on('error', reject);
        stream.on('end', resolve);
      });
      await eventually('the job to run', async () => {
        const job = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
        return job.state === 'RUNNING' ? job : undefined;
      });
      const cancelled = await c.call<JobMessage>('job', 'CancelJob', { job_id: submitted.job.id });
      expect(cancelled.state).toBe('CANCELLED');
      await eventually('the worker to be told', () => (slow.cancelled.includes(submitted.job.id) ? true : undefined));
      await watched;
      expect(events[0]!.id).toBe(submitted.job.id);
      expect(events.map((e) => e.state)).toContain('RUNNING');
      expect(events[events.length - 1]!.state).toBe('CANCELLED');
      const again = await grpcError(c.call('job', 'CancelJob', { job_id: submitted.job.id }));
      expect([grpc.status.FAILED_PRECONDITION, grpc.status.NOT_FOUND]).toContain(again.code);
    } finally {
      slow.stop();
      await c.call('worker', 'Deregister', { worker_id: 'w-slow' }).catch(() => undefined);
    }
    // Paging: queue a few (no worker is registered now), list them two at a time.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: `{"a":"${i}","b":"1"}` })).job.id);
    const seen: string[] = [];
    let token = '';
    for (let page = 0; page < 10; page++) {
      const listed = await c.call<{ jobs: JobMessage[]; next_page_token: string }>('job', 'ListJobs', { states: ['QUEUED'], page_size: 2, page_token: token });
      seen.push(...listed.jobs.map((job) => job.id));
      token = listed.next_page_token;
      if (token === '') break;
    }
    expect(seen).toEqual(ids);
    for (const id of ids) await c.call('job', 'CancelJob', { job_id: id });
  });

  it('a worker that dies mid-proof loses its lease; the job is requeued and proven by another worker', async () => {
    const leader = await cluster.leader();
    const c = clientsOf(leader.grpcAddress);
    const doomed = new StubWorker(cluster.addresses(), { id: 'w-doomed', backend, delay_ms: 60_000 });
    await doomed.start();
    let rescuer: StubWorker | null = null;
    try {
      const submitted = await c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: JSON.stringify({ a: '4', b: '4' }) });
      await eventually('the doomed worker to start proving', async () => {
        const job = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
        return job.state === 'RUNNING' && job.worker_id === 'w-doomed' ? job : undefined;
      });
      doomed.stop(); // as kill -9: no deregistration, no more heartbeats
      rescuer = new StubWorker(cluster.addresses(), { id: 'w-rescuer', backend });
      await rescuer.start();
      const done = await eventually('the job to be proven by the rescuer', async () => {
        const job = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
        return job.state === 'SUCCEEDED' ? job : undefined;
      });
      expect(done.worker_id).toBe('w-rescuer');
      expect(done.attempts).toBe(2);
      expect(leader.machine.worker('w-doomed')?.alive).toBe(false);
    } finally {
      doomed.stop();
      rescuer?.stop();
      await c.call('worker', 'Deregister', { worker_id: 'w-rescuer' }).catch(() => undefined);
      await c.call('worker', 'Deregister', { worker_id: 'w-doomed' }).catch(() => undefined);
    }
  });

  it('a live worker that stops listing a job it holds loses it after three leases; the job goes back to the queue', async () => {
    const leader = await cluster.leader();
    const c = clientsOf(leader.grpcAddress);
    await c.call('worker', 'Register', { worker: { id: 'w-forgetful', address: 'here', backends: ['native'], threads: 1, slots: 1, resident_circuits: [] } });
    const submitted = await c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: '{"a":"6","b":"6"}', max_attempts: 5 });
    const beats = setInterval(() => {
      void c.call('worker', 'Heartbeat', { worker_id: 'w-forgetful', running_jobs: [], resident_circuits: [] }).catch(() => undefined);
    }, 300);
    try {
      await eventually('the job to be assigned to the forgetful worker', async () => {
        const job = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
        return job.worker_id === 'w-forgetful' && job.attempts === 1 ? job : undefined;
      });
      const started = Date.now();
      const retaken = await eventually(
        'the job to be taken back and assigned again',
        async () => {
          const job = await c.call<JobMessage>('job', 'GetJob', { job_id: submitted.job.id });
          return job.attempts >= 2 ? job : undefined;
        },
        20_000,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 1_500 - 1_000);
      expect(retaken.state === 'QUEUED' || retaken.state === 'ASSIGNED').toBe(true);
      expect(leader.machine.worker('w-forgetful')?.alive).toBe(true);
    } finally {
      clearInterval(beats);
      await c.call('job', 'CancelJob', { job_id: submitted.job.id }).catch(() => undefined);
      await c.call('worker', 'Deregister', { worker_id: 'w-forgetful' });
    }
  });
  it('SubmitJobs through a follower: each job accepted or refused on its own, in order; a repeated key is the same job', async () => {
    const follower = await cluster.follower();
    const client = new ZkpClient([follower.grpcAddress], { backoff_ms_min: 5, backoff_ms_max: 50 });
    try {
      const outcomes = await client.submitJobs([
        { circuit: 'mulchain', inputJson: '{"a":"2","b":"3"}', idempotencyKey: 'batch-1' },
        { circuit: 'mulchain', inputJson: '{"a": 1,' },
        { circuit: 'no-such-circuit', inputJson: '{"a":"1","b":"2"}' },
        { circuit: 'mulchain', inputJson: '{"a":"4","b":"5"}', priority: 3 },
        { circuit: 'mulchain', inputJson: '{"a":"2","b":"3"}', idempotencyKey: 'batch-1' },
      ]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, true, true]);
      const [first, malformed, unknown, second, again] = outcomes as [
        Extract<SubmitJobsOutcome, { ok: true }>,
        Extract<SubmitJobsOutcome, { ok: false }>,
        Extract<SubmitJobsOutcome, { ok: false }>,
        Extract<SubmitJobsOutcome, { ok: true }>,
        Extract<SubmitJobsOutcome, { ok: true }>,
      ];
      expect(malformed.error.code).toBe('INVALID_ARGUMENT');
      expect(malformed.error.message).toMatch(/not valid JSON/); // the SDK's own check
      expect(unknown.error.code).toBe('NOT_FOUND');
      expect(unknown.error.message).toContain('"no-such-circuit" is not registered');
      expect(second.job.priority).toBe(3);
      expect(second.job.id).not.toBe(first.job.id);
      expect(again.job.id).toBe(first.job.id);
      expect(first.existing || again.existing).toBe(true);
      // Accepted means replicated: every coordinator has them (stale reads answer from each node's own state).
      for (const address of cluster.addresses()) {
        await eventually(`${address} to hold the batch's jobs`, async () => {
          const c = clientsOf(address);
          const jobs = await Promise.all(
            [first, second].map((o) => c.call<JobMessage>('job', 'GetJob', { job_id: o.job.id, stale_ok: true }).catch(() => null)),
          );
          return jobs.every((j) => j !== null && j.state === 'QUEUED') ? true : undefined;
        });
      }
      await expect(client.submitJobs([])).resolves.toEqual([]);
      const leader = await cluster.leader();
      // The coordinator's own per-job refusal, past the SDK.
      const raw = await clientsOf(leader.grpcAddress).call<{ results: { accepted: unknown; error_code: string; error_message: string }[] }>(
        'job',
        'SubmitJobs',
        {
          jobs: [
            { circuit: 'mulchain', input_json: '{"a": 1,', idempotency_key: 'raw-1' },
            { circuit: 'mulchain', input_json: '{"a":"7","b":"8"}', idempotency_key: 'raw-2' },
          ],
        },
      );
      expect(raw.results.map((r) => r.error_code)).toEqual(['INVALID_ARGUMENT', '']);
      expect(raw.results[0]!.error_message).toMatch(/input_json: malformed JSON/);
      expect(raw.results[0]!.accepted).toBeNull();
      const rawAccepted = raw.results[1]!.accepted as { job: JobMessage };
      const tooMany = await grpcError(
        clientsOf(leader.grpcAddress).call('job', 'SubmitJobs', { jobs: Array.from({ length: 1001 }, () => ({ circuit: 'mulchain', input_json: '{}' })) }),
      );
      expect(tooMany.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(tooMany.details).toContain('at most 1000 per call');
      for (const id of [first.job.id, second.job.id, rawAccepted.job.id]) await client.cancelJob(id);
    } finally {
      client.close();
    }
  });
});
