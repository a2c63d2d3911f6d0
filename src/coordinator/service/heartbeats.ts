/**
 * Heartbeats cost no Raft entry each: the leader notes which workers it heard
 * from (and what they keep resident) and turns them into one renew-leases
 * entry every lease/3 (leader-duties.ts).
 */
import type { LeaseRenewal } from '../state/commands.ts';

export class HeartbeatBatcher {
  /** Worker id -> its resident circuits when they changed since its record, else null. */
  private heard = new Map<string, readonly string[] | null>();

  get pending(): number {
    return this.heard.size;
  }

  note(workerId: string, resident: readonly string[], recorded: readonly string[]): void {
    const sorted = [...new Set(resident)].sort();
    const changed = sorted.length !== recorded.length || sorted.some((id, index) => id !== recorded[index]);
    const earlier = this.heard.get(workerId);
    this.heard.set(workerId, changed ? sorted : (earlier ?? null));
  }

  /** The renewals heard since the last call (the caller proposes them; on failure it gives them back). */
  take(): LeaseRenewal[] {
    const renewals: LeaseRenewal[] = [];
    for (const [workerId, resident] of this.heard) renewals.push(resident === null ? { workerId } : { workerId, residentCircuits: resident });
    this.heard = new Map();
    return renewals;
  }

  /** Puts back renewals whose proposal failed, under what was heard since. */
  giveBack(renewals: readonly LeaseRenewal[]): void {
    for (const renewal of renewals) {
      if (this.heard.has(renewal.workerId)) continue;
      this.heard.set(renewal.workerId, renewal.residentCircuits ?? null);
    }
  }

  clear(): void {
    this.heard.clear();
  }
}
