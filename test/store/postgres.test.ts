/**
 * The store against the real PostgreSQL server on this machine (a database
 * of its own per run, dropped at the end), plus what does not depend on the
 * kind of database: the migration runner's refusals, and calls while the
 * database is unreachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailedPreconditionError, UnavailableError } from '../../src/errors/index.ts';
import { Database } from '../../src/store/database.ts';
import { createStore, openStore } from '../../src/store/index.ts';
import { type Migration, runMigrations } from '../../src/store/migration.ts';
import { tryListen } from '../../src/net/free-port.ts';
import { createTemporaryDatabase, Relay, sql, startSilentServer, type TemporaryDatabase, withHostPort } from './helpers.ts';
import { defineStoreSuite } from './store-suite.ts';

let database: TemporaryDatabase;
beforeAll(async () => {
  database = await createTemporaryDatabase();
});
afterAll(async () => {
  await database?.drop();
});

defineStoreSuite('PostgreSQL', () => database.url);

describe('schema migrations (PostgreSQL)', () => {
  const first: Migration = { version: 1, name: 'first', statements: ['CREATE TABLE first_table (id integer PRIMARY KEY)'] };
  const second: Migration = { version: 2, name: 'second', statements: ['ALTER TABLE first_table ADD COLUMN label text'] };
  const broken: Migration = { version: 2, name: 'broken', statements: ['CREATE TABLE second_table (id integer)', 'SELECT no_such_column FROM first_table'] };

  it('applies in order, rolls a failing run back entirely, and refuses a database migrated further or by other code', async () => {
    const scratch = await createTemporaryDatabase();
    const run = async (migrations: Migration[]) => {
      const connection = new Database({ databaseUrl: scratch.url });
      try {
        return await runMigrations(connection, migrations);
      } finally {
        await connection.close();
      }
    };
    const tables = async () =>
      (await sql<{ table_name: string }>(scratch.url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).map(
        (row) => row.table_name,
      );
    try {
      await expect(run([first, broken])).rejects.toThrow(
        /schema migration 2 \(broken\) statement 2 failed on postgresql:\/\/postgres@127\.0\.0\.1:5432\/zkp_test_\w+: column "no_such_column" does not exist/,
      );
      expect(await tables()).toEqual([]);
      expect(await run([first])).toEqual({ applied: [1], version: 1 });
      expect(await run([first, second])).toEqual({ applied: [2], version: 2 });
      expect(await run([first, second])).toEqual({ applied: [], version: 2 });
      expect(await tables()).toEqual(['first_table', 'schema_migrations']);
      const older = run([first]);
      await expect(older).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(older).rejects.toThrow('has schema version 2 (second) but this build knows versions up to 1');
      await expect(run([first, { ...second, name: 'other' }])).rejects.toThrow('records schema version 2 as "second" but this build calls it "other"');
    } finally {
      await scratch.drop();
    }
  });
});

describe('an unreachable database', () => {
  it('fails fast with UnavailableError naming the URL without its password when nothing listens on the port', async () => {
    const port = await tryListen(0);
    const url = `postgresql://postgres:s3cret-pw@127.0.0.1:${port}/test`;
    const started = performance.now();
    const opening = openStore(url);
    await expect(opening).rejects.toBeInstanceOf(UnavailableError);
    await expect(opening).rejects.toThrow(`database postgresql://postgres:***@127.0.0.1:${port}/test is unavailable (applying schema migrations): `);
    await expect(opening).rejects.not.toThrow('s3cret-pw');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('gives up on a host that accepts the connection and never answers after connect_timeout_ms', async () => {
    const silent = await startSilentServer();
    try {
      const started = performance.now();
      await expect(openStore({ databaseUrl: `postgresql://postgres@127.0.0.1:${silent.port}/test`, connect_timeout_ms: 300 })).rejects.toThrow(
        /is unavailable \(applying schema migrations\): .*timeout/i,
      );
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      await silent.close();
    }
  });

  it('lets a store be created while the database is down, fails calls with UnavailableError, and works once it is back', async () => {
    const relay = await Relay.start('127.0.0.1', Number(new URL(database.url).port));
    const store = createStore({ databaseUrl: withHostPort(database.url, '127.0.0.1', relay.port), connect_timeout_ms: 1_000 });
    try {
      relay.cut();
      const record = { id: 'outage-1', circuit_id: 'c', state: 'SUCCEEDED' as const, attempts: 1, submitted_ms: 1, finished_ms: 2 };
      await expect(store.archiveJobs([record])).rejects.toBeInstanceOf(UnavailableError);
      relay.restore();
      expect(await store.archiveJobs([record])).toEqual({ inserted: 1 });
      // Connections die under the store: the pool replaces them, and the caller's retry writes nothing twice.
      relay.cut();
      await expect(store.getArchivedJob('outage-1')).rejects.toBeInstanceOf(UnavailableError);
      relay.restore();
      expect(await store.archiveJobs([record])).toEqual({ inserted: 0 });
      expect(await store.getArchivedJob('outage-1')).toMatchObject(record);
    } finally {
      await store.close();
      await relay.close();
    }
  });

  it('refuses calls on a closed store', async () => {
    const store = await openStore(database.url);
    await store.close();
    await expect(store.hasArtifact('0'.repeat(64))).rejects.toThrow(/the store for postgresql:\/\/postgres@127\.0\.0\.1:5432\/zkp_test_\w+ is closed/);
  });
});
