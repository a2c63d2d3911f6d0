/**
 * The open Assignments streams of the workers connected to this node (the
 * leader): one per worker (a second one replaces the first). Assignments and
 * cancellations are written to them as the state machine applies the
 * changes; a worker with no stream open gets its ASSIGNED jobs again when it
 * opens one (workers ignore an assignment of a job and attempt they already
 * hold). On loss of leadership every stream is closed with the redirect, so
 * workers move to the new leader.
 */
import type * as grpc from '@grpc/grpc-js';
import type { AssignmentsRequestMessage, WorkerInstructionMessage } from './messages.ts';

export type InstructionStream = grpc.ServerWritableStream<AssignmentsRequestMessage, WorkerInstructionMessage>;

/** Bound on instructions buffered for one slow worker before its stream is dropped (it re-opens and gets its jobs again). */
const BUFFERED_INSTRUCTIONS_MAX = 10_000;

export class WorkerStreams {
  private readonly streams = new Map<string, InstructionStream>();

  get size(): number {
    return this.streams.size;
  }

  has(workerId: string): boolean {
    return this.streams.has(workerId);
  }

  /** Adds a worker's stream; returns the stream it replaced (the caller ends it), if any. */
  open(workerId: string, stream: InstructionStream): InstructionStream | null {
    const previous = this.streams.get(workerId) ?? null;
    this.streams.set(workerId, stream);
    const forget = (): void => {
      if (this.streams.get(workerId) === stream) this.streams.delete(workerId);
    };
    stream.on('cancelled', forget);
    stream.on('close', forget);
    stream.on('finish', forget);
    stream.on('error', forget);
    return previous === stream ? null : previous;
  }

  /** Writes an instruction to the worker's stream; false when it has none open (or it is too far behind). */
  send(workerId: string, instruction: WorkerInstructionMessage): boolean {
    const stream = this.streams.get(workerId);
    if (stream === undefined || stream.cancelled || stream.writableEnded) return false;
    if (stream.writableLength >= BUFFERED_INSTRUCTIONS_MAX) {
      this.streams.delete(workerId);
      stream.end();
      return false;
    }
    stream.write(instruction);
    return true;
  }

  /** Removes the worker's stream and hands it to `end` (deregistration, a replaced stream). */
  close(workerId: string, end: (stream: InstructionStream) => void): void {
    const stream = this.streams.get(workerId);
    if (stream === undefined) return;
    this.streams.delete(workerId);
    end(stream);
  }

  /** Removes every stream and hands each to `end` (lost leadership, closing). */
  closeAll(end: (stream: InstructionStream) => void): void {
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const stream of all) end(stream);
  }
}
