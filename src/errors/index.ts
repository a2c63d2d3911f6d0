/**
 * The project's small set of named errors. Every error that crosses a module
 * boundary is one of these, so callers (the CLI, the gRPC layer) can map them
 * once: `code` is stable and documented in docs/errors.md.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT' // bad flags, malformed JSON, out-of-range values
  | 'NOT_FOUND' // a missing file, an unknown circuit or job
  | 'CORRUPT_FILE' // a zkey/wtns/log file that fails its checks
  | 'MISMATCH' // inputs that are each valid but do not belong together
  | 'BACKEND_UNAVAILABLE' // a backend that cannot run on this host
  | 'DEVICE_LOST' // a GPU device lost or out of memory mid-operation
  | 'VERIFICATION_FAILED' // a proof that does not verify
  | 'NOT_LEADER' // a Raft write sent to a follower
  | 'UNAVAILABLE' // overloaded (a full bounded queue) or shutting down: retry later, possibly elsewhere
  | 'IN_USE' // a resource another process holds (a Raft data directory another node has open)
  | 'RESOURCE_EXHAUSTED' // a bound reached by this caller's request (a full job queue, an oversize message): retry after the hint, or send less
  | 'FAILED_PRECONDITION' // the request is valid but the target's state refuses it (cancelling a finished job)
  | 'CANCELLED' // the work was cancelled by a client before it finished
  | 'DEADLINE_EXCEEDED' // the work's deadline passed before it finished
  | 'INTERNAL'; // a bug: an assertion that should never fail

export class ZkpError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}
export class NotFoundError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}
export class CorruptFileError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CORRUPT_FILE', message, options);
  }
}
export class MismatchError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MISMATCH', message, options);
  }
}
export class BackendUnavailableError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}
export class DeviceLostError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEVICE_LOST', message, options);
  }
}
export class VerificationFailedError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERIFICATION_FAILED', message, options);
  }
}
export class NotLeaderError extends ZkpError {
  readonly leaderId: string | null;
  readonly leaderAddress: string | null;
  constructor(leaderId: string | null, leaderAddress: string | null) {
    super(
      'NOT_LEADER',
      leaderId === null ? 'not the leader; no leader is known yet' : `not the leader; the leader is ${leaderId} at ${leaderAddress ?? 'an unknown address'}`,
    );
    this.leaderId = leaderId;
    this.leaderAddress = leaderAddress;
  }
}

/** The service cannot take the request now (a bounded queue is full, or it is closing); nothing was done; retry later. */
export class UnavailableError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** Another live process holds the resource (e.g. a Raft data directory); nothing was read or written. */
export class InUseError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IN_USE', message, options);
  }
}

/** A bound was reached (a full queue, an oversize message); nothing was done. `retryAfter_ms`, when set, is how long to wait before trying again. */
export class ResourceExhaustedError extends ZkpError {
  readonly retryAfter_ms: number | null;
  constructor(message: string, options?: { cause?: unknown; retryAfter_ms?: number }) {
    super('RESOURCE_EXHAUSTED', message, options);
    this.retryAfter_ms = options?.retryAfter_ms ?? null;
  }
}

/** The request is well formed but the state of its target refuses it (cancelling a job that already finished); nothing was done. */
export class FailedPreconditionError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FAILED_PRECONDITION', message, options);
  }
}

/** The work was cancelled by a client before it finished. */
export class CancelledError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CANCELLED', message, options);
  }
}

/** The work's deadline passed before it finished. */
export class DeadlineExceededError extends ZkpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEADLINE_EXCEEDED', message, options);
  }
}

/** Exit status of a command that stops on an error of each code (complete: a new code needs one; docs/errors.md lists them). */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  VERIFICATION_FAILED: 1,
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  CORRUPT_FILE: 4,
  MISMATCH: 5,
  BACKEND_UNAVAILABLE: 6,
  DEVICE_LOST: 7,
  NOT_LEADER: 8,
  UNAVAILABLE: 9,
  IN_USE: 10,
  RESOURCE_EXHAUSTED: 11,
  FAILED_PRECONDITION: 12,
  CANCELLED: 13,
  DEADLINE_EXCEEDED: 14,
  INTERNAL: 70,
};

/** Invariant check. A failure is a bug to fix, never an error to catch. */
export class AssertionFailure extends ZkpError {
  constructor(message: string) {
    super('INTERNAL', `assertion failed: ${message}`);
  }
}
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionFailure(typeof message === 'string' ? message : message());
}
