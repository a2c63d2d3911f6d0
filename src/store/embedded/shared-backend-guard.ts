/**
 * PGlite is one PostgreSQL backend. @electric-sql/pglite-socket (0.2.17)
 * lets several client connections share it through one queue of protocol
 * messages, and keeps the queue on one connection only while
 * `db.isInTransaction()` is true. That is not enough:
 *
 * - the extended query protocol (Parse, Bind, Describe, Execute ... Sync,
 *   which `pg` uses for every statement with parameters) keeps state in the
 *   backend until ReadyForQuery (the unnamed statement and portal, the
 *   skip-until-Sync state after an error); a message of another connection
 *   in between would run against that state (electric-sql/pglite#1046, #977);
 * - if PGlite throws, the queue stops for good and every connection hangs.
 *
 * `guardSharedBackend` wraps the PGlite instance given to PGLiteSocketServer
 * so that (1) "in a transaction" also covers every exchange from a
 * connection's first message until the backend answers ReadyForQuery, which
 * keeps the queue on that connection for the whole exchange (and for a
 * simple query, a COPY, a startup), and (2) a throw becomes an ErrorResponse
 * (and a ReadyForQuery where the client waits for one) instead of a dead queue;
 * after a failed extended-protocol message the rest of the exchange is
 * skipped until its Sync, as PostgreSQL itself does after an error.
 */
import type { PGlite } from '@electric-sql/pglite';

type RawStreamOptions = Parameters<PGlite['execProtocolRawStream']>[1];

const READY_FOR_QUERY = 'Z'.charCodeAt(0);
const TERMINATE = 'X'.charCodeAt(0);
const SYNC = 'S'.charCodeAt(0);
const QUERY = 'Q'.charCodeAt(0);
const SYNC_MESSAGE = new Uint8Array([SYNC, 0, 0, 0, 4]);
/** Parse, Bind, Describe, Execute, Close, Flush: the messages of an extended-protocol exchange before its Sync. */
const EXTENDED_PROTOCOL_TYPES = new Set([...'PBDECH'].map((letter) => letter.charCodeAt(0)));

/** Follows the backend's output (type byte, int32 length including itself) to know the type of the last complete message. */
class BackendMessageFramer {
  lastType = -1;
  private header = new Uint8Array(5);
  private headerFilled = 0;
  private bodyLeft = 0;

  push(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, data.length - offset);
        this.bodyLeft -= take;
        offset += take;
        continue;
      }
      this.header[this.headerFilled++] = data[offset++]!;
      if (this.headerFilled === 5) {
        const view = new DataView(this.header.buffer);
        this.lastType = this.header[0]!;
        this.bodyLeft = view.getInt32(1) - 4;
        this.headerFilled = 0;
      }
    }
  }

  /** After a throw the output may have stopped mid-message; what follows starts a new one. */
  reset(): void {
    this.lastType = -1;
    this.headerFilled = 0;
    this.bodyLeft = 0;
  }

  /** True when the output so far ends exactly after a ReadyForQuery. */
  get atReadyForQuery(): boolean {
    return this.lastType === READY_FOR_QUERY && this.headerFilled === 0 && this.bodyLeft === 0;
  }
}

export interface SharedBackendGuardOptions {
  /** Told about a PGlite throw (the client got an ErrorResponse). */
  readonly onInternalError?: (error: unknown) => void;
}

export interface GuardedBackend {
  /** Give this to PGLiteSocketServer in place of the PGlite instance. */
  readonly db: PGlite;
  /** Resolves once no call through `db` is in progress (before closing PGlite, so a late rollback does not meet a closed database). */
  settled(): Promise<void>;
}

export function guardSharedBackend(db: PGlite, options: SharedBackendGuardOptions = {}): GuardedBackend {
  let exchangeOpen = false;
  let skippingUntilSync = false;
  const framer = new BackendMessageFramer();
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(operation: Promise<T>): Promise<T> => {
    inFlight.add(operation);
    const forget = (): void => {
      inFlight.delete(operation);
    };
    operation.then(forget, forget);
    return operation;
  };

  const isInTransaction = (): boolean => exchangeOpen || db.isInTransaction();

  const execProtocolRawStream = (message: Uint8Array, streamOptions: RawStreamOptions): Promise<void> => track(runExchangeStep(message, streamOptions));

  const runExchangeStep = async (message: Uint8Array, streamOptions: RawStreamOptions): Promise<void> => {
    const type = message[0];
    if (skippingUntilSync && type !== SYNC) return; // as PostgreSQL does after an error in an extended-protocol exchange
    skippingUntilSync = false;
    let answered = false;
    const onRawData = (data: Uint8Array): void => {
      if (data.length > 0) answered = true;
      framer.push(data);
      streamOptions.onRawData(data);
    };
    exchangeOpen = true;
    try {
      await db.execProtocolRawStream(message, { ...streamOptions, onRawData });
    } catch (error) {
      options.onInternalError?.(error);
      framer.reset();
      onRawData(errorResponse(`embedded database internal error: ${error instanceof Error ? error.message : String(error)}`));
      if (type === SYNC || type === QUERY) onRawData(readyForQuery(safeIsInTransaction(db)));
      else if (type !== undefined && EXTENDED_PROTOCOL_TYPES.has(type)) skippingUntilSync = true;
    }
    // A Terminate gets no answer and ends the exchange; any other message leaves it open until the backend says ReadyForQuery.
    if (type === TERMINATE) exchangeOpen = false;
    else if (answered) exchangeOpen = !framer.atReadyForQuery;
  };

  // pglite-socket calls exec("ROLLBACK") when a connection that holds the queue goes away: close its exchange first.
  const exec = (query: string, execOptions?: Parameters<PGlite['exec']>[1]): ReturnType<PGlite['exec']> =>
    track(
      (async () => {
        if (exchangeOpen) {
          await db.execProtocolRaw(SYNC_MESSAGE).catch(() => undefined);
          exchangeOpen = false;
          skippingUntilSync = false;
        }
        return db.exec(query, execOptions);
      })(),
    );

  const settled = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };

  const guarded = new Proxy(db, {
    get(target, property) {
      if (property === 'isInTransaction') return isInTransaction;
      if (property === 'execProtocolRawStream') return execProtocolRawStream;
      if (property === 'exec') return exec;
      // PGlite keeps state in private class fields: its methods must run with the real instance as `this`.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: guarded, settled };
}

function safeIsInTransaction(db: PGlite): boolean {
  try {
    return db.isInTransaction();
  } catch {
    return false;
  }
}

/** An ErrorResponse: severity ERROR, SQLSTATE XX000 (internal_error), the message. */
function errorResponse(text: string): Uint8Array {
  const fields = Buffer.concat([field('S', 'ERROR'), field('V', 'ERROR'), field('C', 'XX000'), field('M', text), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

function field(code: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(code, 'latin1'), Buffer.from(value, 'utf8'), Buffer.from([0])]);
}

function readyForQuery(inTransaction: boolean): Uint8Array {
  return Buffer.from([READY_FOR_QUERY, 0, 0, 0, 5, (inTransaction ? 'E' : 'I').charCodeAt(0)]);
}
