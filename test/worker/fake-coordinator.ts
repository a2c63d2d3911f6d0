/**
 * A real gRPC server on loopback speaking zkp.v1.WorkerService, scripted by
 * the test: it records what the worker sends, serves artifacts by hash
 * (optionally slowly, or corrupted), pushes assignments and cancels down the
 * open Assignments stream, and can play a follower (every call answered with
 * the leader redirect of src/api/status.ts). It stands in for the coordinator
 * service until that exists; the worker-coordinator tests proper use the real
 * one.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { workerServiceClient } from '../../src/api/load.ts';
import { toServiceError } from '../../src/api/status.ts';
import type {
  AckMessage,
  ArtifactKindName,
  AssignmentMessage,
  CompleteRequestMessage,
  FailRequestMessage,
  HeartbeatRequestMessage,
  ProgressReportMessage,
  WorkerInfoMessage,
  WorkerInstructionMessage,
} from '../../src/api/types.ts';
import { NotFoundError, NotLeaderError } from '../../src/errors/index.ts';

export interface FakeArtifact {
  readonly kind: ArtifactKindName;
  readonly bytes: Buffer;
}

type Stream = grpc.ServerWritableStream<{ worker_id: string }, WorkerInstructionMessage>;

export interface FakeCoordinatorOptions {
  /** Bytes per FetchArtifact chunk (default 64 KiB). */
  readonly chunk_bytes?: number;
  readonly lease_ms?: number;
  readonly id?: string;
}

export class FakeCoordinator {
  readonly id: string;
  address = '';
  readonly #server = new grpc.Server();
  readonly #chunk_bytes: number;
  lease_ms: number;
  readonly artifacts = new Map<string, FakeArtifact>();
  readonly registrations: WorkerInfoMessage[] = [];
  readonly heartbeats: HeartbeatRequestMessage[] = [];
  readonly progress: ProgressReportMessage[] = [];
  /** performance.now() at each progress report's arrival (same indexes as progress). */
  readonly progressArrivals_ms: number[] = [];
  readonly completes: CompleteRequestMessage[] = [];
  readonly fails: FailRequestMessage[] = [];
  readonly deregisters: string[] = [];
  readonly fetches: string[] = [];
  readonly streamsOpened: string[] = [];
  /** Open Assignments streams by worker id. */
  readonly streams = new Map<string, Stream>();
  /** When set, every call is answered with a redirect to this leader. */
  redirectTo: { id: string; address: string } | null = null;
  /** Delay before an artifact's first chunk (a slow store). */
  fetchDelay_ms = 0;
  /** While set, artifact transfers wait for it (holdFetches()). */
  #fetchGate: Promise<void> | null = null;
  /** Artifacts (by sha256) served with one byte flipped. */
  readonly corruptOnce = new Set<string>();
  readonly corruptAlways = new Set<string>();
  /** Heartbeats answered NOT_FOUND (the cluster forgot the worker) this many times. */
  forgetHeartbeats = 0;
  /** Cancels to hand out with the next heartbeat answer. */
  readonly pendingHeartbeatCancels: string[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(options: FakeCoordinatorOptions = {}) {
    this.id = options.id ?? 'fake-1';
    this.#chunk_bytes = options.chunk_bytes ?? 64 * 1024;
    this.lease_ms = options.lease_ms ?? 600;
    this.#server.addService(workerServiceClient().service, {
      Register: this.#unary((request: { worker: WorkerInfoMessage }) => {
        this.registrations.push(request.worker);
        return { worker_id: request.worker.id, lease_ms: this.lease_ms };
      }),
      Heartbeat: this.#unary((request: HeartbeatRequestMessage) => {
        if (this.forgetHeartbeats > 0) {
          this.forgetHeartbeats--;
          throw new NotFoundError(`worker ${request.worker_id} is not registered`);
        }
        this.heartbeats.push(request);
        return { lease_ms: this.lease_ms, cancel_job_ids: this.pendingHeartbeatCancels.splice(0) };
      }),
      ReportProgress: this.#unary((request: ProgressReportMessage) => {
        this.progress.push(request);
        this.progressArrivals_ms.push(performance.now());
        return ack(true);
      }),
      Complete: this.#unary((request: CompleteRequestMessage) => {
        const duplicate = this.completes.some((earlier) => earlier.job_id === request.job_id && earlier.attempt === request.attempt);
        this.completes.push(request);
        return duplicate ? ack(false, 'duplicate') : ack(true);
      }),
      Fail: this.#unary((request: FailRequestMessage) => {
        this.fails.push(request);
        return ack(true);
      }),
      Deregister: this.#unary((request: { worker_id: string }) => {
        this.deregisters.push(request.worker_id);
        return ack(true);
      }),
      Assignments: (call: Stream) => this.#assignments(call),
      FetchArtifact: (call: grpc.ServerWritableStream<{ sha256: string }, { kind: ArtifactKindName; data: Buffer }>) => void this.#fetch(call),
    });
  }

  async start(port = 0): Promise<string> {
    const bound = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, actual) => (error ? reject(error) : resolve(actual)));
    });
    this.address = `127.0.0.1:${bound}`;
    return this.address;
  }

  /** Adds an artifact; returns its sha256. */
  addArtifact(kind: ArtifactKindName, bytes: Buffer): string {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.artifacts.set(sha256, { kind, bytes });
    return sha256;
  }

  /** Artifact transfers wait (after their headers) until the returned function is called. */
  holdFetches(): () => void {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#fetchGate = gate;
    return () => {
      if (this.#fetchGate === gate) this.#fetchGate = null;
      release();
    };
  }

  /** Pushes an assignment down the worker's stream (false when none is open). */
  assign(workerId: string, assignment: AssignmentMessage): boolean {
    return this.#send(workerId, { assign: assignment, instruction: 'assign' });
  }

  cancel(workerId: string, jobId: string): boolean {
    return this.#send(workerId, { cancel_job_id: jobId, instruction: 'cancel_job_id' });
  }

  /** Plays a follower: open streams end with the redirect, later calls get it too. */
  becomeFollower(leader: { id: string; address: string }): void {
    this.redirectTo = leader;
    for (const stream of this.streams.values()) stream.emit('error', toServiceError(new NotLeaderError(leader.id, leader.address)));
    this.streams.clear();
    this.#changed();
  }

  becomeLeader(): void {
    this.redirectTo = null;
  }

  /** Resolves when `predicate` holds (checked after every recorded call), or rejects after `timeout_ms`. */
  async waitFor(what: string, predicate: () => boolean, timeout_ms = 20_000): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeout_ms} ms waiting for ${what}`));
      }, timeout_ms);
      this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    for (const stream of this.streams.values()) stream.end();
    this.streams.clear();
    this.#server.forceShutdown();
  }

  #changed(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #send(workerId: string, instruction: WorkerInstructionMessage): boolean {
    const stream = this.streams.get(workerId);
    if (stream === undefined || stream.cancelled) return false;
    stream.write(instruction);
    return true;
  }

  #redirect(): Partial<grpc.StatusObject> | null {
    return this.redirectTo === null ? null : toServiceError(new NotLeaderError(this.redirectTo.id, this.redirectTo.address));
  }

  #unary<Req, Res>(handle: (request: Req) => Res) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const redirect = this.#redirect();
      if (redirect !== null) {
        callback(redirect);
        return;
      }
      try {
        callback(null, handle(call.request));
      } catch (error) {
        callback(toServiceError(error));
      } finally {
        this.#changed();
      }
    };
  }

  #assignments(call: Stream): void {
    const redirect = this.#redirect();
    if (redirect !== null) {
      call.emit('error', redirect);
      return;
    }
    const workerId = call.request.worker_id;
    // Headers at once: the router counts the stream open before any assignment exists.
    call.sendMetadata(new grpc.Metadata());
    this.streams.get(workerId)?.end();
    this.streams.set(workerId, call);
    this.streamsOpened.push(workerId);
    const forget = () => {
      if (this.streams.get(workerId) === call) this.streams.delete(workerId);
      this.#changed();
    };
    call.on('cancelled', forget);
    call.on('close', forget);
    this.#changed();
  }

  async #fetch(call: grpc.ServerWritableStream<{ sha256: string }, { kind: ArtifactKindName; data: Buffer }>): Promise<void> {
    const redirect = this.#redirect();
    if (redirect !== null) {
      call.emit('error', redirect);
      return;
    }
    const sha256 = call.request.sha256;
    this.fetches.push(sha256);
    this.#changed();
    const artifact = this.artifacts.get(sha256);
    if (artifact === undefined) {
      call.emit('error', toServiceError(new NotFoundError(`no artifact ${sha256}`)));
      return;
    }
    // Headers at once, as a store-backed server would: the router counts the stream open.
    call.sendMetadata(new grpc.Metadata());
    if (this.fetchDelay_ms > 0) await new Promise((resolve) => setTimeout(resolve, this.fetchDelay_ms));
    if (this.#fetchGate !== null) await this.#fetchGate;
    let bytes = artifact.bytes;
    if (this.corruptAlways.has(sha256) || this.corruptOnce.delete(sha256)) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1]! ^= 0xff;
    }
    for (let at = 0; at < bytes.length; at += this.#chunk_bytes) {
      if (call.cancelled) return;
      call.write({ kind: artifact.kind, data: bytes.subarray(at, at + this.#chunk_bytes) });
    }
    call.end();
  }
}

function ack(accepted: boolean, reason = ''): AckMessage {
  return { accepted, reason };
}
