/**
 * This node's view of who leads, for the handlers: writes and worker calls
 * need the leader (a follower answers NotLeaderError naming the leader's
 * client address, which src/api/status.ts turns into the redirect); reads
 * wait for a ReadIndex barrier unless the caller accepts a stale answer.
 */
import { NotLeaderError } from '../../errors/index.ts';
import type { LeaderChange, RaftNode } from '../../raft/driver/index.ts';

export class LeaderGate {
  private leading: boolean;

  constructor(private readonly node: RaftNode) {
    const status = node.status();
    this.leading = status.role === 'leader';
    node.on('leader-change', (change: LeaderChange) => {
      this.leading = change.role === 'leader' && change.leaderId === node.id;
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The redirect a follower answers with (the leader's id and client address, when known). */
  notLeader(): NotLeaderError {
    const status = this.node.status();
    const leaderId = status.leaderId === this.node.id ? null : status.leaderId;
    return new NotLeaderError(leaderId, this.node.clientAddressOf(leaderId));
  }

  requireLeader(): void {
    if (!this.leading) throw this.notLeader();
  }

  /** Linearizable read barrier (ReadIndex, forwarded to the leader by a follower), skipped for a stale read. */
  async readBarrier(stale_ok: boolean): Promise<void> {
    if (stale_ok) return;
    await this.node.readIndex();
  }
}
