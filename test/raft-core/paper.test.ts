/**
 * The rules of the Raft paper (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", extended version), one test per rule,
 * named after the section it comes from.
 */
import { describe, expect, it } from 'vitest';
import { TestCluster } from './cluster.ts';
import { entry, flush, newCore, sent, storageWith, tickUntil } from './single.ts';

const V3 = ['1', '2', '3'];
const V5 = ['1', '2', '3', '4', '5'];

describe('§5.1 terms', () => {
  it('followers update term from higher-term message (§5.1)', () => {
    for (const role of ['follower', 'candidate', 'leader'] as const) {
      const { core, storage } = newCore('1', V3);
      if (role !== 'follower') tickUntil(core, storage, () => core.status().role === 'candidate');
      if (role === 'leader') {
        core.step({ type: 'vote-resp', from: '2', to: '1', term: core.status().term });
        flush(core, storage);
        expect(core.status().role).toBe('leader');
      }
      core.step({ type: 'append', from: '2', to: '1', term: 9, index: 0, logTerm: 0, entries: [], commit: 0 });
      expect(core.status().term, role).toBe(9);
      expect(core.status().role, role).toBe('follower');
      expect(core.status().leaderId, role).toBe('2');
    }
  });

  it('a node ignores requests with a stale term (§5.1)', () => {
    const { core, storage } = newCore('1', V3);
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 0, logTerm: 0, entries: [], commit: 0 });
    flush(core, storage);
    core.step({ type: 'append', from: '3', to: '1', term: 2, index: 0, logTerm: 0, entries: [entry(1, 2)], commit: 0 });
    expect(core.status().lastIndex).toBe(0);
    expect(core.status().leaderId).toBe('2');
  });

  it('a vote request with a stale term is rejected with the current term, and the candidate moves up to it (§5.1)', () => {
    // Without the answer, a candidate that only this node can elect, and that
    // this node never messages itself, stayed terms behind it for ever
    // (simulator seed 1137, pre-vote off: both bumped their term at each timeout).
    const voter = newCore('1', V3, { checkQuorum: true });
    voter.core.step({ type: 'heartbeat', from: '2', to: '1', term: 9, commit: 0 });
    flush(voter.core, voter.storage);
    voter.core.step({ type: 'vote', from: '3', to: '1', term: 4, index: 0, logTerm: 0 });
    const answers = sent(voter.core, voter.storage);
    expect(answers).toEqual([{ type: 'vote-resp', from: '1', to: '3', term: 9, reject: true }]);
    expect(voter.core.status().term).toBe(9); // unchanged, and no vote given
    const candidate = newCore('3', V3);
    tickUntil(candidate.core, candidate.storage, () => candidate.core.status().role === 'candidate');
    expect(candidate.core.status().term).toBeLessThan(9);
    candidate.core.step(answers[0]!);
    expect(candidate.core.status()).toMatchObject({ role: 'follower', term: 9 });
  });
});

describe('§5.2 leader election', () => {
  it('nodes start as followers (§5.2)', () => {
    const { core } = newCore('1', V3);
    expect(core.status().role).toBe('follower');
    expect(core.status().term).toBe(0);
  });

  it('leader broadcasts heartbeat every heartbeat timeout (§5.2)', () => {
    const cluster = new TestCluster(V3);
    cluster.elect('1');
    cluster.tick('1');
    const beats = cluster.queue.filter((m) => m.type === 'heartbeat');
    expect(beats.map((m) => m.to).sort()).toEqual(['2', '3']);
  });

  it('follower starts new election on timeout: increments term, votes for itself, asks everyone (§5.2)', () => {
    const { core, storage } = newCore('1', V3);
    tickUntil(core, storage, () => core.status().role === 'candidate');
    const ready = flush(core, storage);
    expect(core.status().term).toBe(1);
    expect(storage.hardState().vote).toBe('1');
    void ready;
  });

  it('candidate starts new election on timeout (§5.2)', () => {
    const { core, storage } = newCore('1', V3);
    const requests: string[] = [];
    for (let i = 0; i < 100 && core.status().term < 2; i++) {
      core.tick();
      if (core.hasReady()) for (const m of flush(core, storage).messages) if (m.type === 'vote') requests.push(`${m.to}@${m.term}`);
    }
    expect(core.status().role).toBe('candidate');
    expect(core.status().term).toBe(2);
    expect(requests.sort()).toEqual(['2@1', '2@2', '3@1', '3@2']);
  });

  it('candidate wins with a majority, loses to a majority of rejections, waits otherwise (§5.2)', () => {
    const cases: { voters: string[]; grants: string[]; rejects: string[]; role: string }[] = [
      { voters: V3, grants: ['2'], rejects: [], role: 'leader' },
      { voters: V3, grants: [], rejects: ['2', '3'], role: 'follower' },
      { voters: V5, grants: ['2'], rejects: ['3'], role: 'candidate' },
      { voters: V5, grants: ['2', '3'], rejects: [], role: 'leader' },
      { voters: V5, grants: [], rejects: ['2', '3', '4'], role: 'follower' },
    ];
    for (const c of cases) {
      const { core, storage } = newCore('1', c.voters);
      tickUntil(core, storage, () => core.status().role === 'candidate');
      for (const from of c.grants) core.step({ type: 'vote-resp', from, to: '1', term: 1 });
      for (const from of c.rejects) core.step({ type: 'vote-resp', from, to: '1', term: 1, reject: true });
      expect(core.status().role, JSON.stringify(c)).toBe(c.role);
    }
  });

  it('leader-only-one vote per term: a follower votes at most once per term (§5.2)', () => {
    const { core, storage } = newCore('1', V3);
    core.step({ type: 'vote', from: '2', to: '1', term: 1, index: 0, logTerm: 0 });
    core.step({ type: 'vote', from: '3', to: '1', term: 1, index: 0, logTerm: 0 });
    core.step({ type: 'vote', from: '2', to: '1', term: 1, index: 0, logTerm: 0 }); // a retry from the one we chose
    const answers = sent(core, storage).map((m) => `${m.to}:${m.reject === true ? 'no' : 'yes'}`);
    expect(answers).toEqual(['2:yes', '3:no', '2:yes']);
    expect(storage.hardState().vote).toBe('2');
  });

  it('candidate falls back to follower on append from a leader of the same term (§5.2)', () => {
    const { core, storage } = newCore('1', V3);
    tickUntil(core, storage, () => core.status().role === 'candidate');
    core.step({ type: 'append', from: '2', to: '1', term: 1, index: 0, logTerm: 0, entries: [], commit: 0 });
    expect(core.status().role).toBe('follower');
    expect(core.status().leaderId).toBe('2');
    expect(core.status().term).toBe(1);
  });

  it('election timeouts are randomised in [T, 2T) (§5.2)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { core, storage } = newCore('1', V3, { seed });
      let ticks = 0;
      while (core.status().role === 'follower') {
        core.tick();
        ticks++;
        if (core.hasReady()) flush(core, storage);
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('with split votes, a new election follows and someone wins (§5.2)', () => {
    const cluster = new TestCluster(V3, { seed: 3 });
    cluster.campaign('1');
    cluster.campaign('2');
    cluster.stabilize();
    for (let i = 0; i < 100 && cluster.leader() === null; i++) {
      cluster.tickAll();
      cluster.stabilize();
    }
    expect(cluster.leader()).not.toBeNull();
  });
});

describe('§5.3 log replication', () => {
  it('leader appends a proposal, replicates it, commits after a majority, and everyone applies it (§5.3)', () => {
    const cluster = new TestCluster(V3);
    cluster.elect('1');
    const { index } = cluster.propose('1', 'hello');
    cluster.deliver((m) => m.type === 'append' && m.to === '2'); // only node 2 gets it
    expect(cluster.core('1').status().commit).toBeLessThan(index);
    cluster.deliver((m) => m.type === 'append-resp'); // 2 of 3 have it: committed
    expect(cluster.core('1').status().commit).toBe(index);
    cluster.stabilize();
    cluster.tickAll(); // heartbeat carries the commit index
    cluster.stabilize();
    for (const id of V3) expect(cluster.node(id).applied.map((e) => new TextDecoder().decode(e.data))).toContain('hello');
  });

  it('follower rejects an append whose previous entry does not match, with a hint (§5.3)', () => {
    const storage = storageWith(V3, [1, 1, 2], 2);
    const { core } = newCore('1', V3, {}, storage);
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 3, logTerm: 3, entries: [entry(4, 3)], commit: 0 });
    const [resp] = sent(core, storage);
    expect(resp).toMatchObject({ type: 'append-resp', reject: true, index: 3 });
    // Fast backoff: the last index whose term could match term 3 is 3 itself (term 2 <= 3), with term 2.
    expect(resp?.rejectHint).toBe(3);
    expect(resp?.logTerm).toBe(2);
  });

  it("log matching: a follower deletes a conflicting suffix and takes the leader's entries (§5.3)", () => {
    const storage = storageWith(V3, [1, 1, 2, 2], 2);
    const { core } = newCore('1', V3, {}, storage);
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 2, logTerm: 1, entries: [entry(3, 3, 'a'), entry(4, 3, 'b')], commit: 0 });
    flush(core, storage);
    expect([1, 2, 3, 4].map((i) => storage.term(i))).toEqual([1, 1, 3, 3]);
    // A stale append (already-present entries) does not truncate anything.
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 2, logTerm: 1, entries: [entry(3, 3, 'a')], commit: 0 });
    flush(core, storage);
    expect(storage.lastIndex()).toBe(4);
  });

  it('follower sets its commit index to min(leaderCommit, index of the last new entry), never beyond what the append verified (§5.3, AppendEntries step 5)', () => {
    // The follower's entries 4 and 5 (term 2) come from an old leader; the
    // current leader (term 3) has committed other entries at 4 and 5. An
    // append that verifies only up to 3 must not commit the follower's 4 and 5.
    const storage = storageWith(V3, [1, 1, 1, 2, 2], 2);
    const { core } = newCore('1', V3, {}, storage);
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 2, logTerm: 1, entries: [entry(3, 1, 'e3')], commit: 5 });
    const ready = flush(core, storage);
    expect(core.status().commit).toBe(3);
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(ready.messages).toMatchObject([{ type: 'append-resp', index: 3 }]);
    // The next append replaces 4 and 5 with the leader's: now commit 5 is verified.
    core.step({ type: 'append', from: '2', to: '1', term: 3, index: 3, logTerm: 1, entries: [entry(4, 3, 'x'), entry(5, 3, 'y')], commit: 5 });
    flush(core, storage);
    expect(core.status().commit).toBe(5);
    expect([4, 5].map((i) => storage.term(i))).toEqual([3, 3]);
  });

  it('leader brings every Figure 7 follower log in line with its own (§5.3, Figure 7)', () => {
    // Figure 7: the leader for term 8 and followers (a)-(f).
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    for (const [name, terms] of Object.entries(followers)) {
      const ids = ['L', 'F', 'x'];
      const cluster = new TestCluster(ids);
      // Replace the storages' contents by the figure's logs, then restart the cores from them.
      cluster.crash('L');
      cluster.crash('F');
      cluster.crash('x');
      const l = cluster.node('L').storage;
      l.append(leaderTerms.map((t, i) => entry(i + 1, t)));
      l.setHardState({ term: 7, vote: null, commit: 0 });
      const f = cluster.node('F').storage;
      f.append(terms.map((t, i) => entry(i + 1, t)));
      f.setHardState({ term: 7, vote: null, commit: 0 });
      cluster.node('x').storage.setHardState({ term: 7, vote: null, commit: 0 });
      cluster.start('L');
      cluster.start('F');
      cluster.start('x');
      cluster.isolate('x'); // the leader wins with F's vote alone where F's log allows it
      cluster.heal();
      cluster.elect('L');
      cluster.propose('L', 'term 8 entry');
      cluster.stabilize();
      expect(cluster.logOf('F'), `follower ${name}`).toEqual(cluster.logOf('L'));
    }
  });

  it('leader never overwrites or deletes entries in its own log (§5.3 Leader Append-Only)', () => {
    const cluster = new TestCluster(V3);
    cluster.elect('1');
    cluster.propose('1', 'a');
    const before = cluster.logOf('1');
    // A conflicting append from a stale "leader" of an older term is ignored by the leader.
    cluster.core('1').step({ type: 'append-resp', from: '2', to: '1', term: 1, index: 0, reject: true, rejectHint: 0 });
    cluster.stabilize();
    expect(cluster.logOf('1').slice(0, before.length)).toEqual(before);
  });
});

/** Campaigns until `id` leads, delivering only election traffic (its appends stay queued). */
function winWithoutReplicating(c: TestCluster, id: string): void {
  for (let attempt = 0; attempt < 10 && c.core(id).status().role !== 'leader'; attempt++) {
    const term = c.core(id).status().term;
    for (let i = 0; i < 40 && c.core(id).status().term === term; i++) c.tick(id); // next campaign
    for (let i = 0; i < 10; i++) c.deliver((m) => m.type !== 'append' && m.type !== 'heartbeat');
  }
  expect(c.core(id).status().role).toBe('leader');
}

describe('§5.4 safety', () => {
  it('voter rejects a candidate whose log is less up-to-date (§5.4.1)', () => {
    const cases = [
      { mine: [1, 2], candidateIndex: 2, candidateTerm: 1, granted: false }, // older last term
      { mine: [1, 2], candidateIndex: 1, candidateTerm: 2, granted: false }, // same term, shorter
      { mine: [1, 2], candidateIndex: 2, candidateTerm: 2, granted: true },
      { mine: [1, 2], candidateIndex: 1, candidateTerm: 3, granted: true }, // newer last term wins even if shorter
    ];
    for (const c of cases) {
      const storage = storageWith(V3, c.mine, 2);
      const { core } = newCore('1', V3, {}, storage);
      core.step({ type: 'vote', from: '2', to: '1', term: 3, index: c.candidateIndex, logTerm: c.candidateTerm });
      const [resp] = sent(core, storage);
      expect(resp?.reject === true, JSON.stringify(c)).toBe(!c.granted);
    }
  });

  it('leader commits only current-term entries by counting replicas (§5.4.2, Figure 8)', () => {
    // Figure 8 with five servers S1..S5, maxSizePerMsg small so each append carries one entry.
    const c = new TestCluster(['1', '2', '3', '4', '5'], { maxSizePerMsg: 1, maxInflightMsgs: 1, seed: 8 });
    c.elect('1'); // term 1, no-op at index 1 everywhere
    c.tickAll();
    c.stabilize();
    // (a) S1 replicates index 2 (term 1) to S2 only.
    c.partition([
      ['1', '2'],
      ['3', '4', '5'],
    ]);
    c.propose('1', 'x');
    c.stabilize();
    expect(c.logOf('2')).toEqual(['1:1', '2:1']);
    // (b) S1 goes down; S5 wins term 2 with S3 and S4, appends its no-op (index 2, term 2) and goes down before sending it.
    c.crash('1');
    c.heal();
    c.isolate('2');
    winWithoutReplicating(c, '5');
    expect(c.core('5').status().term).toBe(2);
    expect(c.logOf('5')).toEqual(['1:1', '2:2']);
    c.crash('5');
    expect(c.logOf('3')).toEqual(['1:1']);
    // (c) S1 restarts and wins term 3 with S2, S3, S4; its first append to S3 carries only index 2 (term 1).
    c.heal();
    c.start('1');
    c.isolate('5');
    winWithoutReplicating(c, '1');
    const term = c.core('1').status().term;
    expect(term).toBeGreaterThanOrEqual(3);
    // Deliver the probes between S1 and S3 until S3 holds index 2 (term 1), but nothing after it.
    for (let i = 0; i < 10 && !c.logOf('3').includes('2:1'); i++) {
      c.deliver((m) => (m.type === 'append' && m.to === '3') || (m.type === 'append-resp' && m.from === '3'));
    }
    expect(c.logOf('3')).toEqual(['1:1', '2:1']);
    c.deliver((m) => m.type === 'append-resp' && m.from === '3');
    // Index 2 (term 1) is now on S1, S2, S3 (a majority) but is NOT committed: it is not from S1's term.
    expect(c.core('1').status().commit).toBe(1);
    // (d) Why: S1 dies before its own-term entry spreads; S5 (last term 2) can win with S3 and S4 and overwrite index 2.
    c.crash('1');
    c.queue = [];
    c.start('5');
    c.heal();
    c.isolate('2');
    winWithoutReplicating(c, '5');
    c.heal();
    c.tickAll();
    c.stabilize();
    expect(c.logOf('3')[1]).toBe(`2:2`);
    expect(c.logOf('4')[1]).toBe(`2:2`);
    // (e) Had S1 replicated an entry of its own term to a majority, S5 could never have won; the no-op is that entry.
  });

  it('an older-term entry becomes committed together with the first current-term entry after it (§5.4.2)', () => {
    const c = new TestCluster(V3, { maxSizePerMsg: 1 });
    c.elect('1');
    c.partition([['1'], ['2', '3']]);
    c.propose('1', 'old'); // index 2, term 1: nowhere else
    c.crash('2');
    c.crash('3');
    c.heal();
    c.start('2');
    c.start('3');
    c.stabilize();
    // 1 is the only one with index 2; it wins term 2 with 2's vote and commits index 2 only with its no-op (index 3).
    c.crash('1');
    c.start('1');
    c.elect('1');
    c.tickAll();
    c.stabilize();
    const status = c.core('1').status();
    expect(status.term).toBeGreaterThanOrEqual(2);
    expect(status.commit).toBe(3);
    expect(c.logOf('2')).toEqual(['1:1', '2:1', `3:${status.term}`]);
  });
});
