/**
 * The worker's calls to the coordinators (zkp.v1.WorkerService), typed, all
 * through the LeaderRouter (src/client/leader-router.ts), which finds the
 * leader and follows redirects with backoff. Every worker call is idempotent
 * on the service side (Register and Heartbeat by worker id; Progress,
 * Complete and Fail name the job and attempt, a duplicate is answered
 * `accepted: false`), so each is retried by the router when its outcome is
 * unknown.
 */
import type {
  AckMessage,
  ArtifactChunkMessage,
  CompleteRequestMessage,
  FailRequestMessage,
  HeartbeatRequestMessage,
  HeartbeatResponseMessage,
  ProgressReportMessage,
  WorkerInfoMessage,
  WorkerInstructionMessage,
} from '../api/types.ts';
import type { LeaderRouter, RoutedStream } from '../client/leader-router.ts';

/** zkp.v1.RegisterWorkerResponse (not in src/api/types.ts). */
export interface RegisterWorkerResponseMessage {
  worker_id: string;
  /** Heartbeat at least every lease_ms / 3. */
  lease_ms: number;
}

export interface LinkCallOptions {
  readonly deadline_ms?: number;
  readonly signal?: AbortSignal;
}

export class WorkerLink {
  readonly #router: LeaderRouter;

  constructor(router: LeaderRouter) {
    this.#router = router;
  }

  /** The coordinator believed to lead (null until one answered). */
  get leaderAddress(): string | null {
    return this.#router.leaderAddress;
  }

  register(worker: WorkerInfoMessage, options: LinkCallOptions = {}): Promise<RegisterWorkerResponseMessage> {
    return this.#unary('Register', { worker }, options);
  }

  heartbeat(request: HeartbeatRequestMessage, options: LinkCallOptions = {}): Promise<HeartbeatResponseMessage> {
    return this.#unary('Heartbeat', request, options);
  }

  reportProgress(request: ProgressReportMessage, options: LinkCallOptions = {}): Promise<AckMessage> {
    return this.#unary('ReportProgress', request, options);
  }

  complete(request: CompleteRequestMessage, options: LinkCallOptions = {}): Promise<AckMessage> {
    return this.#unary('Complete', request, options);
  }

  fail(request: FailRequestMessage, options: LinkCallOptions = {}): Promise<AckMessage> {
    return this.#unary('Fail', request, options);
  }

  deregister(workerId: string, options: LinkCallOptions = {}): Promise<AckMessage> {
    return this.#unary('Deregister', { worker_id: workerId }, options);
  }

  /** Opens the Assignments stream on the leader. */
  assignments(workerId: string, options: LinkCallOptions = {}): Promise<RoutedStream<WorkerInstructionMessage>> {
    return this.#router.serverStream<{ worker_id: string }, WorkerInstructionMessage>('worker', 'Assignments', { worker_id: workerId }, callOptions(options));
  }

  /** An artifact's bytes as FetchArtifact streams them; aborting the signal ends it with the abort reason. */
  async *fetchArtifact(sha256: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    const stream = await this.#router.serverStream<{ sha256: string }, ArtifactChunkMessage>(
      'worker',
      'FetchArtifact',
      { sha256 },
      callOptions(signal === undefined ? {} : { signal }),
    );
    const onAbort = () => stream.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of stream) yield chunk.data;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
    // cancel() ends the iteration quietly: a cut-off artifact must not look complete.
    if (signal?.aborted) throw signal.reason;
  }

  close(): void {
    this.#router.close();
  }

  #unary<Req, Res>(method: string, request: Req, options: LinkCallOptions): Promise<Res> {
    return this.#router.unary<Req, Res>('worker', method, request, callOptions(options));
  }
}

function callOptions(options: LinkCallOptions) {
  return {
    idempotent: true,
    ...(options.deadline_ms === undefined ? {} : { deadline_ms: options.deadline_ms }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}
