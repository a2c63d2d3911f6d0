import { MemoryStorage, RaftCore } from '../../src/raft/core/index.ts';
import type { Entry, Message, NodeId, Ready } from '../../src/raft/types.ts';
import { Prng } from '../../src/random/prng.ts';

export interface SingleOptions {
  preVote?: boolean;
  checkQuorum?: boolean;
  seed?: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
}

/** One core over a MemoryStorage, for tests that craft messages by hand. */
export function newCore(
  id: NodeId,
  voters: readonly NodeId[],
  options: SingleOptions = {},
  storage = new MemoryStorage({ voters, learners: [] }),
): { core: RaftCore; storage: MemoryStorage } {
  const prng = new Prng(options.seed ?? 7);
  const core = new RaftCore({
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: options.preVote ?? false,
    checkQuorum: options.checkQuorum ?? false,
    maxSizePerMsg: options.maxSizePerMsg ?? 1 << 20,
    maxInflightMsgs: options.maxInflightMsgs ?? 256,
    storage,
    random: () => prng.next(),
  });
  return { core, storage };
}

/** Runs one Ready through a perfect driver (persist, then advance) and returns it. */
export function flush(core: RaftCore, storage: MemoryStorage): Ready {
  const ready = core.ready();
  if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
  storage.append(ready.entries);
  if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
  core.advance(ready);
  return ready;
}

/** Messages the core sends now (after a flush). */
export function sent(core: RaftCore, storage: MemoryStorage): Message[] {
  return core.hasReady() ? [...flush(core, storage).messages] : [];
}

export function entry(index: number, term: number, text = ''): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

/** A storage holding `entries` (terms as given) and hard state at `term`. */
export function storageWith(voters: readonly NodeId[], terms: readonly number[], term: number): MemoryStorage {
  const storage = new MemoryStorage({ voters, learners: [] });
  storage.append(terms.map((t, i) => entry(i + 1, t, `e${i + 1}`)));
  storage.setHardState({ term, vote: null, commit: 0 });
  return storage;
}

export function tickUntil(core: RaftCore, storage: MemoryStorage, done: () => boolean, max = 100): void {
  for (let i = 0; i < max; i++) {
    core.tick();
    if (core.hasReady()) flush(core, storage);
    if (done()) return;
  }
  throw new Error('condition not reached');
}
