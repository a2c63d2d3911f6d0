import { describe, expect, it } from 'vitest';
import { AssertionFailure, InvalidArgumentError, NotLeaderError } from '../../src/errors/index.ts';
import { CompactedError, decodeConfChange, encodeConfChange, MemoryStorage, RaftCore } from '../../src/raft/core/index.ts';
import { TestCluster, text } from './cluster.ts';
import { entry, flush, newCore, sent, storageWith, tickUntil } from './single.ts';

const V3 = ['1', '2', '3'];

describe('batching and the pipeline', () => {
  it('proposals made between two Readies go out in one append per follower, bounded by maxSizePerMsg', () => {
    const c = new TestCluster(V3, { maxSizePerMsg: 3 * (24 + 2) });
    c.elect('1');
    c.tickAll();
    c.stabilize();
    const core = c.core('1');
    for (let i = 0; i < 7; i++) core.propose(new TextEncoder().encode(`p${i}`)); // 2-byte payloads: 26 bytes each
    c.handle('1');
    const appends = c.queue.filter((m) => m.type === 'append' && m.to === '2');
    expect(appends.map((m) => m.entries?.length)).toEqual([3, 3, 1]);
  });

  it('a leader hands out appends for proposals made while its Ready is being persisted; a quorum of followers commits them', () => {
    const c = new TestCluster(V3);
    c.elect('1');
    c.tickAll();
    c.stabilize();
    const leader = c.core('1');
    const node = c.node('1');
    leader.propose(new TextEncoder().encode('first'));
    const outstanding = leader.ready(); // the driver is persisting this one
    const firstIndex = outstanding.entries[0]!.index;
    leader.propose(new TextEncoder().encode('second'));
    const early = leader.takeLeaderMessages();
    const appendsOf = (to: string) => early.filter((m) => m.type === 'append' && m.to === to);
    for (const to of ['2', '3'])
      expect(
        appendsOf(to)
          .flatMap((m) => m.entries ?? [])
          .map((e) => e.index),
      ).toContain(firstIndex + 1);
    expect(leader.takeLeaderMessages()).toEqual([]); // taken once
    // Followers persist and acknowledge both entries before the leader's own persist finishes.
    c.queue.push(...outstanding.messages, ...early);
    for (let round = 0; round < 5; round++) {
      c.deliver((m) => m.to !== '1');
      c.handle('2');
      c.handle('3');
    }
    c.deliver((m) => m.to === '1');
    expect(leader.status().commit).toBe(firstIndex + 1); // a quorum without the leader's own copy
    // The leader's Ready then completes as usual and applies both.
    node.storage.append(outstanding.entries);
    leader.advance(outstanding);
    c.handle('1');
    expect(node.applied.map((e) => e.index)).toContain(firstIndex + 1);
    // A follower's messages may depend on what it is persisting: never handed out early.
    const follower = c.core('2');
    follower.step({ type: 'heartbeat', from: '1', to: '2', term: leader.status().term, commit: leader.status().commit });
    expect(follower.takeLeaderMessages()).toEqual([]);
  });

  it('a new commit index reaches idle followers within two leader ticks, not in a broadcast of its own', () => {
    const c = new TestCluster(V3, { heartbeatTicks: 5 }); // no heartbeat in the ticks below
    c.elect('1');
    c.tickAll();
    c.stabilize();
    const { index } = c.propose('1', 'x');
    c.stabilize(); // append, acks: the leader commits; nothing else is sent
    expect(c.core('1').status().commit).toBe(index);
    for (const id of ['2', '3']) expect(c.core(id).status().commit).toBe(index - 1);
    c.tick('1'); // an append went out since the last tick: traffic may go on and carry the commit
    expect(c.queue.filter((m) => m.type === 'append')).toEqual([]);
    c.tick('1');
    const catchUp = c.queue.filter((m) => m.type === 'append');
    expect(catchUp.map((m) => [m.to, m.commit, m.entries?.length])).toEqual([
      ['2', index, 0],
      ['3', index, 0],
    ]);
    c.stabilize();
    for (const id of ['2', '3']) expect(c.node(id).applied.map((e) => e.index)).toContain(index);
    c.tick('1'); // told already: no second catch-up
    expect(c.queue.filter((m) => m.type === 'append')).toEqual([]);
  });

  it('under traffic the commit index rides on the next append: one append per follower per proposal', () => {
    const c = new TestCluster(V3, { heartbeatTicks: 5 });
    c.elect('1');
    c.tickAll();
    c.stabilize();
    const first = c.propose('1', 'x');
    c.stabilize();
    c.propose('1', 'y');
    const appends = c.queue.filter((m) => m.type === 'append' && m.to === '2');
    expect(appends.map((m) => [m.commit, m.entries?.map((e) => e.index)])).toEqual([[first.index, [first.index + 1]]]);
    // The leader ticking while appends flow sends no extra catch-up.
    c.tick('1');
    expect(c.queue.filter((m) => m.type === 'append' && m.to === '2')).toHaveLength(1);
  });

  it('the commit of a membership change is broadcast at once', () => {
    const c = new TestCluster(V3, { heartbeatTicks: 5 });
    c.elect('1');
    c.tickAll();
    c.stabilize();
    c.addNode('4');
    const { index } = c.core('1').proposeConfChange({ type: 'add-learner', nodeId: '4' });
    c.stabilize(); // no tick: the followers learn the commit from the broadcast
    for (const id of ['2', '3']) expect(c.core(id).status().commit).toBeGreaterThanOrEqual(index);
  });

  // A removed node that never learns its removal committed keeps its old
  // configuration, times out and campaigns for ever (pre-vote only keeps it
  // from disrupting the rest). Its acknowledgement can reach the leader before
  // the commit, between the commit and the removal, or after the removal.
  for (const ack of ['before the commit', 'between the commit and the removal', 'after the leader removed it'] as const) {
    it(`a removed node learns that its removal committed and stops campaigning (its ack arrives ${ack})`, () => {
      // One append in flight per follower: the commit broadcast skips 4 while its ack of the removal is outstanding.
      const c = new TestCluster(['1', '2', '3', '4'], { preVote: true, checkQuorum: true, maxInflightMsgs: 1 });
      c.elect('1');
      c.tickAll();
      c.stabilize();
      const { index } = c.core('1').proposeConfChange({ type: 'remove-node', nodeId: '4' });
      c.handle('1');
      c.deliver((m) => m.type === 'append'); // 2, 3 and 4 hold the removal; their acks are queued
      const takeAck = (from: string) => {
        const at = c.queue.findIndex((m) => m.type === 'append-resp' && m.from === from);
        return c.queue.splice(at, 1)[0]!;
      };
      if (ack === 'before the commit') {
        c.deliver((m) => m.type === 'append-resp' && m.from === '4'); // 1 and 4 of four: not yet a quorum
        c.deliver((m) => m.type === 'append-resp' && m.from === '2'); // committed, applied
      } else if (ack === 'between the commit and the removal') {
        c.core('1').step(takeAck('2')); // committed; the removal applies only in the next Ready
        c.core('1').step(takeAck('4'));
        expect(c.core('1').status().conf.voters).toEqual(['1', '2', '3', '4']);
        c.handle('1');
      } else {
        c.deliver((m) => m.type === 'append-resp' && m.from !== '4'); // committed and applied without 4's ack
        expect(c.core('1').status().conf.voters).toEqual(['1', '2', '3']);
      }
      c.stabilize();
      expect(c.core('4').status().commit).toBeGreaterThanOrEqual(index);
      expect(c.core('4').status().conf.voters).toEqual(['1', '2', '3']);
      c.tick('4', 60);
      expect(c.core('4').status().role).toBe('follower');
      expect(c.queue.filter((m) => m.from === '4')).toEqual([]);
    });
  }

  it('a late ack from a removed node is answered with no more commit than the ack proves it holds (its stale tail stays uncommitted)', () => {
    const c = new TestCluster(['1', '2', '3', '4']); // no pre-vote or lease: 1 can take over from the cut-off 4 at once
    c.elect('4');
    c.tickAll();
    c.stabilize();
    const committedBy4 = c.core('4').status().commit;
    // 4, cut off, takes a proposal it can never commit: a stale tail beyond its commit index.
    c.isolate('4');
    c.propose('4', 'stale');
    expect(c.core('4').status().lastIndex).toBe(committedBy4 + 1);
    c.elect('1'); // 1, 2 and 3 go on: 1's no-op replaces index committedBy4 + 1 on their logs
    c.core('1').proposeConfChange({ type: 'remove-node', nodeId: '4' });
    c.stabilize();
    expect(c.core('1').status().conf.voters).toEqual(['1', '2', '3']);
    expect(c.core('1').status().commit).toBeGreaterThan(committedBy4 + 1);
    // A delayed append of 1's reaches 4 (prevIndex below 4's commit): 4 acks with its commit index, 1 has removed it already.
    c.heal();
    const term = c.core('1').status().term;
    c.core('4').step({
      type: 'append',
      from: '1',
      to: '4',
      term,
      index: committedBy4 - 1,
      logTerm: c.core('4').log.term(committedBy4 - 1),
      entries: [],
      commit: 0,
    });
    c.handle('4');
    expect(c.queue.filter((m) => m.from === '4' && m.type === 'append-resp').map((m) => m.index)).toEqual([committedBy4]);
    c.deliver((m) => m.from === '4' && m.type === 'append-resp');
    c.deliver((m) => m.to === '4' && m.type === 'heartbeat');
    // Told the whole commit index, 4 would commit its stale entry, which the cluster never committed.
    expect(c.core('4').status().commit).toBe(committedBy4);
    expect(c.node('4').applied.map(text)).not.toContain('stale');
  });

  it('no more than maxInflightMsgs appends are unacknowledged per follower', () => {
    const c = new TestCluster(V3, { maxSizePerMsg: 1, maxInflightMsgs: 2 });
    c.elect('1');
    c.tickAll();
    c.stabilize();
    for (let i = 0; i < 6; i++) c.propose('1', `p${i}`);
    const toTwo = () => c.queue.filter((m) => m.type === 'append' && m.to === '2').length;
    expect(toTwo()).toBe(2);
    expect(c.core('1').progressOf('2')?.state).toBe('replicate');
    c.deliver((m) => m.to === '2' && m.type === 'append');
    c.deliver((m) => m.from === '2' && m.type === 'append-resp');
    expect(toTwo()).toBe(2); // acknowledgements open the window again
    c.stabilize();
    expect(c.core('2').status().lastIndex).toBe(c.core('1').status().lastIndex);
  });

  it('fast backoff: a follower with a long conflicting tail is repaired in a few round trips', () => {
    const c = new TestCluster(V3, { seed: 5 });
    c.elect('1');
    c.isolate('1');
    for (let i = 0; i < 30; i++) c.propose('1', `lost${i}`); // 30 entries only the old leader has
    c.stabilize(); // its appends die on the cut links
    c.crash('1');
    c.heal();
    c.elect('2');
    c.propose('2', 'new');
    c.stabilize();
    c.start('1');
    c.tickAll();
    let rejections = 0;
    for (let round = 0; round < 50 && c.queue.length > 0; round++) {
      rejections += c.queue.filter((m) => m.type === 'append-resp' && m.reject === true && m.from === '1').length;
      c.deliver();
    }
    expect(c.logOf('1')).toEqual(c.logOf('2'));
    expect(rejections).toBeLessThanOrEqual(2);
  });
});

describe('pre-vote and check-quorum', () => {
  it('a pre-candidate does not raise its term', () => {
    const { core, storage } = newCore('1', V3, { preVote: true });
    tickUntil(core, storage, () => core.status().role === 'pre-candidate');
    expect(core.status().term).toBe(0);
    const requests = flush(core, storage).messages;
    void requests;
    expect(storage.hardState().term).toBe(0);
  });

  it('a pre-candidate that wins the pre-vote starts a real election', () => {
    const { core, storage } = newCore('1', V3, { preVote: true });
    tickUntil(core, storage, () => core.status().role === 'pre-candidate');
    core.step({ type: 'pre-vote-resp', from: '2', to: '1', term: 1 });
    expect(core.status().role).toBe('candidate');
    expect(core.status().term).toBe(1);
  });

  it('a follower in a leader lease ignores vote requests (check-quorum)', () => {
    const { core, storage } = newCore('1', V3, { checkQuorum: true });
    core.step({ type: 'heartbeat', from: '2', to: '1', term: 1, commit: 0 });
    flush(core, storage);
    core.step({ type: 'vote', from: '3', to: '1', term: 2, index: 0, logTerm: 0 });
    expect(core.status().term).toBe(1);
    expect(sent(core, storage)).toEqual([]);
  });
});

describe('votes across restarts', () => {
  it('a vote is in the Ready that sends it, also when only the vote changes; a restarted node keeps it and refuses another candidate of that term', () => {
    // Node 1 holds entries of term 1; candidate 3's log is empty (refused, but 1 moves to term 2 with no vote).
    const storage = storageWith(V3, [1, 1], 1);
    const first = newCore('1', V3, {}, storage).core;
    first.step({ type: 'vote', from: '3', to: '1', term: 2, index: 0, logTerm: 0 });
    const refused = flush(first, storage);
    expect(refused.hardState).toMatchObject({ term: 2, vote: null });
    expect(refused.messages).toEqual([{ type: 'vote-resp', from: '1', to: '3', term: 2, reject: true }]);
    // Candidate 2 of the same term, with an up-to-date log: granted. Only the vote changed, and it is in this Ready's hard state.
    first.step({ type: 'vote', from: '2', to: '1', term: 2, index: 2, logTerm: 1 });
    const granted = flush(first, storage);
    expect(granted.hardState).toMatchObject({ term: 2, vote: '2' });
    expect(granted.messages).toEqual([{ type: 'vote-resp', from: '1', to: '2', term: 2 }]);
    expect(storage.hardState()).toMatchObject({ term: 2, vote: '2' });

    // The process dies; a new one starts from the same storage.
    const restarted = newCore('1', V3, { seed: 8 }, storage).core;
    expect(restarted.hasReady()).toBe(false); // nothing to persist: it starts from what is durable, vote included
    restarted.step({ type: 'vote', from: '3', to: '1', term: 2, index: 2, logTerm: 1 });
    expect(sent(restarted, storage)).toEqual([{ type: 'vote-resp', from: '1', to: '3', term: 2, reject: true }]);
    restarted.step({ type: 'vote', from: '2', to: '1', term: 2, index: 2, logTerm: 1 });
    expect(sent(restarted, storage)).toEqual([{ type: 'vote-resp', from: '1', to: '2', term: 2 }]);
    expect(storage.hardState()).toMatchObject({ term: 2, vote: '2' });
  });
});

describe('acknowledgements', () => {
  it('an ack of an older term still queued when the term changes is dropped: its entries may be replaced before the Ready is persisted', () => {
    const storage = storageWith(V3, [1, 1], 1);
    const { core } = newCore('1', V3, {}, storage);
    // Leader 2 of term 1 sends entries 3 and 4; the ack of 4 is queued.
    core.step({ type: 'append', from: '2', to: '1', term: 1, index: 2, logTerm: 1, entries: [entry(3, 1), entry(4, 1)], commit: 0 });
    // Before any Ready, leader 3 of term 2 replaces index 3 onwards.
    core.step({ type: 'append', from: '3', to: '1', term: 2, index: 2, logTerm: 1, entries: [entry(3, 2)], commit: 0 });
    const ready = flush(core, storage);
    expect(ready.entries.map((e) => `${e.index}:${e.term}`)).toEqual(['3:2']);
    // Sent after that persist, an ack of 4 in term 1 would cover an entry this node no longer has.
    expect(ready.messages).toEqual([{ type: 'append-resp', from: '1', to: '3', term: 2, index: 3 }]);
  });
});

describe('ReadIndex', () => {
  it('a new leader answers reads only after its first entry of its term commits', () => {
    const c = new TestCluster(V3);
    c.campaign('1');
    c.deliver((m) => m.type === 'vote'); // votes out
    c.deliver((m) => m.type === 'vote-resp'); // 1 wins; its no-op is queued, not delivered
    expect(c.core('1').status().role).toBe('leader');
    c.core('1').readIndex(new TextEncoder().encode('early'));
    c.handle('1');
    expect(c.queue.some((m) => m.type === 'heartbeat')).toBe(false); // not even asking yet
    c.stabilize();
    c.tickAll();
    c.stabilize();
    const state = c.node('1').readStates.find((s) => new TextDecoder().decode(s.context) === 'early');
    expect(state?.index).toBe(1);
  });

  it('a follower without a known leader refuses a read', () => {
    const { core } = newCore('1', V3);
    expect(() => core.readIndex(new Uint8Array([1]))).toThrow(NotLeaderError);
  });
});

describe('leadership transfer', () => {
  it('to an up-to-date follower sends timeout-now at once and completes', () => {
    const c = new TestCluster(V3);
    c.elect('1');
    c.tickAll();
    c.stabilize();
    c.core('1').transferLeadership('2');
    c.handle('1');
    expect(c.queue.some((m) => m.type === 'timeout-now' && m.to === '2')).toBe(true);
    c.stabilize();
    expect(c.leader()).toBe('2');
  });

  it('rejects a non-voter target and works only on the leader', () => {
    const c = new TestCluster(V3);
    c.elect('1');
    expect(() => c.core('1').transferLeadership('9')).toThrow(InvalidArgumentError);
    expect(() => c.core('2').transferLeadership('3')).toThrow(NotLeaderError);
  });
});

describe('membership', () => {
  it('one pending conf change at a time', () => {
    const c = new TestCluster(V3, { bootstrapLog: true });
    c.elect('1');
    c.core('1').proposeConfChange({ type: 'add-learner', nodeId: '4' });
    expect(() => c.core('1').proposeConfChange({ type: 'add-learner', nodeId: '5' })).toThrow(/already in progress/);
  });

  it('invalid changes are refused with a clear error', () => {
    const c = new TestCluster(V3);
    c.elect('1');
    c.tickAll();
    c.stabilize();
    expect(() => c.core('1').proposeConfChange({ type: 'add-voter', nodeId: '2' })).toThrow(/already a voter/);
    expect(() => c.core('1').proposeConfChange({ type: 'remove-node', nodeId: '9' })).toThrow(/not a member/);
    expect(() => c.core('2').proposeConfChange({ type: 'add-voter', nodeId: '4' })).toThrow(NotLeaderError);
  });

  it('a candidate that applies its own removal stops campaigning and cannot win (simulator seed 6944)', () => {
    const storage = new MemoryStorage({ voters: V3, learners: [] });
    storage.append([{ index: 1, term: 1, type: 'conf-change', data: encodeConfChange({ type: 'remove-node', nodeId: '1' }) }]);
    storage.setHardState({ term: 1, vote: null, commit: 1 });
    const { core } = newCore('1', V3, {}, storage);
    for (let i = 0; i < 30 && core.status().role === 'follower'; i++) core.tick(); // campaigns before applying
    expect(core.status().role).toBe('candidate');
    flush(core, storage); // applies the committed removal
    expect(core.status().conf.voters).toEqual(['2', '3']);
    expect(core.status().role).toBe('follower');
    core.step({ type: 'vote-resp', from: '2', to: '1', term: core.status().term });
    expect(core.status().role).toBe('follower');
  });

  it('conf changes round-trip through their encoding and bad ones are named', () => {
    const change = { type: 'add-voter' as const, nodeId: 'n7', address: '10.0.0.7:7000', clientAddress: '10.0.0.7:8000' };
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
    const bare = { type: 'remove-node' as const, nodeId: 'n7' };
    expect(decodeConfChange(encodeConfChange(bare))).toEqual(bare);
    expect(() => decodeConfChange(new TextEncoder().encode('{"type":"promote","nodeId":"x"}'))).toThrow(/conf change type/);
    expect(() => decodeConfChange(new TextEncoder().encode('nope'))).toThrow(InvalidArgumentError);
  });
});

describe('invariants and contracts', () => {
  it('bad configs are rejected with the field named', () => {
    const storage = new MemoryStorage({ voters: ['1'], learners: [] });
    const base = {
      id: '1',
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: false,
      checkQuorum: false,
      maxSizePerMsg: 1024,
      maxInflightMsgs: 4,
      storage,
      random: () => 0.5,
    };
    expect(() => new RaftCore({ ...base, electionTicks: 1 })).toThrow(/electionTicks/);
    expect(() => new RaftCore({ ...base, maxInflightMsgs: 0 })).toThrow(/maxInflightMsgs/);
    expect(() => new RaftCore({ ...base, id: '' })).toThrow(/id/);
  });

  it('a random() outside [0, 1) is caught by an assertion', () => {
    const storage = new MemoryStorage({ voters: ['1'], learners: [] });
    expect(
      () =>
        new RaftCore({
          id: '1',
          electionTicks: 10,
          heartbeatTicks: 1,
          preVote: false,
          checkQuorum: false,
          maxSizePerMsg: 1024,
          maxInflightMsgs: 4,
          storage,
          random: () => 1,
        }),
    ).toThrow(AssertionFailure);
  });

  it('ready() twice without advance() is a driver bug', () => {
    const { core } = newCore('1', ['1']);
    for (let i = 0; i < 30 && !core.hasReady(); i++) core.tick();
    core.ready();
    expect(() => core.ready()).toThrow(AssertionFailure);
  });

  it('a single voter elects itself and commits alone', () => {
    const { core, storage } = newCore('1', ['1']);
    tickUntil(core, storage, () => core.status().role === 'leader');
    core.propose(new TextEncoder().encode('solo'));
    for (let i = 0; i < 3 && core.hasReady(); i++) flush(core, storage);
    expect(core.status().commit).toBe(2);
    expect(core.status().applied).toBe(2);
  });

  it('a restarted node resumes from its durable term, vote and log', () => {
    const c = new TestCluster(V3);
    c.elect('1');
    c.propose('1', 'x');
    c.stabilize();
    const before = c.core('2').status();
    c.crash('2');
    c.start('2');
    const after = c.core('2').status();
    expect(after.term).toBe(before.term);
    expect(after.lastIndex).toBe(before.lastIndex);
  });
});

describe('MemoryStorage', () => {
  it('serves entries and terms, truncates on conflicting appends, and reports compaction', () => {
    const storage = new MemoryStorage({ voters: ['1'], learners: [] });
    storage.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
    storage.append([entry(3, 3), entry(4, 3)]);
    expect([1, 2, 3, 4].map((i) => storage.term(i))).toEqual([1, 1, 3, 3]);
    storage.createSnapshot(2, { voters: ['1'], learners: [] }, new Uint8Array([9]));
    expect(storage.firstIndex()).toBe(3);
    expect(storage.term(2)).toBe(1);
    expect(() => storage.entries(1, 3)).toThrow(CompactedError);
    expect(() => storage.term(1)).toThrow(CompactedError);
    expect(storage.entries(3, 5).map((e) => e.index)).toEqual([3, 4]);
    expect(storage.entries(3, 5, 1).length).toBe(1); // at least one entry even over the byte bound
  });

  it('bootstrap writes the founding voters as committed conf-change entries', () => {
    const storage = new MemoryStorage();
    storage.bootstrap(['b', 'a', 'c']);
    expect(storage.lastIndex()).toBe(3);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: null, commit: 3 });
    expect(storage.entries(1, 4).map((e) => decodeConfChange(e.data).nodeId)).toEqual(['a', 'b', 'c']);
    expect(() => new MemoryStorage().bootstrap(['a', 'a'])).toThrow(/distinct/);
  });
});
