/**
 * The store's behaviour, run against the real PostgreSQL server
 * (postgres.test.ts) and against PGlite through the socket server
 * (embedded.test.ts). `target()` gives the URL of a database that is empty
 * when the suite starts; the tests run in order and each uses content and
 * job ids of its own, so they do not depend on one another's rows.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptFileError, InvalidArgumentError, MismatchError, NotFoundError } from '../../src/errors/index.ts';
import { type JobArchiveRecord, type JobEventRecord, openStore, type Store, type StoreOptions } from '../../src/store/index.ts';
import { testRandom } from '../helpers/random.ts';
import { randomContent, randomPieces, sql } from './helpers.ts';

const sha256Of = (content: Uint8Array): string => createHash('sha256').update(content).digest('hex');

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

export function defineStoreSuite(label: string, target: () => string): void {
  describe(`store on ${label}`, () => {
    const random = testRandom(`store on ${label}`);
    const stores: Store[] = [];
    const open = async (options: Omit<StoreOptions, 'databaseUrl'> = {}): Promise<Store> => {
      const store = await openStore({ databaseUrl: target(), ...options });
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      await Promise.all(stores.map((store) => store.close()));
    });

    it('migrates once when three stores open at the same time, and again finds nothing to do', async () => {
      const opened = await Promise.all([open(), open(), open()]);
      const reports = await Promise.all(opened.map((store) => store.migrate()));
      expect(reports.map((report) => report.applied).sort()).toEqual([[], [], [1]]);
      expect(await sql(target(), 'SELECT version, name FROM schema_migrations ORDER BY version')).toEqual([{ version: 1, name: 'initial' }]);
      const later = await open();
      expect(await later.migrate()).toEqual({ applied: [], version: 1 });
      const tables = await sql<{ table_name: string }>(
        target(),
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.map((row) => row.table_name)).toEqual([
        'artifact_chunks',
        'artifact_uploads',
        'artifacts',
        'bench_reports',
        'job_archive',
        'job_events',
        'schema_migrations',
      ]);
    });

    it('round-trips artifacts of sizes around chunk boundaries, from bytes and from streams of odd pieces', async () => {
      const chunk_bytes = 1000;
      const store = await open({ chunk_bytes });
      for (const size of [0, 1, 999, 1000, 1001, 1999, 2000, 2001, 7321]) {
        const content = randomContent(random, size);
        const fromStream = size % 2 === 1;
        const put = await store.putArtifact(fromStream ? randomPieces(random, content, 1500) : content, { kind: 'zkey' });
        expect(put).toEqual({ sha256: sha256Of(content), bytes: size, alreadyStored: false });
        expect((await store.getArtifact(put.sha256)).equals(content)).toBe(true);
        const chunks = await collect(store.streamArtifact(put.sha256));
        expect(chunks.map((chunk) => chunk.length)).toEqual(
          Array.from({ length: Math.ceil(size / chunk_bytes) }, (_, index) => Math.min(chunk_bytes, size - index * chunk_bytes)),
        );
        expect(Buffer.concat(chunks).equals(content)).toBe(true);
        expect(await store.artifactInfo(put.sha256)).toMatchObject({ kind: 'zkey', bytes: size, chunk_count: Math.ceil(size / chunk_bytes), chunk_bytes });
        expect(await store.hasArtifact(put.sha256.toUpperCase())).toBe(true);
      }
    });

    it('stores 1 MiB chunks by default (2.5 MiB + 17 bytes is three chunks)', async () => {
      const store = await open();
      const content = randomContent(random, 2.5 * 1024 * 1024 + 17);
      const put = await store.putArtifact(randomPieces(random, content, 300_000), { kind: 'wasm' });
      expect((await store.getArtifact(put.sha256)).equals(content)).toBe(true);
      const rows = await sql<{ seq: number; length: number }>(
        target(),
        'SELECT seq, length(data) AS length FROM artifact_chunks WHERE sha256 = $1 ORDER BY seq',
        [put.sha256],
      );
      expect(rows).toEqual([
        { seq: 0, length: 1 << 20 },
        { seq: 1, length: 1 << 20 },
        { seq: 2, length: content.length - 2 * (1 << 20) },
      ]);
    });

    it('keeps one copy of the same content put twice, also by two stores at once', async () => {
      const [first, second] = [await open({ chunk_bytes: 500 }), await open({ chunk_bytes: 500 })];
      const content = randomContent(random, 1234);
      const results = await Promise.all([first.putArtifact(content, { kind: 'vkey' }), second.putArtifact(content, { kind: 'vkey' })]);
      expect(results.map((result) => result.alreadyStored).sort()).toEqual([false, true]);
      const again = await first.putArtifact(content, { kind: 'vkey' });
      expect(again).toEqual({ sha256: sha256Of(content), bytes: 1234, alreadyStored: true });
      const withClaim = await second.putArtifact(randomPieces(random, content, 100), { kind: 'vkey', expectSha256: sha256Of(content), expectBytes: 1234 });
      expect(withClaim.alreadyStored).toBe(true);
      expect(await sql(target(), 'SELECT count(*)::int AS n FROM artifacts WHERE sha256 = $1', [sha256Of(content)])).toEqual([{ n: 1 }]);
      expect(await sql(target(), 'SELECT count(*)::int AS n FROM artifact_chunks WHERE sha256 = $1', [sha256Of(content)])).toEqual([{ n: 3 }]);
      expect(await sql(target(), "SELECT count(*)::int AS n FROM artifact_chunks WHERE sha256 LIKE 'upload:%'")).toEqual([{ n: 0 }]);
    });

    it('refuses content whose hash or size is not the one expected, naming both hashes, and stores nothing', async () => {
      const store = await open({ chunk_bytes: 256 });
      const content = randomContent(random, 3000);
      const claimed = sha256Of(Buffer.from('something else'));
      const refused = store.putArtifact(randomPieces(random, content, 700), { kind: 'zkey', expectSha256: claimed });
      await expect(refused).rejects.toBeInstanceOf(MismatchError);
      await expect(refused).rejects.toThrow(`sha256 ${sha256Of(content)} but ${claimed} was expected`);
      await expect(store.putArtifact(content, { kind: 'zkey', expectBytes: 2999 })).rejects.toThrow('longer than the 2999 bytes expected');
      await expect(store.putArtifact(content, { kind: 'zkey', expectBytes: 3001 })).rejects.toThrow('3000 bytes but 3001 were expected');
      expect(await store.hasArtifact(sha256Of(content))).toBe(false);
      expect(await store.hasArtifact(claimed)).toBe(false);
      expect(await sql(target(), "SELECT count(*)::int AS n FROM artifact_chunks WHERE sha256 LIKE 'upload:%'")).toEqual([{ n: 0 }]);
      expect(await sql(target(), 'SELECT count(*)::int AS n FROM artifact_uploads')).toEqual([{ n: 0 }]);
      const accepted = await store.putArtifact(content, { kind: 'zkey', expectSha256: sha256Of(content).toUpperCase(), expectBytes: 3000 });
      expect(accepted).toEqual({ sha256: sha256Of(content), bytes: 3000, alreadyStored: false });
    });

    it('discards the chunks of an upload whose source fails, and removes uploads abandoned by a dead process', async () => {
      const store = await open({ chunk_bytes: 100 });
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield new Uint8Array(450);
        throw new Error('the client went away');
      }
      await expect(store.putArtifact(failing(), { kind: 'zkey' })).rejects.toThrow('the client went away');
      expect(await sql(target(), "SELECT count(*)::int AS n FROM artifact_chunks WHERE sha256 LIKE 'upload:%'")).toEqual([{ n: 0 }]);
      // What a process killed mid-upload leaves behind.
      await sql(target(), "INSERT INTO artifact_uploads (upload_key, kind, started) VALUES ('upload:dead', 'zkey', now() - interval '2 hours')");
      await sql(target(), "INSERT INTO artifact_chunks (sha256, seq, data) VALUES ('upload:dead', 0, '\\x00'), ('upload:dead', 1, '\\x01')");
      await sql(target(), "INSERT INTO artifact_uploads (upload_key, kind) VALUES ('upload:fresh', 'zkey')");
      expect(await store.removeAbandonedUploads(60 * 60 * 1000)).toBe(1);
      expect(await sql(target(), "SELECT sha256 FROM artifact_chunks WHERE sha256 LIKE 'upload:%'")).toEqual([]);
      expect(await sql(target(), 'SELECT upload_key FROM artifact_uploads')).toEqual([{ upload_key: 'upload:fresh' }]);
      await sql(target(), "DELETE FROM artifact_uploads WHERE upload_key = 'upload:fresh'");
    });

    it('answers NotFound for an unknown hash, InvalidArgument for a malformed one, and CorruptFile for tampered chunks', async () => {
      const store = await open({ chunk_bytes: 64 });
      const unknown = sha256Of(Buffer.from('never stored'));
      await expect(store.getArtifact(unknown)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.getArtifact(unknown)).rejects.toThrow(`artifact ${unknown} is not stored`);
      await expect(collect(store.streamArtifact(unknown))).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.hasArtifact(unknown)).toBe(false);
      await expect(store.getArtifact('abc')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.putArtifact(new Uint8Array(1), { kind: 'Not A Kind' })).rejects.toBeInstanceOf(InvalidArgumentError);

      const content = randomContent(random, 200);
      const { sha256 } = await store.putArtifact(content, { kind: 'input' });
      await sql(target(), 'UPDATE artifact_chunks SET data = set_byte(data, 5, (get_byte(data, 5) + 1) % 256) WHERE sha256 = $1 AND seq = 2', [sha256]);
      await expect(store.getArtifact(sha256)).rejects.toBeInstanceOf(CorruptFileError);
      await sql(target(), 'DELETE FROM artifact_chunks WHERE sha256 = $1 AND seq = 1', [sha256]);
      await expect(store.getArtifact(sha256)).rejects.toThrow(`artifact ${sha256}: chunk 1 of 4 is missing`);
    });

    const job = (id: string, overrides: Partial<JobArchiveRecord> = {}): JobArchiveRecord => ({
      id,
      circuit_id: 'circuit-a',
      state: 'SUCCEEDED',
      attempts: 1,
      submitted_ms: 1_000,
      finished_ms: 2_000,
      priority: 3,
      deadline_ms: 9_000,
      idempotency_key: `key-${id}`,
      max_attempts: 3,
      worker_id: 'worker-1',
      error_code: '',
      error_message: '',
      proof_json: '{"pi_a":["1","2","1"]}',
      public_json: '["33"]',
      started_ms: 1_500,
      prove_ms: 420,
      backend: 'native',
      input_sha256: '',
      input_bytes: 12,
      ...overrides,
    });

    it('archives each (job id, attempts) once when two leaders write overlapping batches, also at the same time', async () => {
      const [leaderA, leaderB] = [await open(), await open()];
      const records = Array.from({ length: 40 }, (_, index) => job(`dup-${index}`, { finished_ms: 10_000 + index }));
      const [fromA, fromB] = await Promise.all([leaderA.archiveJobs(records.slice(0, 30)), leaderB.archiveJobs(records.slice(10, 40))]);
      expect(fromA.inserted + fromB.inserted).toBe(40);
      // A new leader replays its whole outbox.
      expect(await leaderB.archiveJobs(records)).toEqual({ inserted: 0 });
      expect(await sql(target(), "SELECT count(*)::int AS n FROM job_archive WHERE job_id LIKE 'dup-%'")).toEqual([{ n: 40 }]);
      const read = await leaderA.getArchivedJob('dup-7');
      expect(read).toMatchObject(records[7]!);
      expect(read?.archived_ms).toBeGreaterThan(0);
      // The same job archived again after another attempt is a row of its own; the last attempt is the one read back.
      expect(await leaderA.archiveJobs([job('dup-7', { attempts: 2, state: 'FAILED', error_code: 'WITNESS', error_message: 'bad input' })])).toEqual({
        inserted: 1,
      });
      expect(await leaderA.getArchivedJob('dup-7')).toMatchObject({ attempts: 2, state: 'FAILED', error_message: 'bad input' });
      expect(await leaderA.getArchivedJob('never-archived')).toBeNull();
    });

    it('refuses a malformed record, naming it, and writes nothing of its batch', async () => {
      const store = await open();
      const batch = [job('bad-0'), { ...job('bad-1'), state: 'RUNNING' } as unknown as JobArchiveRecord];
      await expect(store.archiveJobs(batch)).rejects.toThrow('job record 1 (bad-1): state must be one of SUCCEEDED, FAILED, CANCELLED, EXPIRED');
      await expect(store.archiveJobs([{ ...job('bad-2'), attempts: -1 }])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await store.getArchivedJob('bad-0')).toBeNull();
    });

    it('pages through archived jobs newest first with filters, each job once', async () => {
      const store = await open();
      const states = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'] as const;
      const records = Array.from({ length: 57 }, (_, index) =>
        job(`page-${String(index).padStart(3, '0')}`, {
          circuit_id: index % 3 === 0 ? 'circuit-paged-x' : 'circuit-paged-y',
          state: states[index % 4]!,
          // Ties in finished_ms are ordered by job id.
          finished_ms: 50_000 + Math.floor(index / 4),
          attempts: index % 5,
        }),
      );
      await store.archiveJobs(records);
      const expectedOrder = (filter: (record: JobArchiveRecord) => boolean): string[] =>
        records
          .filter(filter)
          .sort((a, b) => b.finished_ms - a.finished_ms || (a.id < b.id ? 1 : -1))
          .map((record) => record.id);
      const pageAll = async (filter: Parameters<Store['listArchivedJobs']>[0]): Promise<string[]> => {
        const ids: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 100; page++) {
          const result = await store.listArchivedJobs({ ...filter, ...(after === undefined ? {} : { after }) });
          expect(result.jobs.length).toBeLessThanOrEqual(filter?.limit ?? 100);
          ids.push(...result.jobs.map((record) => record.id));
          if (result.nextAfter === null) return ids;
          after = result.nextAfter;
        }
        throw new Error('paging did not end');
      };
      const paged = (ids: string[]): string[] => ids.filter((id) => id.startsWith('page-'));
      expect(paged(await pageAll({ limit: 7 }))).toEqual(expectedOrder(() => true));
      expect(await pageAll({ circuitId: 'circuit-paged-x', limit: 4 })).toEqual(expectedOrder((record) => record.circuit_id === 'circuit-paged-x'));
      expect(await pageAll({ circuitId: 'circuit-paged-y', states: ['FAILED', 'EXPIRED'], limit: 5 })).toEqual(
        expectedOrder((record) => record.circuit_id === 'circuit-paged-y' && (record.state === 'FAILED' || record.state === 'EXPIRED')),
      );
      const exact = await store.listArchivedJobs({ circuitId: 'circuit-paged-x', limit: 19 });
      expect(exact.jobs).toHaveLength(19);
      expect(exact.nextAfter).toBeNull();
      expect(await store.listArchivedJobs({ circuitId: 'no-such-circuit' })).toEqual({ jobs: [], nextAfter: null });
      await expect(store.listArchivedJobs({ after: 'not-a-token' })).rejects.toThrow('is not one this store issued');
      await expect(store.listArchivedJobs({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.listArchivedJobs({ limit: 1001 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.listArchivedJobs({ states: ['QUEUED' as 'FAILED'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('appends each job event once, keyed by (job, attempt, state), and lists them in order', async () => {
      const [leaderA, leaderB] = [await open(), await open()];
      const events: JobEventRecord[] = [
        { job_id: 'ev-1', attempt: 0, state: 'QUEUED', at_ms: 100 },
        { job_id: 'ev-1', attempt: 1, state: 'ASSIGNED', at_ms: 110, worker_id: 'w1' },
        { job_id: 'ev-1', attempt: 1, state: 'RUNNING', at_ms: 120, worker_id: 'w1' },
        { job_id: 'ev-1', attempt: 1, state: 'QUEUED', at_ms: 300, detail: { reason: 'lease expired', worker: 'w1' } },
        { job_id: 'ev-1', attempt: 2, state: 'ASSIGNED', at_ms: 310, worker_id: 'w2' },
        { job_id: 'ev-1', attempt: 2, state: 'RUNNING', at_ms: 310, worker_id: 'w2' },
        { job_id: 'ev-1', attempt: 2, state: 'SUCCEEDED', at_ms: 900, worker_id: 'w2', detail: { backend: 'native', prove_ms: 512 } },
      ];
      const [a, b] = await Promise.all([leaderA.appendJobEvents(events.slice(0, 5)), leaderB.appendJobEvents(events.slice(2))]);
      expect(a.inserted + b.inserted).toBe(events.length);
      expect(await leaderA.appendJobEvents(events)).toEqual({ inserted: 0 });
      const listed = await leaderB.listJobEvents('ev-1');
      expect(listed).toEqual(events.map((event) => ({ worker_id: '', detail: null, ...event })));
      expect(await leaderB.listJobEvents('ev-none')).toEqual([]);
      await expect(leaderA.appendJobEvents([{ job_id: 'ev-2', attempt: 0, state: 'DONE' as 'QUEUED', at_ms: 1 }])).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('stores bench reports and reads the latest of a kind', async () => {
      const store = await open();
      const first = await store.putBenchReport('service', { submits_per_s: 2100, nested: { p50_ms: 12 } });
      const second = await store.putBenchReport('service', { submits_per_s: 2300 });
      await store.putBenchReport('prover', { msm_ms: 5 });
      expect(second.id).toBeGreaterThan(first.id);
      const latest = await store.latestBenchReports('service', 5);
      expect(latest.map((report) => report.report)).toEqual([{ submits_per_s: 2300 }, { submits_per_s: 2100, nested: { p50_ms: 12 } }]);
      await expect(store.putBenchReport('service', [] as unknown as Record<string, unknown>)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });
}
