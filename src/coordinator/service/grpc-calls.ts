/**
 * Adapters from async handlers to grpc-js's callback and stream shapes. Every
 * failure leaves through toServiceError (src/api/status.ts), the one mapping
 * of the project's errors to gRPC statuses; an error that is not a ZkpError
 * is a bug and is logged as one.
 */
import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from '../../api/status.ts';
import { ZkpError } from '../../errors/index.ts';
import type { DriverLogger } from '../../raft/logger.ts';

export type UnaryHandler<Req, Res> = (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>;

/** Logs what is not a named error (a bug) and returns the status to send. */
export function statusOf(error: unknown, method: string, logger: DriverLogger): Partial<grpc.StatusObject> {
  if (!(error instanceof ZkpError) || error.code === 'INTERNAL') {
    logger.error(
      { method, error: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined },
      'handler failed',
    );
  }
  return toServiceError(error);
}

export function unary<Req, Res>(method: string, logger: DriverLogger, handler: UnaryHandler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let answer: Promise<Res>;
    try {
      answer = handler(call.request, call);
    } catch (error) {
      callback(statusOf(error, method, logger));
      return;
    }
    answer.then(
      (response) => callback(null, response),
      (error: unknown) => callback(statusOf(error, method, logger)),
    );
  };
}

/** Ends a server stream with an error status (grpc-js sends it after the messages already written). */
export function failStream(call: grpc.ServerWritableStream<unknown, unknown>, error: unknown, method: string, logger: DriverLogger): void {
  if (call.cancelled || call.writableEnded) return;
  call.emit('error', statusOf(error, method, logger));
}

/** A client stream as an async iterable of its messages; an error of the call ends the iteration with that error. */
export function messagesOf<Req>(call: grpc.ServerReadableStream<Req, unknown>): AsyncIterable<Req> {
  return call as unknown as AsyncIterable<Req>;
}
