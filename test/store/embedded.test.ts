/**
 * The store against the embedded database (PGlite served by pglite-socket),
 * and the embedded database itself: several pools at once, restart from its
 * directory, the connection limit, the directory lock, why the shared-backend
 * guard is needed, and embedded-main as a process (ready line, kill -9 and
 * restart, SIGTERM).
 *
 * One data directory serves the whole file, copied from a template
 * (freshEmbeddedDataDir): initialising one takes PGlite 5-15 s on this
 * machine, opening an existing one 1.5-4 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InUseError, UnavailableError } from '../../src/errors/index.ts';
import { guardSharedBackend } from '../../src/store/embedded/shared-backend-guard.ts';
import { type EmbeddedDatabase, openStore, startEmbeddedDatabase } from '../../src/store/index.ts';
import { testRandom } from '../helpers/random.ts';
import { freshEmbeddedDataDir, randomContent, sql } from './helpers.ts';
import { defineStoreSuite } from './store-suite.ts';

const EMBEDDED_MAIN = join(import.meta.dirname, '..', '..', 'src', 'store', 'embedded-main.ts');
let dataDir: string;
let embedded: EmbeddedDatabase | undefined;

beforeAll(async () => {
  dataDir = await freshEmbeddedDataDir();
  embedded = await startEmbeddedDatabase({ dataDir });
});
afterAll(async () => {
  await embedded?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

defineStoreSuite('PGlite (embedded, through pglite-socket)', () => embedded!.url);

/**
 * Each of `connections` connections runs `rounds` statements with parameters whose count and types differ per
 * connection; returns the wrong answers and errors. `stopOnError` ends a connection's rounds at its first error
 * (a server that hangs then costs one query timeout, not one per round).
 */
async function parameterisedLoad(url: string, connections: number, rounds: number, stopOnError = false): Promise<{ wrong: number; errors: string[] }> {
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new pg.Client({ connectionString: url, query_timeout: 5_000 });
      client.on('error', () => {});
      await client.connect();
      return client;
    }),
  );
  let wrong = 0;
  const errors: string[] = [];
  try {
    await Promise.all(
      clients.map(async (client, index) => {
        for (let round = 0; round < rounds; round++) {
          try {
            if (index % 2 === 0) {
              const result = await client.query('SELECT $1::int + $2::int AS sum, $3::text AS tag', [index, round, `c${index}`]);
              if (result.rows[0]?.sum !== index + round || result.rows[0]?.tag !== `c${index}`) wrong++;
            } else {
              const result = await client.query('SELECT $1::text AS tag', [`c${index}-${round}`]);
              if (result.rows[0]?.tag !== `c${index}-${round}`) wrong++;
            }
          } catch (error) {
            errors.push((error as Error).message);
            if (stopOnError) return;
          }
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  }
  return { wrong, errors };
}

describe('the embedded database', () => {
  const random = testRandom('embedded database');

  it('serves several pools at once (three coordinators): statements with parameters and transactions stay isolated', async () => {
    const url = embedded!.url;
    const stores = await Promise.all([0, 1, 2].map(() => openStore({ databaseUrl: url, connections_max: 4 })));
    const pools = [0, 1, 2].map(() => new pg.Pool({ connectionString: url, max: 4 }));
    try {
      await sql(url, 'CREATE TABLE isolation_probe (tag text PRIMARY KEY)');
      const contents = [0, 1, 2].map(() => randomContent(random, 1024 * 1024 + 5));
      const holdTransaction = async (pool: pg.Pool, tag: string): Promise<void> => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('INSERT INTO isolation_probe VALUES ($1)', [tag]);
          // Everyone else waits while this transaction is open: nothing they do may land inside it.
          await new Promise((resolve) => setTimeout(resolve, 100));
          await client.query('ROLLBACK');
        } finally {
          client.release();
        }
      };
      await Promise.all([
        ...stores.map((store, index) => store.putArtifact(contents[index]!, { kind: 'zkey' })),
        ...stores.map((store, index) =>
          store.archiveJobs(
            Array.from({ length: 50 }, (_, job) => ({
              id: `multi-${index}-${job}`,
              circuit_id: 'c',
              state: 'SUCCEEDED' as const,
              attempts: 1,
              submitted_ms: 1,
              finished_ms: 2,
            })),
          ),
        ),
        ...pools.map((pool, index) => holdTransaction(pool, `rolled-back-${index}`)),
        ...pools.map(async (pool, index) => {
          for (let round = 0; round < 20; round++) await pool.query('INSERT INTO isolation_probe VALUES ($1)', [`committed-${index}-${round}`]);
        }),
        parameterisedLoad(url, 6, 40).then((load) => expect(load).toEqual({ wrong: 0, errors: [] })),
      ]);
      const tags = (await sql<{ tag: string }>(url, 'SELECT tag FROM isolation_probe')).map((row) => row.tag);
      expect(tags.filter((tag) => tag.startsWith('rolled-back'))).toEqual([]);
      expect(tags.filter((tag) => tag.startsWith('committed'))).toHaveLength(60);
      for (const [index, content] of contents.entries()) {
        const sha256 = (await stores[index]!.putArtifact(content, { kind: 'zkey' })).sha256;
        expect((await stores[(index + 1) % 3]!.getArtifact(sha256)).equals(content)).toBe(true);
      }
      expect(await sql(url, "SELECT count(*)::int AS n FROM job_archive WHERE job_id LIKE 'multi-%'")).toEqual([{ n: 150 }]);
    } finally {
      await Promise.all([...stores.map((store) => store.close()), ...pools.map((pool) => pool.end())]);
    }
  });

  it('keeps its data across a restart, locks its directory, and refuses connections beyond connections_max', async () => {
    const content = randomContent(random, 100_000);
    const before = await openStore(embedded!.url);
    const { sha256 } = await before.putArtifact(content, { kind: 'wasm' });
    await before.archiveJobs([{ id: 'restart-1', circuit_id: 'c', state: 'FAILED', attempts: 3, submitted_ms: 5, finished_ms: 6, error_message: 'kept' }]);
    await before.close();
    await embedded!.close();

    embedded = await startEmbeddedDatabase({ dataDir, connections_max: 2 });
    await expect(startEmbeddedDatabase({ dataDir })).rejects.toBeInstanceOf(InUseError);
    const after = await openStore({ databaseUrl: embedded.url, connections_max: 1 });
    const holder = new pg.Client({ connectionString: embedded.url });
    holder.on('error', () => {});
    await holder.connect();
    try {
      expect((await after.getArtifact(sha256)).equals(content)).toBe(true);
      expect(await after.getArchivedJob('restart-1')).toMatchObject({ state: 'FAILED', attempts: 3, error_message: 'kept' });
      expect(embedded.stats().connections).toBe(2);
      // pglite-socket answers a connection beyond its limit with "Too many connections" and closes it.
      const third = openStore({ databaseUrl: embedded.url, connect_timeout_ms: 2_000 });
      await expect(third).rejects.toBeInstanceOf(UnavailableError);
      await expect(third).rejects.toThrow('Connection terminated unexpectedly');
    } finally {
      await holder.end();
      await after.close();
    }
  });

  it('needs the shared-backend guard: without it, exchanges of different connections interleave once PGlite yields between messages', async () => {
    await embedded!.close();
    embedded = undefined;
    // PGlite answers each message without yielding to the event loop today, which hides the interleaving; a PGlite that
    // yields (as an asynchronous filesystem would) shows it. The same load must fail unguarded and pass guarded.
    const db = await PGlite.create({ dataDir: join(dataDir, 'pgdata') });
    const execute = db.execProtocolRawStream.bind(db);
    let failNextParse = false;
    db.execProtocolRawStream = async (message, options) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (failNextParse && message[0] === 'P'.charCodeAt(0)) {
        failNextParse = false;
        throw new Error('injected failure');
      }
      return execute(message, options);
    };
    const serve = async (database: PGlite, idleTimeout = 0) => {
      const server = new PGLiteSocketServer({ db: database, host: '127.0.0.1', port: 0, maxConnections: 16, idleTimeout });
      await server.start();
      return { server, url: `postgresql://postgres@127.0.0.1:${server.getServerConn().split(':').pop()}/postgres` };
    };
    try {
      const unguarded = await serve(db);
      // Interleaving needs two connections' messages to arrive within one exchange: on a loaded machine one load may
      // happen to see none, so up to 5 loads are run; one that goes wrong is enough to show the guard is needed.
      let interfered = 0;
      for (let attempt = 0; attempt < 5 && interfered === 0; attempt++) {
        const withoutGuard = await parameterisedLoad(unguarded.url, 6, 40, true);
        interfered = withoutGuard.wrong + withoutGuard.errors.length;
        await db.execProtocolRaw(new Uint8Array([0x53, 0, 0, 0, 4]));
        if (db.isInTransaction()) await db.exec('ROLLBACK');
      }
      await unguarded.server.stop();
      expect(interfered).toBeGreaterThan(0);
      await db.execProtocolRaw(new Uint8Array([0x53, 0, 0, 0, 4])); // Sync: end whatever exchange the unguarded run left open
      if (db.isInTransaction()) await db.exec('ROLLBACK');

      const internalErrors: unknown[] = [];
      const guard = guardSharedBackend(db, { onInternalError: (error) => internalErrors.push(error) });
      const idle_timeout_ms = 1_500;
      const guarded = await serve(guard.db, idle_timeout_ms);
      try {
        expect(await parameterisedLoad(guarded.url, 4, 25)).toEqual({ wrong: 0, errors: [] });
        // A PGlite failure reaches the client as an error, and the queue keeps serving everyone.
        failNextParse = true;
        const afterFailure = await parameterisedLoad(guarded.url, 3, 5);
        expect(afterFailure.wrong).toBe(0);
        expect(afterFailure.errors).toEqual(['embedded database internal error: injected failure']);
        expect(internalErrors).toHaveLength(1);
        expect(await parameterisedLoad(guarded.url, 3, 5)).toEqual({ wrong: 0, errors: [] });

        // A client that goes silent inside a transaction (a SIGSTOPped coordinator) holds everyone up only until the idle
        // timeout: then it is cut off, its transaction rolled back, and the others go on.
        const holder = new pg.Client({ connectionString: guarded.url });
        holder.on('error', () => {});
        await holder.connect();
        await holder.query('CREATE TABLE idle_probe (tag text)');
        await holder.query('BEGIN');
        await holder.query("INSERT INTO idle_probe VALUES ('uncommitted')");
        const idle_since = performance.now();
        // The waiting client is idle too while it waits, and every connection has the same idle timeout: it asks half a
        // timeout later than the holder went silent, so the holder is cut off first (under load, a waiter that asked at
        // once was sometimes cut off itself).
        await new Promise((resolve) => setTimeout(resolve, idle_timeout_ms / 2));
        expect(await sql(guarded.url, 'SELECT count(*)::int AS n FROM idle_probe')).toEqual([{ n: 0 }]);
        expect(performance.now() - idle_since).toBeGreaterThan(idle_timeout_ms - 100);
        await expect(holder.query('COMMIT')).rejects.toThrow();
      } finally {
        await guarded.server.stop();
        await guard.settled();
      }
    } finally {
      await db.close();
    }
  });

  describe('embedded-main, the database as a process', () => {
    const running: ChildProcess[] = [];
    afterAll(() => {
      for (const child of running) child.kill('SIGKILL');
    });

    function startMain(args: string[]): {
      child: ChildProcess;
      ready: Promise<{ event: string; url: string; port: number; pid: number }>;
      exit: Promise<number | null>;
    } {
      const child = spawn(process.execPath, ['--import', 'tsx', EMBEDDED_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      running.push(child);
      let stderr = '';
      child.stderr!.on('data', (data: Buffer) => {
        stderr += data.toString();
      });
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = new Promise<{ event: string; url: string; port: number; pid: number }>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
        void exit.then((code) => reject(new Error(`embedded-main exited with ${code} before it was ready: ${stderr}`)));
      });
      return { child, ready, exit };
    }

    it('prints its ready line, survives kill -9 with committed data intact, and stops cleanly on SIGTERM', async () => {
      const first = startMain(['--data-dir', dataDir, '--port', '0']);
      const ready = await first.ready;
      expect(ready).toMatchObject({ event: 'ready', pid: first.child.pid });
      expect(ready.url).toBe(`postgresql://postgres@127.0.0.1:${ready.port}/postgres`);
      const store = await openStore(ready.url);
      await store.archiveJobs([{ id: 'before-kill', circuit_id: 'c', state: 'SUCCEEDED', attempts: 1, submitted_ms: 1, finished_ms: 2 }]);
      await store.close();
      first.child.kill('SIGKILL');
      await first.exit;

      const second = startMain(['--data-dir', dataDir]);
      const again = await second.ready;
      const reopened = await openStore(again.url);
      try {
        expect(await reopened.getArchivedJob('before-kill')).toMatchObject({ state: 'SUCCEEDED' });
        expect(await reopened.getArchivedJob('restart-1')).toMatchObject({ error_message: 'kept' });
      } finally {
        await reopened.close();
      }
      second.child.kill('SIGTERM');
      expect(await second.exit).toBe(0);
    });

    it('exits 2 naming the problem for a bad argument', async () => {
      const bad = startMain(['--port', '5432']);
      await expect(bad.ready).rejects.toThrow('--data-dir DIR is required');
      expect(await bad.exit).toBe(2);
    });
  });
});
