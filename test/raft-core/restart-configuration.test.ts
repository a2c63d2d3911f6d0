/**
 * A restarted node rebuilds its configuration from its snapshot and the log
 * up to its durable commit index (apply-time membership). That index must
 * not fall back below a configuration change the node applied before it
 * stopped: the durable log writes the commit index lazily, and a node that
 * came back with the voters of two changes ago won an election with a
 * quorum (a removed node's vote among it) that missed every node holding
 * newer committed entries (simulator seeds 206, 902 and 1192: leader
 * completeness). Run here with the production Ready loop and durable log on
 * the simulated file system, deterministically.
 */
import { describe, expect, it } from 'vitest';
import { encodeConfChange, MemoryStorage, RaftCore } from '../../src/raft/core/index.ts';
import { ReadyLoop, type ReadyLoopDisk } from '../../src/raft/driver/ready-loop.ts';
import { silentLogger } from '../../src/raft/logger.ts';
import { DurableLogStorage } from '../../src/raft/storage/index.ts';
import type { Message } from '../../src/raft/types.ts';
import { Prng } from '../../src/random/prng.ts';
import { SimFileSystem } from '../../src/sim/sim-fs.ts';
import { entry, flush, newCore, tickUntil } from './single.ts';

const ELECTION_TICKS = 10;

function openLog(fs: SimFileSystem): DurableLogStorage {
  return DurableLogStorage.open({
    dir: '/data/a',
    clusterId: 'restart-conf',
    nodeId: 'a',
    bootstrapConf: { voters: ['a'], learners: [] },
    segment_bytes_max: 4096,
    fileSystem: fs,
  });
}

/** One process of node a: its core and the production Ready loop over the durable log (the file system completes writes at once). */
function startProcess(fs: SimFileSystem): { core: RaftCore; loop: ReadyLoop; log: DurableLogStorage; sent: Message[] } {
  const log = openLog(fs);
  const disk: ReadyLoopDisk = {
    hardState: () => log.hardState(),
    lastIndex: () => log.lastIndex(),
    entries: (lo, hi) => log.entries(lo, hi),
    snapshot: () => log.snapshot(),
    applySnapshot: (snapshot) => log.applySnapshot(snapshot),
    setHardState: (state, commitDurable) => log.setHardState(state, commitDurable),
    append: (entries, done) => log.appendWith(entries, done),
    prepareSnapshot: (index, conf, data, done) => log.prepareSnapshotWith(index, conf, data as Uint8Array, done),
    installSnapshot: (prepared) => log.installSnapshot(prepared),
  };
  const core = new RaftCore({
    id: 'a',
    storage: log,
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: 1,
    preVote: false,
    checkQuorum: false,
    maxSizePerMsg: 4096,
    maxInflightMsgs: 8,
    random: () => 0,
  });
  const sent: Message[] = [];
  let now_ms = 0;
  const loop = new ReadyLoop(
    {
      core,
      disk,
      send: (messages) => sent.push(...messages),
      clock: {
        now_ms: () => now_ms++,
        setTimer: () => null,
        clearTimer: () => {},
        defer: (fn) => fn(),
      },
      host: {
        apply: () => new Uint8Array(0),
        restore: () => {},
        snapshot: () => new Uint8Array(0),
        confChangeApplied: () => {},
        leaderChanged: () => {},
        snapshotInstalled: () => {},
        fatal: (error) => {
          throw error;
        },
        clientAddressOf: () => null,
      },
    },
    {
      id: 'a',
      snapshotEvery_entries: 1000,
      pendingRequests_max: 100,
      proposalTimeout_ms: 1_000_000,
      readTimeout_ms: 1_000_000,
      readContextTag: 1,
      logger: silentLogger,
      trace: null,
    },
  );
  loop.kick(); // replays what the durable commit index covers
  return { core, loop, log, sent };
}

describe('restart keeps the configuration the node applied', () => {
  it('a voter added, then a crash: the restarted node counts the new voter and does not elect itself alone', () => {
    const fs = new SimFileSystem(new Prng(1), false);
    const first = startProcess(fs);
    for (let i = 0; i < 2 * ELECTION_TICKS && first.core.status().role !== 'leader'; i++) first.loop.tick();
    expect(first.core.status().role).toBe('leader'); // the only voter
    let applied = false;
    const index = first.loop.proposeConfChange(
      { type: 'add-voter', nodeId: 'b' },
      () => {
        applied = true;
      },
      (error) => {
        throw error;
      },
    );
    expect(applied).toBe(true); // committed by a alone, applied: from now on a needs b's vote
    expect(first.core.status().conf.voters).toEqual(['a', 'b']);
    expect(first.log.hardState().commit).toBeGreaterThanOrEqual(index ?? Number.POSITIVE_INFINITY);

    // The process dies (no close, which would write the commit index); the machine keeps running.
    fs.crash(false);
    const second = startProcess(fs);
    expect(second.log.initialState().hardState.commit).toBeGreaterThanOrEqual(index ?? Number.POSITIVE_INFINITY);
    expect(second.core.status().conf.voters).toEqual(['a', 'b']);
    for (let i = 0; i < 3 * ELECTION_TICKS; i++) second.loop.tick();
    expect(second.core.status().role).toBe('candidate'); // it asks b, and waits
    expect(second.sent.some((m) => m.type === 'vote' && m.to === 'b')).toBe(true);
  });
});

describe('a node that holds a committed conf change without knowing it committed', () => {
  /** Node 1 of {1,2,3,4}: entries 1-3 of term 1, entry 3 removes 4, commit known 1. */
  function lagging(): { core: RaftCore; storage: MemoryStorage } {
    const storage = new MemoryStorage({ voters: ['1', '2', '3', '4'], learners: [] });
    storage.append([entry(1, 1), entry(2, 1), { index: 3, term: 1, type: 'conf-change', data: encodeConfChange({ type: 'remove-node', nodeId: '4' }) }]);
    storage.setHardState({ term: 1, vote: null, commit: 1 });
    const made = newCore('1', ['1', '2', '3', '4'], { preVote: true }, storage);
    tickUntil(made.core, made.storage, () => made.core.status().role === 'pre-candidate');
    return made;
  }

  it('learns the commit index from a voter whose entry there has the same term, and applies the change (simulator seeds 1289, 1703)', () => {
    // Without it: with 4 down for good and its log longer than 1's, 1 counted
    // {1,2,3,4} and could not win; 2, whose log was shorter, needed 1's vote.
    const { core, storage } = lagging();
    core.step({ type: 'pre-vote-resp', from: '2', to: '1', term: 1, reject: true, commit: 3, logTerm: 1 });
    while (core.hasReady()) flush(core, storage);
    expect(core.status().commit).toBe(3);
    expect(core.status().conf.voters).toEqual(['1', '2', '3']);
  });

  it('learns it from an answer of an older term too (simulator seed 2190: the removed leader, a term behind, held the only proof)', () => {
    const { core, storage } = lagging();
    // The pre-candidate has moved on to term 3 meanwhile; the voter is still at term 2.
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 3, logTerm: 1, entries: [], commit: 1 });
    while (core.hasReady()) flush(core, storage);
    expect(core.status().term).toBe(3);
    core.step({ type: 'pre-vote-resp', from: '3', to: '1', term: 2, reject: true, commit: 3, logTerm: 1 });
    while (core.hasReady()) flush(core, storage);
    expect(core.status().term).toBe(3);
    expect(core.status().commit).toBe(3);
    expect(core.status().conf.voters).toEqual(['1', '2', '3']);
  });

  it('learns nothing from a commit index whose entry has another term in its log, or lies beyond it', () => {
    const { core, storage } = lagging();
    core.step({ type: 'pre-vote-resp', from: '2', to: '1', term: 1, reject: true, commit: 3, logTerm: 2 });
    core.step({ type: 'pre-vote-resp', from: '3', to: '1', term: 1, reject: true, commit: 5, logTerm: 1 });
    while (core.hasReady()) flush(core, storage);
    expect(core.status().commit).toBe(1);
    expect(core.status().conf.voters).toEqual(['1', '2', '3', '4']);
  });

  it('a voter tells its commit index and the term there in its answers', () => {
    const voter = newCore(
      '2',
      ['1', '2', '3'],
      {},
      (() => {
        const storage = new MemoryStorage({ voters: ['1', '2', '3'], learners: [] });
        storage.append([entry(1, 1), entry(2, 2)]);
        storage.setHardState({ term: 2, vote: null, commit: 2 });
        return storage;
      })(),
    );
    voter.core.step({ type: 'vote', from: '1', to: '2', term: 3, index: 1, logTerm: 1 });
    const answer = flush(voter.core, voter.storage).messages.find((m) => m.type === 'vote-resp');
    expect(answer).toMatchObject({ reject: true, commit: 2, logTerm: 2 });
  });
});
