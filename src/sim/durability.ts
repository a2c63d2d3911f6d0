import type { NodeId } from '../raft/types.ts';
import { SafetyViolation } from './checkers.ts';
import type { Register } from './kv.ts';

/** A put a client was told succeeded. */
export interface AcknowledgedPut {
  readonly opId: string;
  readonly key: string;
  readonly value: string;
  /** The log entry it was applied as, on the node that answered. */
  readonly index: number;
  readonly term: number;
  /** The answering node's term when it answered: every leader of a later term must hold the entry. */
  readonly ackTerm: number;
  readonly node: NodeId;
}

/**
 * Durability of acknowledged writes: every put a client was told succeeded
 * is in the log of every leader of a later term (unless compacted into its
 * snapshot), and every node that has applied that far has it in its state
 * machine: the register it wrote holds it, or a later write.
 */
export class DurabilityChecker {
  private readonly acked: AcknowledgedPut[] = [];
  /** Per key, the acknowledged puts in index order. */
  private readonly byKey = new Map<string, AcknowledgedPut[]>();

  get count(): number {
    return this.acked.length;
  }

  onAcknowledged(put: AcknowledgedPut): void {
    this.acked.push(put);
    const list = this.byKey.get(put.key) ?? [];
    let at = list.length;
    while (at > 0 && list[at - 1]!.index > put.index) at--;
    list.splice(at, 0, put);
    this.byKey.set(put.key, list);
  }

  /** A node first seen leading `term`; `termAt` reads its log (undefined below its first index or past its last). */
  onLeader(node: NodeId, term: number, firstIndex: number, termAt: (index: number) => number | undefined): void {
    for (const put of this.acked) {
      if (put.ackTerm >= term || put.index < firstIndex) continue;
      const have = termAt(put.index);
      if (have !== put.term) {
        throw new SafetyViolation(
          'durability',
          `${node} leads term ${term} but has term ${String(have)} at index ${put.index}, where put ${put.opId} (${put.key}=${put.value}) was acknowledged by ${put.node} in term ${put.ackTerm}`,
        );
      }
    }
  }

  /** A node's state machine at `applied`: each key's latest acknowledged put at or below `applied` is there, or overwritten later. */
  onStateMachine(node: NodeId, applied: number, register: (key: string) => Register | undefined): void {
    for (const [key, puts] of this.byKey) {
      let latest: AcknowledgedPut | undefined;
      for (let i = puts.length - 1; i >= 0; i--) {
        if (puts[i]!.index <= applied) {
          latest = puts[i];
          break;
        }
      }
      if (latest === undefined) continue;
      const held = register(key);
      if (held === undefined || held.index < latest.index || (held.index === latest.index && held.value !== latest.value)) {
        throw new SafetyViolation(
          'durability',
          `${node} has applied ${applied} but its ${key} holds ${held === undefined ? 'nothing' : `${held.value} from index ${held.index}`}; put ${latest.opId} (${key}=${latest.value}) was acknowledged at index ${latest.index} by ${latest.node}`,
        );
      }
    }
  }
}
