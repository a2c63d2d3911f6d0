/**
 * The one mapping between the project's errors (src/errors) and gRPC status
 * codes, both ways, with the leader redirect and the retry hint carried in
 * trailing metadata. Servers call toServiceError; clients call fromServiceError.
 */
import * as grpc from '@grpc/grpc-js';
import {
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  ZkpError,
  type ErrorCode,
} from '../errors/index.ts';

export const LEADER_ID_KEY = 'zkp-leader-id';
export const LEADER_ADDRESS_KEY = 'zkp-leader-address';
export const NOT_LEADER_KEY = 'zkp-not-leader';
export const RETRY_AFTER_KEY = 'zkp-retry-after-ms';
export const ERROR_CODE_KEY = 'zkp-error-code';

const STATUS_OF: Readonly<Record<ErrorCode, grpc.status>> = {
  VERIFICATION_FAILED: grpc.status.INVALID_ARGUMENT,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  CORRUPT_FILE: grpc.status.INVALID_ARGUMENT,
  MISMATCH: grpc.status.INVALID_ARGUMENT,
  BACKEND_UNAVAILABLE: grpc.status.UNAVAILABLE,
  DEVICE_LOST: grpc.status.UNAVAILABLE,
  NOT_LEADER: grpc.status.FAILED_PRECONDITION,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  IN_USE: grpc.status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  CANCELLED: grpc.status.CANCELLED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  INTERNAL: grpc.status.INTERNAL,
};

export function grpcStatusOf(code: ErrorCode): grpc.status {
  return STATUS_OF[code];
}

/** A server-side error as gRPC sends it: status, message, and the project's code and hints in metadata. */
export function toServiceError(error: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (!(error instanceof ZkpError)) {
    metadata.set(ERROR_CODE_KEY, 'INTERNAL');
    return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error), metadata };
  }
  metadata.set(ERROR_CODE_KEY, error.code);
  if (error instanceof NotLeaderError) {
    metadata.set(NOT_LEADER_KEY, '1');
    if (error.leaderId !== null) metadata.set(LEADER_ID_KEY, error.leaderId);
    if (error.leaderAddress !== null) metadata.set(LEADER_ADDRESS_KEY, error.leaderAddress);
  }
  if (error instanceof ResourceExhaustedError && error.retryAfter_ms !== null) metadata.set(RETRY_AFTER_KEY, String(error.retryAfter_ms));
  return { code: STATUS_OF[error.code], details: error.message, metadata };
}

function metadataString(metadata: grpc.Metadata | undefined, key: string): string | null {
  const value = metadata?.get(key)[0];
  return value === undefined ? null : String(value);
}

/** A client-side gRPC failure as the project's named error (NotLeaderError with the leader's address for a redirect). */
export function fromServiceError(error: unknown, address: string): ZkpError {
  if (error instanceof ZkpError) return error;
  const serviceError = error as Partial<grpc.ServiceError>;
  const metadata = serviceError.metadata;
  const details = serviceError.details ?? (error instanceof Error ? error.message : String(error));
  if (metadataString(metadata, NOT_LEADER_KEY) === '1')
    return new NotLeaderError(metadataString(metadata, LEADER_ID_KEY), metadataString(metadata, LEADER_ADDRESS_KEY));
  const code = metadataString(metadata, ERROR_CODE_KEY) as ErrorCode | null;
  if (code === 'RESOURCE_EXHAUSTED' || serviceError.code === grpc.status.RESOURCE_EXHAUSTED) {
    const retry = metadataString(metadata, RETRY_AFTER_KEY);
    return new ResourceExhaustedError(details, retry === null ? {} : { retryAfter_ms: Number(retry) });
  }
  if (code !== null && code in STATUS_OF) return new ZkpError(code, details);
  switch (serviceError.code) {
    case grpc.status.INVALID_ARGUMENT:
      return new InvalidArgumentError(details);
    case grpc.status.NOT_FOUND:
      return new NotFoundError(details);
    case grpc.status.FAILED_PRECONDITION:
      return new FailedPreconditionError(details);
    case grpc.status.CANCELLED:
      return new CancelledError(details);
    case grpc.status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(details);
    default:
      return new UnavailableError(`${address}: ${details}`);
  }
}
