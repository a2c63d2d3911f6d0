/**
 * LeaderRouter: sends gRPC calls to the coordinator cluster's leader and
 * follows it across redirects and failovers. One insecure channel per
 * coordinator address (JobService, WorkerService and AdminService clients
 * share it).
 *
 * Routing: a call goes to the believed leader (at first, the first address).
 * Retry rules, per call, all inside one overall deadline (`deadline_ms`,
 * default 10 s) after which the call fails with UnavailableError naming the
 * addresses tried and the last error:
 *
 * 1. Redirect (NotLeaderError with a leader address, from src/api/status.ts):
 *    the follower did nothing, so ANY call is retried at once on the named
 *    address (added to the list when unknown). A redirect to the address just
 *    tried, or a second redirect in a row, waits one backoff first (stale
 *    leader hints during an election must not spin).
 * 2. NotLeaderError without an address (no leader known; an election is on):
 *    nothing was done; ANY call is retried on the next address after a backoff.
 * 3. Connection failure before the request was sent (the channel did not
 *    become READY: refused, reset, unreachable): nothing was sent; ANY call is
 *    retried on the next address after a backoff.
 * 4. UNAVAILABLE sent by the server itself (zkp-error-code UNAVAILABLE: "full
 *    or closing, nothing was done"): ANY call is retried on the next address.
 * 5. UNAVAILABLE from the transport after the request was sent (the
 *    connection broke mid-call), or no answer within the attempt timeout
 *    (`attempt_timeout_ms`, default 3 s; a hung or SIGSTOPped leader): the
 *    outcome is unknown. Idempotent calls (`{idempotent: true}`: reads, a
 *    submit carrying an idempotency key, a content-addressed upload) are
 *    retried on the next address after a backoff; other calls fail with
 *    UnavailableError saying the outcome is unknown.
 * 6. Anything else (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, ...) is
 *    the answer: it is returned as the project's named error, not retried.
 *    (RESOURCE_EXHAUSTED retry hints are the caller's business: the SDK's
 *    submitJob waits them.)
 *
 * Backoff: full jitter, uniform in [backoff_ms_min, min(backoff_ms_max,
 * backoff_ms_min * 2^n)] for the n-th wait of a call, never past the deadline.
 *
 * Stale reads (`{stale: true}`) may be answered by any node: they go to the
 * believed leader when one is known and rotate through the addresses on
 * failure like any read. A success of a non-stale call marks its address as
 * the leader (only the leader answers writes and linearizable reads).
 *
 * Server streams (serverStream) follow the same rules until the stream is
 * open (response headers or the first message arrived); after that,
 * redirects that arrive before the first message are still followed
 * transparently, and any later error is the consumer's (e.g. the SDK's
 * watchJob re-opens the watch on the new leader). A stream server that may
 * stay silent for long (WorkerService.Assignments) should send its headers at
 * once (`call.sendMetadata(new grpc.Metadata())`) so the stream counts as open.
 *
 * Client streams (clientStream, for RegisterCircuit) are re-sent from the
 * start on a retry: the caller passes a function that writes the whole
 * stream and may be called more than once.
 */
import { setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { adminServiceClient, jobServiceClient, workerServiceClient } from '../api/load.ts';
import { ERROR_CODE_KEY, fromServiceError } from '../api/status.ts';
import {
  BackendUnavailableError,
  CancelledError,
  CorruptFileError,
  DeadlineExceededError,
  DeviceLostError,
  FailedPreconditionError,
  InUseError,
  InvalidArgumentError,
  MismatchError,
  NotFoundError,
  NotLeaderError,
  UnavailableError,
  VerificationFailedError,
  ZkpError,
} from '../errors/index.ts';

export type ServiceName = 'job' | 'worker' | 'admin';

/** pino-compatible (a pino Logger fits). */
export interface RouterLogger {
  debug(fields: Record<string, unknown>, message: string): void;
}

export interface LeaderRouterOptions {
  /** Overall bound on one call including every retry (default 10,000). */
  readonly deadline_ms?: number;
  /** Bound on one attempt of a unary or client-stream call before it counts as unanswered (default 3,000). */
  readonly attempt_timeout_ms?: number;
  /** Bound on connecting to one address before trying the next (default 1,000). */
  readonly connect_timeout_ms?: number;
  /** First backoff wait (default 25). */
  readonly backoff_ms_min?: number;
  /** Largest backoff wait (default 250). */
  readonly backoff_ms_max?: number;
  readonly logger?: RouterLogger;
  /** Extra grpc channel options (e.g. keepalive), merged over the router's. */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Uniform [0,1) source for the jitter (default Math.random), for tests. */
  readonly random?: () => number;
}

export interface CallOptions {
  /** The call may be repeated safely when its outcome is unknown (rule 5). Default false. */
  readonly idempotent?: boolean;
  /** A stale read: any node may answer (the request itself must carry stale_ok). Default false. */
  readonly stale?: boolean;
  /** Overrides the router's deadline_ms for this call. */
  readonly deadline_ms?: number;
  /** Overrides the router's attempt_timeout_ms for this call (a large upload needs more). */
  readonly attempt_timeout_ms?: number;
  /** Sent with every attempt. */
  readonly metadata?: grpc.Metadata;
  /** Aborting rejects the call with CancelledError (and cancels the attempt in flight). */
  readonly signal?: AbortSignal;
}

/** What a clientStream writer writes into. write() resolves when the message may be followed by another (flow control). */
export interface StreamSink<Req> {
  write(message: Req): Promise<void>;
}

export const ROUTER_DEFAULTS = {
  deadline_ms: 10_000,
  attempt_timeout_ms: 3_000,
  connect_timeout_ms: 1_000,
  backoff_ms_min: 25,
  // An election here takes 150-500 ms; waits of up to 1 s after it had ended
  // added most of a failover's delay as clients saw it.
  backoff_ms_max: 250,
} as const;

/**
 * Channel options: reconnect quickly after a coordinator comes back (grpc's
 * default first reconnect backoff is 1 s, longer than a failover should take);
 * while calls are open, ping every 2 s and give up on a connection whose ping
 * goes unanswered for 1 s, so a stream from a hung (SIGSTOPped) leader breaks
 * within ~3 s instead of never (the coordinator's server permits pings every
 * 1 s); allow messages as large as the service accepts.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.keepalive_time_ms': 2_000,
  'grpc.keepalive_timeout_ms': 1_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Checks a "host:port" coordinator address; throws InvalidArgumentError naming it. */
export function checkAddress(address: string): string {
  const match = HOST_PORT.exec(address);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !(port >= 1 && port <= 65535)) throw new InvalidArgumentError(`coordinator address "${address}" is not host:port`);
  return address;
}

interface Channelled {
  readonly job: grpc.Client;
  readonly worker: grpc.Client;
  readonly admin: grpc.Client;
}

type Classification =
  | { kind: 'redirect'; leaderAddress: string }
  | { kind: 'no-leader' }
  | { kind: 'not-sent' }
  | { kind: 'server-unavailable' }
  | { kind: 'unknown-outcome' }
  | { kind: 'answer' };

/** An error that happened before the request left this process (rule 3). */
class NotSentError extends Error {}

/** A stream that did not open within the attempt timeout (rule 5: outcome unknown). */
class NotAnsweredError extends Error {}

/** The writer of a client stream hit a call that already ended; its status tells why. */
class StreamEndedError extends Error {}

export class LeaderRouter {
  readonly #addresses: string[];
  readonly #clients = new Map<string, Channelled>();
  readonly #options: Required<Omit<LeaderRouterOptions, 'logger' | 'channelOptions'>> & Pick<LeaderRouterOptions, 'logger'>;
  readonly #channelOptions: grpc.ChannelOptions;
  #leader: string | null = null;
  /** Where the next call without a known leader goes (index into #addresses). */
  #cursor = 0;
  #closed = false;
  readonly #closing = LeaderRouter.#closingController();

  /** Every call in flight listens on it: no listener limit (the default 10 warned at 11 calls in flight). */
  static #closingController(): AbortController {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  }

  constructor(addresses: readonly string[], options: LeaderRouterOptions = {}) {
    if (addresses.length === 0) throw new InvalidArgumentError('no coordinator addresses given (set --coordinators or ZKP_COORDINATORS)');
    this.#addresses = [...new Set(addresses.map(checkAddress))];
    this.#options = {
      deadline_ms: options.deadline_ms ?? ROUTER_DEFAULTS.deadline_ms,
      attempt_timeout_ms: options.attempt_timeout_ms ?? ROUTER_DEFAULTS.attempt_timeout_ms,
      connect_timeout_ms: options.connect_timeout_ms ?? ROUTER_DEFAULTS.connect_timeout_ms,
      backoff_ms_min: options.backoff_ms_min ?? ROUTER_DEFAULTS.backoff_ms_min,
      backoff_ms_max: options.backoff_ms_max ?? ROUTER_DEFAULTS.backoff_ms_max,
      random: options.random ?? Math.random,
      logger: options.logger,
    };
    for (const [name, value] of Object.entries(this.#options)) {
      if (typeof value === 'number' && !(Number.isFinite(value) && value > 0))
        throw new InvalidArgumentError(`LeaderRouter option ${name} must be > 0, got ${value}`);
    }
    if (this.#options.backoff_ms_max < this.#options.backoff_ms_min)
      throw new InvalidArgumentError('LeaderRouter option backoff_ms_max is below backoff_ms_min');
    this.#channelOptions = { ...CHANNEL_OPTIONS, ...options.channelOptions };
  }

  /** The address believed to lead (null until a write or linearizable read succeeded or a redirect named it). */
  get leaderAddress(): string | null {
    return this.#leader;
  }

  /** Every address known: the configured ones, then any learned from redirects. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /** One unary call, routed and retried as the header says. */
  async unary<Req, Res>(service: ServiceName, method: string, request: Req, options: CallOptions = {}): Promise<Res> {
    return this.#withRetries(service, method, options, (client, _address, attemptDeadline, signal) =>
      this.#unaryAttempt<Req, Res>(client, method, request, options.metadata, attemptDeadline, signal),
    );
  }

  /**
   * One client-streaming call: `write` writes every message (it may be called
   * again for a retry); the router ends the stream after it resolves.
   */
  async clientStream<Req, Res>(service: ServiceName, method: string, write: (sink: StreamSink<Req>) => Promise<void>, options: CallOptions = {}): Promise<Res> {
    return this.#withRetries(service, method, options, (client, _address, attemptDeadline, signal) =>
      this.#clientStreamAttempt<Req, Res>(client, method, write, options.metadata, attemptDeadline, signal),
    );
  }

  /**
   * Opens a server stream on the leader (any node for `stale`); resolves once
   * it is open (headers or first message). Iterate it with `for await`;
   * errors are the project's named errors; cancel() ends it quietly.
   */
  async serverStream<Req, Res>(service: ServiceName, method: string, request: Req, options: CallOptions = {}): Promise<RoutedStream<Res>> {
    // Opening a stream changes nothing on the server, so it is retried like an idempotent call.
    const open = () =>
      this.#withRetries(service, method, { ...options, idempotent: true }, (client, address, attemptDeadline, signal) => {
        const call = this.#method(client, method).call(client, request, options.metadata ?? new grpc.Metadata()) as grpc.ClientReadableStream<Res>;
        return openAttempt(call, address, attemptDeadline, signal);
      });
    const stream = new RoutedStream<Res>(open, await open());
    return stream;
  }

  /** Closes every channel; calls in flight or waiting fail with CancelledError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    for (const clients of this.#clients.values()) clients.job.close();
    this.#clients.clear();
  }

  // ---- the retry loop ----

  async #withRetries<T>(
    service: ServiceName,
    method: string,
    options: CallOptions,
    attempt: (client: grpc.Client, address: string, attemptDeadline: number, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new CancelledError('the coordinator client is closed');
    const started_ms = Date.now();
    const deadline = started_ms + (options.deadline_ms ?? this.#options.deadline_ms);
    const attemptTimeout_ms = options.attempt_timeout_ms ?? this.#options.attempt_timeout_ms;
    // AbortSignal.any costs tens of microseconds and lingers until collected: only when the caller brought a signal.
    const signal = options.signal === undefined ? this.#closing.signal : AbortSignal.any([this.#closing.signal, options.signal]);
    const tried = new Set<string>();
    let lastError: ZkpError | null = null;
    let waits = 0;
    let redirectsInARow = 0;
    let address = this.#pick();
    for (;;) {
      if (signal.aborted) throw new CancelledError(`${method} cancelled${this.#closed ? ': the coordinator client is closed' : ''}`);
      const now = Date.now();
      if (now >= deadline) throw this.#exhausted(method, started_ms, tried, lastError);
      tried.add(address);
      const client = this.#client(address)[service];
      let classification: Classification;
      try {
        await this.#connect(client, address, Math.min(deadline, now + this.#options.connect_timeout_ms), signal);
        const result = await attempt(client, address, Math.min(deadline, Date.now() + attemptTimeout_ms), signal);
        if (!options.stale) this.#leader = address;
        return result;
      } catch (error) {
        if (signal.aborted) throw new CancelledError(`${method} cancelled${this.#closed ? ': the coordinator client is closed' : ''}`, { cause: error });
        classification = classify(error);
        const attemptError =
          error instanceof NotSentError || error instanceof NotAnsweredError
            ? new UnavailableError(`${address}: ${error.message}`)
            : namedError(error, address);
        this.#options.logger?.debug({ method, address, classification: classification.kind, error: attemptError.message }, 'coordinator call attempt failed');
        if (classification.kind === 'answer') throw attemptError;
        // An attempt cut short by the call's own deadline says less than what the attempts before it were told (e.g. "no leader is known").
        const cutByDeadline = (classification.kind === 'unknown-outcome' || classification.kind === 'not-sent') && Date.now() >= deadline;
        const lastBefore: ZkpError | null = lastError;
        const retryable = options.idempotent === true || classification.kind === 'not-sent';
        lastError = cutByDeadline && lastBefore !== null && retryable ? lastBefore : attemptError;
        if (classification.kind === 'unknown-outcome' && !options.idempotent) {
          throw new UnavailableError(
            `${method} to ${address} failed after the request was sent; the outcome is unknown (${lastError.message}); not retried because the call is not idempotent`,
            { cause: lastError },
          );
        }
      }
      if (classification.kind === 'redirect') {
        const target = classification.leaderAddress;
        const wait = target === address || redirectsInARow > 0;
        redirectsInARow++;
        this.#learnLeader(target);
        address = target;
        if (wait) await this.#backoff(waits++, deadline, signal);
        continue;
      }
      redirectsInARow = 0;
      if (this.#leader === address) this.#leader = null;
      address = this.#next(address);
      await this.#backoff(waits++, deadline, signal);
    }
  }

  #exhausted(method: string, started_ms: number, tried: ReadonlySet<string>, lastError: ZkpError | null): UnavailableError {
    const elapsed_ms = Date.now() - started_ms;
    const last = lastError === null ? '' : `; last error: ${lastError.message}`;
    return new UnavailableError(`${method}: no coordinator leader answered within ${elapsed_ms} ms (tried ${[...tried].join(', ')})${last}`, {
      cause: lastError ?? undefined,
    });
  }

  #pick(): string {
    if (this.#leader !== null) return this.#leader;
    const address = this.#addresses[this.#cursor % this.#addresses.length];
    return address!;
  }

  #next(after: string): string {
    const index = this.#addresses.indexOf(after);
    this.#cursor = (index + 1) % this.#addresses.length;
    return this.#addresses[this.#cursor]!;
  }

  #learnLeader(address: string): void {
    if (!this.#addresses.includes(address)) this.#addresses.push(address);
    this.#leader = address;
  }

  async #backoff(waits: number, deadline: number, signal: AbortSignal): Promise<void> {
    const { backoff_ms_min, backoff_ms_max, random } = this.#options;
    const ceiling_ms = Math.min(backoff_ms_max, backoff_ms_min * 2 ** Math.min(waits, 30));
    const wait_ms = Math.min(backoff_ms_min + random() * (ceiling_ms - backoff_ms_min), Math.max(0, deadline - Date.now()));
    await sleep(wait_ms, signal);
  }

  // ---- channels ----

  #client(address: string): Channelled {
    let clients = this.#clients.get(address);
    if (clients === undefined) {
      const credentials = grpc.credentials.createInsecure();
      const JobClient = jobServiceClient();
      const job = new JobClient(address, credentials, this.#channelOptions);
      const channelOverride = job.getChannel();
      const WorkerClient = workerServiceClient();
      const AdminClient = adminServiceClient();
      clients = {
        job,
        worker: new WorkerClient(address, credentials, { channelOverride }),
        admin: new AdminClient(address, credentials, { channelOverride }),
      };
      this.#clients.set(address, clients);
    }
    return clients;
  }

  #method(client: grpc.Client, method: string): (...args: unknown[]) => unknown {
    const fn = (client as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new InvalidArgumentError(`unknown gRPC method ${method}`);
    return fn as (...args: unknown[]) => unknown;
  }

  /** Resolves once the channel is READY; throws NotSentError when it fails or stays unready until `until`. */
  async #connect(client: grpc.Client, address: string, until: number, signal: AbortSignal): Promise<void> {
    const channel = client.getChannel();
    for (;;) {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return;
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) throw new NotSentError(`cannot connect to ${address}`);
      if (state === grpc.connectivityState.SHUTDOWN) throw new NotSentError(`the channel to ${address} is closed`);
      if (Date.now() >= until || signal.aborted) throw new NotSentError(`no connection to ${address} within the connect timeout`);
      await new Promise<void>((resolve) => {
        channel.watchConnectivityState(state, until, () => resolve());
      });
    }
  }

  // ---- attempts ----

  #unaryAttempt<Req, Res>(
    client: grpc.Client,
    method: string,
    request: Req,
    metadata: grpc.Metadata | undefined,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Res> {
    const fn = this.#method(client, method);
    return new Promise<Res>((resolve, reject) => {
      const call = fn.call(client, request, metadata ?? new grpc.Metadata(), { deadline }, (error: grpc.ServiceError | null, response: Res) => {
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(response);
      }) as grpc.ClientUnaryCall;
      const onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #clientStreamAttempt<Req, Res>(
    client: grpc.Client,
    method: string,
    write: (sink: StreamSink<Req>) => Promise<void>,
    metadata: grpc.Metadata | undefined,
    deadline: number,
    signal: AbortSignal,
  ): Promise<Res> {
    const fn = this.#method(client, method);
    return new Promise<Res>((resolve, reject) => {
      let ended = false;
      const onAbort = () => call.cancel();
      const call = fn.call(client, metadata ?? new grpc.Metadata(), { deadline }, (error: grpc.ServiceError | null, response: Res) => {
        ended = true;
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(response);
      }) as grpc.ClientWritableStream<Req>;
      signal.addEventListener('abort', onAbort, { once: true });
      const sink: StreamSink<Req> = {
        write: (message) =>
          new Promise<void>((done, fail) => {
            if (ended) {
              fail(new StreamEndedError('the call ended'));
              return;
            }
            if (call.write(message)) done();
            else call.once('drain', () => done());
          }),
      };
      write(sink).then(
        () => {
          if (!ended) call.end();
        },
        (error: unknown) => {
          // The call already ended: its callback reports the status.
          if (error instanceof StreamEndedError) return;
          call.cancel();
          reject(error instanceof ZkpError ? error : new InvalidArgumentError(`writing the ${method} stream failed: ${String(error)}`, { cause: error }));
        },
      );
    });
  }
}

/**
 * A server stream that may be re-opened while nothing was delivered yet (a
 * redirect after the headers). `for await` yields messages; errors arrive as
 * the project's named errors; cancel() ends the iteration without an error.
 */
export class RoutedStream<Res> implements AsyncIterable<Res> {
  readonly #open: () => Promise<OpenedAttempt<Res>>;
  #current: OpenedAttempt<Res>;
  #delivered = false;
  #cancelled = false;

  constructor(open: () => Promise<OpenedAttempt<Res>>, opened: OpenedAttempt<Res>) {
    this.#open = open;
    this.#current = opened;
  }

  /** The address of the coordinator this stream reads from. */
  get address(): string {
    return this.#current.address;
  }

  /** Ends the stream; an iteration in progress ends without an error. */
  cancel(): void {
    this.#cancelled = true;
    this.#current.call.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Res> {
    for (;;) {
      if (this.#cancelled) return;
      const current = this.#current;
      let result: IteratorResult<Res>;
      try {
        result = await (current.first ?? current.iterator.next());
        current.first = null;
      } catch (error) {
        current.first = null;
        if (this.#cancelled) return;
        const kind = classify(error).kind;
        if (!this.#delivered && (kind === 'redirect' || kind === 'no-leader' || kind === 'server-unavailable')) {
          this.#current = await this.#open();
          continue;
        }
        throw namedError(error, current.address);
      }
      if (result.done) return;
      this.#delivered = true;
      yield result.value;
    }
  }
}

/** One opened attempt of a server stream. */
export interface OpenedAttempt<Res> {
  readonly call: grpc.ClientReadableStream<Res>;
  readonly address: string;
  readonly iterator: AsyncIterator<Res>;
  /** The first next(), started while opening; consumed by the first iteration. */
  first: Promise<IteratorResult<Res>> | null;
}

/**
 * Waits until the stream shows it is open (headers, a first message or a
 * clean end) before `deadline`; rejects with its error, or NotAnsweredError.
 */
async function openAttempt<Res>(call: grpc.ClientReadableStream<Res>, address: string, deadline: number, signal: AbortSignal): Promise<OpenedAttempt<Res>> {
  const iterator = (call as unknown as AsyncIterable<Res>)[Symbol.asyncIterator]();
  const first = iterator.next();
  // Observed here; the consumer's first iteration sees the same outcome.
  first.catch(() => {});
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const headers = new Promise<void>((resolve) => call.once('metadata', () => resolve()));
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new NotAnsweredError(`${address} did not open the stream in time`)), Math.max(0, deadline - Date.now()));
    });
    await Promise.race([first, headers, timeout]);
  } catch (error) {
    call.cancel();
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
  return { call, address, iterator, first };
}

const NAMED: Partial<Record<ZkpError['code'], new (message: string) => ZkpError>> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: NotFoundError,
  CORRUPT_FILE: CorruptFileError,
  MISMATCH: MismatchError,
  BACKEND_UNAVAILABLE: BackendUnavailableError,
  DEVICE_LOST: DeviceLostError,
  VERIFICATION_FAILED: VerificationFailedError,
  UNAVAILABLE: UnavailableError,
  IN_USE: InUseError,
  FAILED_PRECONDITION: FailedPreconditionError,
  CANCELLED: CancelledError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
};

/**
 * fromServiceError, then the named class for the code (fromServiceError
 * answers a bare ZkpError for a code it read from the metadata), so callers
 * may test `instanceof NotFoundError`.
 */
export function namedError(error: unknown, address: string): ZkpError {
  const decoded = fromServiceError(error, address);
  if (decoded.constructor !== ZkpError) return decoded;
  const Named = NAMED[decoded.code];
  return Named === undefined ? decoded : new Named(decoded.message);
}

function isGrpcError(error: unknown): error is grpc.ServiceError {
  return typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'number';
}

/** Which retry rule (header) an attempt's failure falls under. */
function classify(error: unknown): Classification {
  if (error instanceof NotSentError) return { kind: 'not-sent' };
  if (error instanceof NotAnsweredError) return { kind: 'unknown-outcome' };
  if (!isGrpcError(error)) {
    if (error instanceof NotLeaderError) return error.leaderAddress === null ? { kind: 'no-leader' } : { kind: 'redirect', leaderAddress: error.leaderAddress };
    return { kind: 'answer' };
  }
  const decoded = fromServiceError(error, '');
  if (decoded instanceof NotLeaderError) {
    if (decoded.leaderAddress === null) return { kind: 'no-leader' };
    try {
      return { kind: 'redirect', leaderAddress: checkAddress(decoded.leaderAddress) };
    } catch {
      return { kind: 'no-leader' };
    }
  }
  if (error.code === grpc.status.UNAVAILABLE) {
    const code = error.metadata?.get(ERROR_CODE_KEY)[0];
    if (code === 'UNAVAILABLE') return { kind: 'server-unavailable' };
    if (code === undefined) return { kind: 'unknown-outcome' };
    return { kind: 'answer' };
  }
  if (error.code === grpc.status.DEADLINE_EXCEEDED && error.metadata?.get(ERROR_CODE_KEY)[0] === undefined) return { kind: 'unknown-outcome' };
  return { kind: 'answer' };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
