/**
 * Real coordinator processes on loopback with the real PostgreSQL: kill -9
 * the leader while jobs run; a new leader within 2 s; every accepted job
 * finishes exactly once and is archived once; the killed coordinator
 * restarts and catches up; SIGTERM closes a coordinator cleanly.
 */
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/api/types.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import { ProcessCluster } from './process-harness.ts';
import { circuitFiles, Clients, eventually, freshDatabase, grpcError, metadataOf, mulchain, onLeader, StubWorker, uploadCircuit } from './service-harness.ts';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let cluster: ProcessCluster;
let backend: ProverBackend;
const clients = new Map<string, Clients>();
const clientsOf = (address: string): Clients => {
  let found = clients.get(address);
  if (found === undefined) {
    found = new Clients(address);
    clients.set(address, found);
  }
  return found;
};

beforeAll(async () => {
  backend = await openBackend('native');
  database = await freshDatabase('zkp_process');
  cluster = await ProcessCluster.start(3, ['--database-url', database.url, '--lease-ms', '2000', '--snapshot-every', '40']);
});

afterAll(async () => {
  for (const c of clients.values()) c.close();
  await cluster?.close();
  await backend?.close();
  await database?.drop();
});

describe('coordinator processes', () => {
  it('kill -9 of the leader while jobs run: a new leader within 2 s; every job finishes exactly once and is archived once', async () => {
    const circuit = await mulchain();
    const addresses = cluster.addresses();
    const registered = await onLeader(addresses, clientsOf, (c) => uploadCircuit(c, circuitFiles(circuit, 'mulchain')));
    const workers = [
      new StubWorker(addresses, { id: 'pw-1', backend, delay_ms: 800, slots: 2 }),
      new StubWorker(addresses, { id: 'pw-2', backend, delay_ms: 800, slots: 2 }),
    ];
    for (const worker of workers) await worker.start();
    try {
      const submit = (i: number) =>
        onLeader(addresses, clientsOf, (c) =>
          c.call<{ job: JobMessage }>('job', 'SubmitJob', {
            circuit: registered.circuit.id,
            input_json: JSON.stringify({ a: String(i + 2), b: '5' }),
            idempotency_key: `kill-${i}`,
          }),
        );
      const jobIds: string[] = [];
      for (let i = 0; i < 8; i++) jobIds.push((await submit(i)).job.id);
      // Kill the leader once some jobs are running.
      const oldLeader = await cluster.leader();
      await eventually('jobs to be running', () => (workers.some((w) => w.assignments.length > 0) ? true : undefined), 20_000);
      const killed_ms = Date.now();
      cluster.kill9(oldLeader);
      const newLeader = await cluster.leader(5_000, oldLeader);
      // From the new leader's own clock (its leader-change line), not this busy test process's.
      const elected = cluster.node(newLeader).events.find((e) => e.event === 'leader-change' && e.leaderId === newLeader && (e.time_ms as number) >= killed_ms);
      const failover_ms = ((elected?.time_ms as number | undefined) ?? Date.now()) - killed_ms;
      console.log(`[process] leader ${oldLeader} killed; ${newLeader} leads after ${failover_ms} ms (seen here after ${Date.now() - killed_ms} ms)`);
      for (const node of cluster.nodes) {
        for (const event of node.events.filter((e) => e.event === 'leader-change' && (e.time_ms as number) >= killed_ms)) {
          console.log(`[process]   ${node.id}: +${(event.time_ms as number) - killed_ms} ms leader ${String(event.leaderId)} (${String(event.role)})`);
        }
      }
      expect(failover_ms).toBeLessThan(2_000);
      // More submits during and after the failover; retried ones keep their job.
      for (let i = 8; i < 12; i++) jobIds.push((await submit(i)).job.id);
      expect((await submit(0)).job.id).toBe(jobIds[0]);
      const alive = addresses.filter((a) => !a.endsWith(`:${cluster.node(oldLeader).grpcPort}`));
      for (const worker of workers) worker.setAddresses(alive);
      let last: JobMessage[] = [];
      const finishing_ms = Date.now();
      const finished = await eventually(
        'every job to finish',
        async () => {
          const jobs = await Promise.all(jobIds.map((id) => onLeader(alive, clientsOf, (c) => c.call<JobMessage>('job', 'GetJob', { job_id: id }))));
          last = jobs;
          return jobs.every((job) => job.state === 'SUCCEEDED') ? jobs : undefined;
        },
        60_000,
        200,
      ).catch((error: unknown) => {
        console.log(JSON.stringify(last.map((j) => [j.id, j.state, j.attempts, j.worker_id, j.error_message])));
        console.log(
          JSON.stringify(workers.map((w) => ({ acks: w.acks, assigned: w.assignments.map((a) => `${a.job_id}/${a.attempt}`), cancelled: w.cancelled }))),
        );
        for (const node of cluster.nodes) console.log(node.id, node.stderr.slice(-3000));
        throw error;
      });
      console.log(`[process] all ${jobIds.length} jobs finished ${Date.now() - finishing_ms} ms after the last submit`);
      for (const job of finished) {
        const timing = workers.find((w) => w.timings.has(`${job.id}/${job.attempts}`))?.timings.get(`${job.id}/${job.attempts}`);
        console.log(
          `[process]   ${job.id} attempts ${job.attempts} on ${job.worker_id}: submitted ${job.submitted_ms - killed_ms}, started ${job.started_ms - killed_ms}, finished ${job.finished_ms - killed_ms} (ms from the kill); worker ${JSON.stringify(timing)}`,
        );
      }
      const module = await snarkjs();
      const vkey = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(circuit.vkey, 'utf8')));
      for (const job of finished) expect(await module.groth16.verify(vkey, JSON.parse(job.public_json), JSON.parse(job.proof_json))).toBe(true);
      // Exactly once: one accepted completion per job across the workers.
      const accepted = workers.flatMap((w) => w.completed);
      expect([...accepted].sort()).toEqual([...jobIds].sort());
      // Archived once: one archive row and one terminal event per job.
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        await eventually(
          'every job archived',
          async () => {
            const rows = await db.query('SELECT job_id, count(*)::int AS n FROM job_archive GROUP BY job_id');
            return rows.rows.length === jobIds.length ? rows.rows : undefined;
          },
          30_000,
          200,
        );
        const rows = await db.query<{ job_id: string; n: number }>('SELECT job_id, count(*)::int AS n FROM job_archive GROUP BY job_id');
        expect(rows.rows.map((r) => r.job_id).sort()).toEqual([...jobIds].sort());
        for (const row of rows.rows) expect(row.n).toBe(1);
        const terminal = await db.query<{ job_id: string; n: number }>(
          "SELECT job_id, count(*)::int AS n FROM job_events WHERE state = 'SUCCEEDED' GROUP BY job_id",
        );
        expect(terminal.rows.length).toBe(jobIds.length);
        for (const row of terminal.rows) expect(row.n).toBe(1);
      } finally {
        await db.end();
      }
      // The killed coordinator restarts and catches up.
      await cluster.startNode(oldLeader);
      const leaderHealth = await cluster.health(newLeader);
      const target = (leaderHealth?.raft as { commit_index?: number } | undefined)?.commit_index ?? 0;
      expect(target).toBeGreaterThan(0);
      await eventually('the restarted coordinator to catch up', async () => {
        const health = await cluster.health(oldLeader);
        const applied = (health?.raft as { applied_index?: number } | undefined)?.applied_index ?? 0;
        return applied >= target ? true : undefined;
      });
    } finally {
      for (const worker of workers) worker.stop();
    }
  });

  it('SIGSTOP of the leader past the election timeout: on resume it steps down and refuses writes with the redirect', async () => {
    const addresses = cluster.addresses();
    const stopped = await cluster.leader();
    const node = cluster.node(stopped);
    node.child!.kill('SIGSTOP');
    let next: string;
    try {
      next = await cluster.leader(10_000, stopped);
    } finally {
      node.child!.kill('SIGCONT');
    }
    await eventually('the old leader to step down', async () => {
      const health = await cluster.health(stopped, 2_000);
      return (health?.raft as { is_leader?: boolean; leader_id?: string } | undefined)?.leader_id === next ? true : undefined;
    });
    const refused = await grpcError(
      clientsOf(`127.0.0.1:${node.grpcPort}`).call('job', 'SubmitJob', {
        circuit: 'mulchain',
        input_json: '{"a":"1","b":"1"}',
        idempotency_key: 'after-sigstop',
      }),
    );
    expect(refused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(metadataOf(refused, 'zkp-leader-id')).toBe(next);
    expect(metadataOf(refused, 'zkp-leader-address')).toBe(`127.0.0.1:${cluster.node(next).grpcPort}`);
    // The write goes through on the leader it names.
    const accepted = await onLeader(addresses, clientsOf, (c) =>
      c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: '{"a":"1","b":"1"}', idempotency_key: 'after-sigstop' }),
    );
    // Queued, or already assigned by the same commit when a worker had a free slot.
    expect(['QUEUED', 'ASSIGNED']).toContain(accepted.job.state);
    await onLeader(addresses, clientsOf, (c) => c.call('job', 'CancelJob', { job_id: accepted.job.id }));
  });

  it('SIGTERM closes the leader cleanly (exit 0, "closed" event), handing leadership over first', async () => {
    const leader = await cluster.leader();
    const node = cluster.node(leader);
    const child = node.child!;
    const stopping_ms = Date.now();
    child.kill('SIGTERM');
    const code = await node.exit;
    node.child = null;
    expect(code).toBe(0);
    expect(node.events.map((e) => e.event)).toContain('closed');
    const next = await cluster.leader(5_000, leader);
    const elected = cluster.node(next).events.find((e) => e.event === 'leader-change' && e.leaderId === next && (e.time_ms as number) >= stopping_ms);
    console.log(`[process] SIGTERM of leader ${leader}: ${next} leads ${(elected?.time_ms as number) - stopping_ms} ms later`);
    expect(elected).toBeDefined();
  });
});
