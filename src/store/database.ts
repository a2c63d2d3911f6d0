/**
 * The store's connection pool: pg's Pool with bounded connect and query
 * timeouts, and one place that turns "the database is unreachable" into
 * UnavailableError naming the database (password hidden). Everything in
 * src/store reaches PostgreSQL (or the embedded PGlite) through this.
 */
import pg from 'pg';
import { UnavailableError } from '../errors/index.ts';
import { describeConnectionError, isUnavailableError } from './connection-errors.ts';
import { checkDatabaseUrl, redactDatabaseUrl } from './database-url.ts';

export interface StoreLogger {
  warn(obj: object, msg?: string): void;
}

export const silentStoreLogger: StoreLogger = { warn() {} };

export interface DatabaseOptions {
  readonly databaseUrl: string;
  /** Pool size per process. Default 4. */
  readonly connections_max?: number;
  /** Bound on opening one connection (TCP + startup). Default 5,000 ms. */
  readonly connect_timeout_ms?: number;
  /** Bound on one statement's round trip, so a hung server fails calls instead of stalling them. Default 30,000 ms. */
  readonly query_timeout_ms?: number;
  /** An idle pooled connection is closed after this. Default 10,000 ms (below the embedded server's idle limit). */
  readonly idle_timeout_ms?: number;
  readonly logger?: StoreLogger;
}

export const DATABASE_DEFAULTS = {
  connections_max: 4,
  connect_timeout_ms: 5_000,
  query_timeout_ms: 30_000,
  idle_timeout_ms: 10_000,
} as const;

/**
 * A statement and its parameters. Results come in text format (bytea as hex,
 * which pg decodes to a Buffer): pg's binary result mode decodes every value
 * as UTF-8 text, which would corrupt bytea.
 */
export interface Statement {
  readonly text: string;
  readonly values?: readonly unknown[];
}

/** What a transaction body may do: statements on the transaction's one connection. */
export interface Transaction {
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(statement: Statement | string): Promise<pg.QueryResult<Row>>;
}

export class Database {
  /** The database URL with its password hidden: for messages and logs. */
  readonly url: string;
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(options: DatabaseOptions) {
    checkDatabaseUrl(options.databaseUrl);
    this.url = redactDatabaseUrl(options.databaseUrl);
    const logger = options.logger ?? silentStoreLogger;
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.connections_max ?? DATABASE_DEFAULTS.connections_max,
      connectionTimeoutMillis: options.connect_timeout_ms ?? DATABASE_DEFAULTS.connect_timeout_ms,
      query_timeout: options.query_timeout_ms ?? DATABASE_DEFAULTS.query_timeout_ms,
      idleTimeoutMillis: options.idle_timeout_ms ?? DATABASE_DEFAULTS.idle_timeout_ms,
      keepAlive: true,
      application_name: 'zkp-store',
      // Idle connections must not keep a process alive that is otherwise done (a CLI command).
      allowExitOnIdle: true,
    });
    // An idle pooled connection that the server drops emits 'error' on the pool; without a listener that would crash the process.
    // pg already removed the connection; the next call opens a new one.
    this.pool.on('error', (error) => logger.warn({ err: error, database: this.url }, 'an idle database connection failed; it was dropped'));
  }

  async query<Row extends pg.QueryResultRow = pg.QueryResultRow>(statement: Statement | string, what: string): Promise<pg.QueryResult<Row>> {
    this.checkOpen();
    try {
      return await this.pool.query<Row>(toQueryConfig(statement));
    } catch (error) {
      throw this.translate(error, what);
    }
  }

  /**
   * Runs `body` between BEGIN and COMMIT on one connection; ROLLBACK when it
   * throws. Keep bodies short and free of other database calls: in embedded
   * mode every other connection waits while a transaction is open.
   */
  async transaction<T>(what: string, body: (tx: Transaction) => Promise<T>): Promise<T> {
    this.checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.translate(error, what);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await body({ query: <Row extends pg.QueryResultRow>(statement: Statement | string) => client.query<Row>(toQueryConfig(statement)) });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isUnavailableError(error)) {
        broken = error;
      } else {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError;
        });
      }
      throw this.translate(error, what);
    } finally {
      // A connection that failed mid-transaction is discarded, never reused in an unknown state.
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  /** Closes every connection. Idempotent; later calls fail with UnavailableError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** UnavailableError for connection failures (naming the database and the operation); any other error unchanged. */
  translate(error: unknown, what: string): unknown {
    if (error instanceof UnavailableError) return error;
    if (!isUnavailableError(error)) return error;
    return new UnavailableError(`database ${this.url} is unavailable (${what}): ${describeConnectionError(error)}`, { cause: error });
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError(`the store for ${this.url} is closed`);
  }
}

function toQueryConfig(statement: Statement | string): pg.QueryConfig {
  if (typeof statement === 'string') return { text: statement };
  return statement.values === undefined ? { text: statement.text } : { text: statement.text, values: [...statement.values] };
}
