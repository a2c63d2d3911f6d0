/**
 * Versioned schema migrations. The whole run is one transaction holding a
 * transaction-level advisory lock, so coordinators that start together take
 * turns: the first applies what is missing, the others find it applied. A
 * failing migration rolls back entirely (PostgreSQL's DDL is transactional);
 * the error names it.
 *
 * In embedded mode PGlite is one backend shared by every connection, so an
 * advisory lock taken by one connection does not block another; there the
 * socket server's rule that an open transaction has the database to itself
 * (src/store/embedded/) gives the same serialisation.
 */
import { assert, FailedPreconditionError } from '../errors/index.ts';
import { isUnavailableError } from './connection-errors.ts';
import type { Database, Transaction } from './database.ts';

export interface Migration {
  /** 1, 2, 3, ...: contiguous, in application order. */
  readonly version: number;
  /** Recorded with the version; a database whose recorded name differs was migrated by different code. */
  readonly name: string;
  /** Run one by one in the migration transaction. */
  readonly statements: readonly string[];
}

export interface MigrationReport {
  /** Versions this call applied (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The schema version after the call. */
  readonly version: number;
}

/** Arbitrary but fixed: "zkp-stor" in ASCII. Every process migrating any database takes this key in that database. */
export const MIGRATION_LOCK_KEY = '8821267635648098162';

export function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    assert(
      migration.version === index + 1,
      `migration ${migration.name} has version ${migration.version}; expected ${index + 1} (versions are contiguous from 1)`,
    );
    assert(/^[a-z0-9][a-z0-9-]*$/.test(migration.name), `migration ${migration.version} has a bad name "${migration.name}"`);
  });
}

export async function runMigrations(database: Database, migrations: readonly Migration[]): Promise<MigrationReport> {
  checkMigrationList(migrations);
  return database.transaction('applying schema migrations', async (tx) => {
    await tx.query({ text: 'SELECT pg_advisory_xact_lock($1::bigint)', values: [MIGRATION_LOCK_KEY] });
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied timestamptz NOT NULL DEFAULT now()
    )`);
    const recorded = await tx.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    const known = recorded.rows.length;
    for (const row of recorded.rows) {
      const migration = migrations[row.version - 1];
      if (migration === undefined) {
        throw new FailedPreconditionError(
          `database ${database.url} has schema version ${row.version} (${row.name}) but this build knows versions up to ${migrations.length}; run a newer build`,
        );
      }
      if (migration.name !== row.name) {
        throw new FailedPreconditionError(
          `database ${database.url} records schema version ${row.version} as "${row.name}" but this build calls it "${migration.name}"; it was migrated by different code`,
        );
      }
    }
    const applied: number[] = [];
    for (const migration of migrations.slice(known)) {
      await applyMigration(tx, migration, database.url);
      applied.push(migration.version);
    }
    return { applied, version: migrations.length };
  });
}

async function applyMigration(tx: Transaction, migration: Migration, url: string): Promise<void> {
  for (const [index, statement] of migration.statements.entries()) {
    try {
      await tx.query(statement);
    } catch (error) {
      // A statement the server refused (it has a SQLSTATE and is no connection failure): say which migration it belongs to.
      const code: unknown = (error as { code?: unknown } | null)?.code;
      if (error instanceof Error && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !isUnavailableError(error)) {
        error.message = `schema migration ${migration.version} (${migration.name}) statement ${index + 1} failed on ${url}: ${error.message}`;
      }
      throw error;
    }
  }
  await tx.query({ text: 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', values: [migration.version, migration.name] });
}
