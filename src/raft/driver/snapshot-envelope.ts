/**
 * A RaftNode snapshot's data is the state machine's bytes behind a small
 * header holding the address book's learned addresses (address-book.ts):
 *
 *   "ZKRAFTAB" | version varint (1) | count varint | count x (id, raft address, client address) strings | state machine bytes
 *
 * The Raft snapshot metadata names the members but not their addresses;
 * without this header a node that restarted after compaction, or one that
 * caught up from a snapshot, would not know where members added later live.
 * Data without the header (the empty bootstrap snapshot) has no addresses.
 */
import { CorruptFileError } from '../../errors/index.ts';
import { Reader, Writer } from '../codec.ts';
import type { NodeId } from '../types.ts';
import type { PeerInfo } from './options.ts';

const MAGIC = new TextEncoder().encode('ZKRAFTAB');
const VERSION = 1;

export function wrapSnapshotData(learned: ReadonlyMap<NodeId, PeerInfo>, stateMachineData: Uint8Array): Uint8Array {
  const header = new Writer(64 + 64 * learned.size);
  for (const b of MAGIC) header.byte(b);
  header.varuint(VERSION);
  header.varuint(learned.size);
  for (const [id, info] of [...learned].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    header.string(id);
    header.string(info.raftAddress);
    header.string(info.clientAddress);
  }
  const head = header.finish();
  const out = new Uint8Array(head.length + stateMachineData.length);
  out.set(head, 0);
  out.set(stateMachineData, head.length);
  return out;
}

export function unwrapSnapshotData(data: Uint8Array): { learned: Map<NodeId, PeerInfo>; stateMachineData: Uint8Array } {
  const learned = new Map<NodeId, PeerInfo>();
  if (data.length < MAGIC.length || !MAGIC.every((b, i) => data[i] === b)) return { learned, stateMachineData: data };
  const r = new Reader(data.subarray(MAGIC.length), 'raft snapshot address header');
  const version = r.varuint();
  if (version !== VERSION) throw new CorruptFileError(`raft snapshot address header: version ${version} is not supported (this build reads ${VERSION})`);
  const count = r.varuint();
  if (count > r.remaining) throw new CorruptFileError(`raft snapshot address header: ${count} members exceed the bytes left`);
  for (let i = 0; i < count; i++) {
    const id = r.string();
    const raftAddress = r.string();
    const clientAddress = r.string();
    learned.set(id, { raftAddress, clientAddress });
  }
  return { learned, stateMachineData: data.subarray(data.length - r.remaining) };
}
