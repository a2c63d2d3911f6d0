/**
 * Proposes job commands on the local RaftNode and returns their results.
 * Coordinator commands are plain commands of the exactly-once wrapper (the
 * service's own retries are made safe by idempotency keys and attempts, not
 * by client sessions). `now_ms` is stamped here, from this leader's clock.
 */
import { ResourceExhaustedError, UnavailableError, ZkpError } from '../../errors/index.ts';
import type { RaftNode } from '../../raft/driver/index.ts';
import { decodeSessionResult, encodePlainCommand } from '../../raft/sessions/envelope.ts';
import { type CommandRefusal, type CommandResultMap, decodeResult, encodeCommand, type JobCommand, type JobCommandType } from '../state/commands.ts';

type WithoutClock<C> = C extends unknown ? Omit<C, 'now_ms'> : never;
export type UnstampedCommand = WithoutClock<JobCommand>;

/** A refused command as the project's named error (RESOURCE_EXHAUSTED keeps its retry hint). */
export function refusalError(refusal: CommandRefusal): ZkpError {
  if (refusal.code === 'RESOURCE_EXHAUSTED') {
    return new ResourceExhaustedError(refusal.message, refusal.retryAfter_ms === undefined ? {} : { retryAfter_ms: refusal.retryAfter_ms });
  }
  return new ZkpError(refusal.code, refusal.message);
}

export class CommandProposer {
  constructor(
    private readonly node: RaftNode,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Resolves with the command's result once applied here; a refusal throws its named error; NotLeaderError on a follower. */
  async propose<T extends JobCommandType>(command: Extract<UnstampedCommand, { type: T }>): Promise<CommandResultMap[T]> {
    const stamped = { ...command, now_ms: this.clock() } as JobCommand;
    const raw = await this.node.propose(encodePlainCommand(encodeCommand(stamped)));
    const outcome = decodeSessionResult(raw);
    if (outcome.status !== 'applied' && outcome.status !== 'duplicate') {
      throw new UnavailableError(`a plain ${command.type} command was answered ${outcome.status}; this is a bug in the session layer`);
    }
    const result = decodeResult<T>(outcome.result);
    if (!result.ok) throw refusalError(result as CommandRefusal);
    return result as CommandResultMap[T];
  }
}
