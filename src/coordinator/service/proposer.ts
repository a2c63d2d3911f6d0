/**
 * Proposes job commands on the local RaftNode and returns their results.
 * Coordinator commands are plain commands of the exactly-once wrapper (the
 * service's own retries are made safe by idempotency keys and attempts, not
 * by client sessions). `now_ms` is stamped here, from this leader's clock.
 *
 * Commands proposed within one turn of the event loop (a burst of submits
 * read from the sockets together, the scheduler's assign beside a
 * completion) are coalesced into one batch entry, up to BATCH_COMMANDS_MAX
 * commands and BATCH_BYTES_MAX bytes: one entry to encode, replicate, fsync
 * and apply instead of one per command. Each command keeps its own result.
 *
 * A batch may get one more command at its end from the tail hook (the
 * leader's `schedule` after submits, so the jobs they queue are assigned by
 * the same commit); its result goes to the hook, not to a caller.
 */
import { ResourceExhaustedError, UnavailableError, ZkpError } from '../../errors/index.ts';
import type { RaftNode } from '../../raft/driver/index.ts';
import { decodeSessionResult, encodePlainCommand } from '../../raft/sessions/envelope.ts';
import {
  BATCH_COMMANDS_MAX,
  type CommandRefusal,
  type CommandResult,
  type CommandResultMap,
  decodeBatchResults,
  decodeResult,
  encodeCommand,
  encodeCommandBatch,
  type JobCommand,
  type JobCommandType,
} from '../state/commands.ts';

type WithoutClock<C> = C extends unknown ? Omit<C, 'now_ms'> : never;
export type UnstampedCommand = WithoutClock<JobCommand>;

/** Bytes of commands per batch entry at most (a command larger than this goes alone). */
export const BATCH_BYTES_MAX = 1 << 20;

/** A refused command as the project's named error (RESOURCE_EXHAUSTED keeps its retry hint). */
export function refusalError(refusal: CommandRefusal): ZkpError {
  if (refusal.code === 'RESOURCE_EXHAUSTED') {
    return new ResourceExhaustedError(refusal.message, refusal.retryAfter_ms === undefined ? {} : { retryAfter_ms: refusal.retryAfter_ms });
  }
  return new ZkpError(refusal.code, refusal.message);
}

/** Adds a command at the end of a batch, given the types of the commands in it; its result (or the entry's failure) comes back to settled(). */
export interface BatchTail {
  commandFor(types: ReadonlySet<JobCommandType>): UnstampedCommand | null;
  settled(outcome: CommandResult | Error): void;
}

interface Waiting {
  readonly encoded: Uint8Array;
  readonly type: JobCommandType;
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: unknown) => void;
}

export class CommandProposer {
  private waiting: Waiting[] = [];
  private flushScheduled = false;
  private tail: BatchTail | null = null;

  constructor(
    private readonly node: RaftNode,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Sets (or with null removes) the hook that may end each batch with one command of its own. */
  setBatchTail(tail: BatchTail | null): void {
    this.tail = tail;
  }

  /** Resolves with the command's result once applied here; a refusal throws its named error; NotLeaderError on a follower. */
  async propose<T extends JobCommandType>(command: Extract<UnstampedCommand, { type: T }>): Promise<CommandResultMap[T]> {
    const encoded = this.encode(command);
    const result = await new Promise<CommandResult>((resolve, reject) => {
      this.waiting.push({ encoded, type: command.type, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
    if (!result.ok) throw refusalError(result as CommandRefusal);
    return result as CommandResultMap[T];
  }

  private encode(command: UnstampedCommand): Uint8Array {
    return encodeCommand({ ...command, now_ms: this.clock() } as JobCommand);
  }

  private flush(): void {
    this.flushScheduled = false;
    const waiting = this.waiting;
    this.waiting = [];
    let batch: Waiting[] = [];
    let batch_bytes = 0;
    for (const item of waiting) {
      if (batch.length > 0 && (batch.length >= BATCH_COMMANDS_MAX || batch_bytes + item.encoded.length > BATCH_BYTES_MAX)) {
        this.send(batch);
        batch = [];
        batch_bytes = 0;
      }
      batch.push(item);
      batch_bytes += item.encoded.length;
    }
    if (batch.length > 0) this.send(batch);
  }

  /** The batch with the tail hook's command at its end, when the hook gives one (BATCH_COMMANDS_LIMIT leaves room for it). */
  private withTail(commands: readonly Waiting[]): readonly Waiting[] {
    const tail = this.tail;
    if (tail === null) return commands;
    const command = tail.commandFor(new Set(commands.map((item) => item.type)));
    if (command === null) return commands;
    const item: Waiting = {
      encoded: this.encode(command),
      type: command.type,
      resolve: (result) => tail.settled(result),
      reject: (error) => tail.settled(error instanceof Error ? error : new Error(String(error))),
    };
    return [...commands, item];
  }

  private send(commands: readonly Waiting[]): void {
    const batch = this.withTail(commands);
    const single = batch.length === 1;
    const entry = single ? batch[0]!.encoded : encodeCommandBatch(batch.map((item) => item.encoded));
    this.node.propose(encodePlainCommand(entry)).then(
      (raw) => {
        const outcome = decodeSessionResult(raw);
        if (outcome.status !== 'applied' && outcome.status !== 'duplicate') {
          const error = new UnavailableError(`a plain ${batch[0]!.type} command was answered ${outcome.status}; this is a bug in the session layer`);
          for (const item of batch) item.reject(error);
          return;
        }
        let results: CommandResult[];
        try {
          results = single ? [decodeResult(outcome.result)] : decodeBatchResults(outcome.result, batch.length);
        } catch (error) {
          for (const item of batch) item.reject(error);
          return;
        }
        for (const [i, item] of batch.entries()) item.resolve(results[i]!);
      },
      (error: unknown) => {
        // Nothing of the entry was applied (not leader, replaced, closing): every command in it gets the same answer.
        for (const item of batch) item.reject(error);
      },
    );
  }
}
