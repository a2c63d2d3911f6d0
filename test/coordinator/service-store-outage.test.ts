/**
 * PostgreSQL stopped and restarted under load (the embedded PGlite server, so
 * this machine's shared server is left alone): while it is down, jobs are
 * still proven and finish; the archive waits and backs off; once it is back,
 * every finished job is archived, each exactly once.
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.ts';
import type { JobMessage } from '../../src/api/types.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/store/index.ts';
import { circuitFiles, Clients, eventually, InProcessCluster, mulchain, StubWorker, tempDir, uploadCircuit } from './service-harness.ts';

let dir: string;
let port: number;
let database: EmbeddedDatabase | null = null;
let cluster: InProcessCluster;
let backend: ProverBackend;
const opened: Clients[] = [];

beforeAll(async () => {
  backend = await openBackend('native');
  dir = tempDir('zkp-outage-db');
  port = await freePort();
  database = await startEmbeddedDatabase({ dataDir: path.join(dir, 'db'), port });
  cluster = await InProcessCluster.start(3, { databaseUrl: database.url, jobs: { lease_ms: 2_000 } });
}, 120_000);

afterAll(async () => {
  for (const clients of opened) clients.close();
  await cluster?.close();
  await database?.close();
  await backend?.close();
});

async function archivedCounts(url: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ job_id: string; n: number }>('SELECT job_id, count(*)::int AS n FROM job_archive GROUP BY job_id');
    return new Map(rows.rows.map((row) => [row.job_id, row.n]));
  } finally {
    await client.end();
  }
}

describe('PostgreSQL stopped and restarted under load', () => {
  it('loses nothing: jobs finish while it is down and are archived once when it is back', async () => {
    const url = database!.url;
    const leader = await cluster.leader();
    const c = new Clients(leader.grpcAddress);
    opened.push(c);
    await uploadCircuit(c, circuitFiles(await mulchain(), 'mulchain'));
    const worker = new StubWorker(cluster.addresses(), { id: 'w-outage', backend, slots: 2 });
    await worker.start();
    try {
      const submit = async (i: number) =>
        (await c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: JSON.stringify({ a: String(i + 1), b: '3' }) })).job.id;
      const succeeded = (ids: readonly string[]) =>
        eventually(
          'the jobs to succeed',
          async () => {
            const jobs = await Promise.all(ids.map((id) => c.call<JobMessage>('job', 'GetJob', { job_id: id, stale_ok: true })));
            return jobs.every((job) => job.state === 'SUCCEEDED') ? jobs : undefined;
          },
          60_000,
          100,
        );
      const before = [await submit(0), await submit(1), await submit(2)];
      await succeeded(before);
      await eventually('the first jobs to be archived', async () => ((await archivedCounts(url)).size === before.length ? true : undefined), 30_000, 100);

      await database!.close();
      database = null;
      const during = [await submit(3), await submit(4), await submit(5), await submit(6)];
      await succeeded(during);
      // Finished, proven, and waiting in the outbox (the state) for the archive.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const id of during) expect(leader.machine.job(id)?.state).toBe('SUCCEEDED');
      expect(leader.machine.counts().finishedUnarchived).toBeGreaterThanOrEqual(during.length);

      database = await startEmbeddedDatabase({ dataDir: path.join(dir, 'db'), port });
      await eventually(
        'the outbox to drain into the restarted database',
        async () => ((await archivedCounts(url)).size === before.length + during.length ? true : undefined),
        60_000,
        200,
      );
      const counts = await archivedCounts(url);
      expect([...counts.keys()].sort()).toEqual([...before, ...during].sort());
      for (const n of counts.values()) expect(n).toBe(1);
      await eventually('the archived jobs to leave the state', () => (leader.machine.counts().finishedUnarchived === 0 ? true : undefined), 20_000);
    } finally {
      worker.stop();
    }
  });
});
