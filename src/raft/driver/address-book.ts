/**
 * Where each member's Raft transport and client service listen.
 *
 * Two sources. The addresses the process was started with (RaftNodeOptions
 * .peers, i.e. --peers) cover the members the operator named. Addresses that
 * membership changes carry (ConfChange.address / clientAddress) are learned
 * as each change applies, and win over the started-with ones for the same
 * node: every member applies the same changes in the same order, so they all
 * agree, and a node restarted with an old --peers still reaches a member that
 * was removed and added again elsewhere. Learned addresses travel in every
 * snapshot (snapshot-envelope.ts), so compaction does not forget them; a
 * removal forgets the learned address.
 */
import type { NodeId } from '../types.ts';
import type { PeerInfo } from './options.ts';

export class AddressBook {
  private readonly learnedAddresses = new Map<NodeId, PeerInfo>();

  constructor(private readonly given: ReadonlyMap<NodeId, PeerInfo>) {}

  get(id: NodeId): PeerInfo | undefined {
    return this.learnedAddresses.get(id) ?? this.given.get(id);
  }

  /** Every node with a known address. */
  ids(): NodeId[] {
    return [...new Set([...this.given.keys(), ...this.learnedAddresses.keys()])].sort();
  }

  /** The replicated part, for snapshots. */
  learned(): ReadonlyMap<NodeId, PeerInfo> {
    return this.learnedAddresses;
  }

  learn(id: NodeId, info: PeerInfo): void {
    this.learnedAddresses.set(id, info);
  }

  forget(id: NodeId): void {
    this.learnedAddresses.delete(id);
  }

  /** After a snapshot: its learned addresses replace ours (the changes they came from are in it). */
  replaceLearned(learned: ReadonlyMap<NodeId, PeerInfo>): void {
    this.learnedAddresses.clear();
    for (const [id, info] of learned) this.learnedAddresses.set(id, info);
  }
}
