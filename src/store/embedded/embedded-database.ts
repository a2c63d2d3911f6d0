/**
 * The embedded default database: PGlite (PostgreSQL compiled to WASM, data in
 * `dataDir`) served on loopback by @electric-sql/pglite-socket, so the store
 * talks `pg` to it exactly as to a PostgreSQL server.
 *
 * Connections: PGlite is one backend, so the socket server runs one
 * protocol exchange at a time for all connections, and an open transaction
 * has the database to itself until it ends (guardSharedBackend makes both
 * hold; see docs/store.md). Session state (SET, prepared statement
 * names, advisory locks, temporary tables) is shared by every connection.
 * Up to `connections_max` connections are served; one more is answered
 * "Too many connections" and closed, which pg reports as "Connection
 * terminated unexpectedly".
 *
 * One process at a time per data directory: a flock on DIR/LOCK (dropped by
 * the kernel when the holder dies, kill -9 included). The database files are
 * in DIR/pgdata.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { InUseError, InvalidArgumentError } from '../../errors/index.ts';
import { DataDirLock } from '../../raft/storage/dir-lock.ts';
import { EMBEDDED_DEFAULTS } from './defaults.ts';
import { type GuardedBackend, guardSharedBackend } from './shared-backend-guard.ts';

export interface EmbeddedDatabaseOptions {
  /** Created if missing; the database lives in DIR/pgdata (initialised on first start, which takes ~5-15 s). */
  readonly dataDir: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port, read back from `port`. */
  readonly port?: number;
  /** Connections served at once (the store's pool opens up to connections_max per process). Default 64. */
  readonly connections_max?: number;
  /**
   * A connection that sends nothing for this long is closed, and an open
   * transaction it held is rolled back, so a stopped or hung client cannot
   * hold the database forever. 0 disables. Default 60,000 ms (pooled clients
   * close idle connections after 10,000 ms, before this).
   */
  readonly idle_timeout_ms?: number;
  /** Told about PGlite failures answered to a client as an internal error. */
  readonly onInternalError?: (error: unknown) => void;
}

export { EMBEDDED_DEFAULTS };

export interface EmbeddedDatabase {
  /** postgresql://postgres@HOST:PORT/postgres (PGlite needs no password). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Connections now open and protocol messages waiting for the backend. */
  stats(): { connections: number; queued: number };
  /** Stops serving (open connections are closed, open transactions rolled back), closes PGlite, releases the lock. Idempotent. */
  close(): Promise<void>;
}

export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const host = options.host ?? EMBEDDED_DEFAULTS.host;
  const port = options.port ?? EMBEDDED_DEFAULTS.port;
  const connections_max = options.connections_max ?? EMBEDDED_DEFAULTS.connections_max;
  const idle_timeout_ms = options.idle_timeout_ms ?? EMBEDDED_DEFAULTS.idle_timeout_ms;
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw new InvalidArgumentError('the embedded database needs a data directory');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`embedded database port must be 0-65535, got ${port}`);
  if (!Number.isInteger(connections_max) || connections_max < 1)
    throw new InvalidArgumentError(`connections_max must be a positive integer, got ${connections_max}`);
  if (!Number.isInteger(idle_timeout_ms) || idle_timeout_ms < 0)
    throw new InvalidArgumentError(`idle_timeout_ms must be a non-negative integer, got ${idle_timeout_ms}`);

  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  let lock: DataDirLock;
  try {
    lock = DataDirLock.acquire(dataDir);
  } catch (error) {
    if (error instanceof InUseError) {
      throw new InUseError(`embedded database directory ${dataDir} is in use by another process; stop it first or use another directory`, { cause: error });
    }
    throw error;
  }

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let guarded: GuardedBackend | undefined;
  try {
    db = await PGlite.create({ dataDir: path.join(dataDir, 'pgdata') });
    guarded = guardSharedBackend(db, options.onInternalError === undefined ? {} : { onInternalError: options.onInternalError });
    server = new PGLiteSocketServer({ db: guarded.db, host, port, maxConnections: connections_max, idleTimeout: idle_timeout_ms });
    await server.start().catch((error: unknown) => {
      if ((error as { code?: unknown }).code === 'EADDRINUSE')
        throw new InUseError(`embedded database port ${host}:${port} is already in use`, { cause: error });
      throw error;
    });
  } catch (error) {
    await db?.close().catch(() => undefined);
    lock.release();
    throw error;
  }

  const boundPort = Number(server.getServerConn().split(':').pop());
  const runningServer = server;
  const runningDb = db;
  const backend = guarded;
  let closing: Promise<void> | null = null;
  return {
    url: `postgresql://postgres@${host.includes(':') ? `[${host}]` : host}:${boundPort}/postgres`,
    host,
    port: boundPort,
    dataDir,
    stats() {
      const stats = runningServer.getStats();
      return { connections: stats.activeConnections, queued: stats.queuedQueries };
    },
    close() {
      closing ??= (async () => {
        try {
          await runningServer.stop();
          // stop() detaches connections without waiting for the rollback of a transaction one of them held; let it finish first.
          await backend.settled();
          await runningDb.close();
        } finally {
          lock.release();
        }
      })();
      return closing;
    },
  };
}
