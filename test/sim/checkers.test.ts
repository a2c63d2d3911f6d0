import { describe, expect, it } from 'vitest';
import type { Entry, RaftStatus } from '../../src/raft/types.ts';
import { SafetyChecker, SafetyViolation } from '../../src/sim/checkers.ts';

const e = (index: number, term: number, text: string): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(text) });
const status = (id: string, role: RaftStatus['role'], term: number, commit = 0): RaftStatus => ({
  id,
  role,
  term,
  leaderId: role === 'leader' ? id : null,
  commit,
  applied: 0,
  lastIndex: commit,
  conf: { voters: ['a', 'b', 'c'], learners: [] },
});

describe('safety checkers catch what they claim to', () => {
  it('two leaders in one term', () => {
    const checker = new SafetyChecker();
    checker.onStatus(
      status('a', 'leader', 2),
      1,
      1,
      () => 0,
      () => [],
    );
    expect(() =>
      checker.onStatus(
        status('b', 'leader', 2),
        1,
        1,
        () => 0,
        () => [],
      ),
    ).toThrow(/election safety/);
  });

  it('log matching: the same (index, term) with different contents', () => {
    const checker = new SafetyChecker();
    checker.onPersistEntries('a', [e(1, 1, 'x')], () => 0);
    expect(() => checker.onPersistEntries('b', [e(1, 1, 'y')], () => 0)).toThrow(SafetyViolation);
  });

  it('leader completeness: a later leader missing a committed entry', () => {
    const checker = new SafetyChecker();
    const log = [e(1, 1, 'x')];
    checker.onStatus(
      status('a', 'leader', 1, 1),
      1,
      1,
      (i) => (i === 1 ? 1 : 0),
      (lo, hi) => log.slice(lo - 1, hi - 1),
    );
    expect(() =>
      checker.onStatus(
        status('b', 'leader', 2),
        1,
        1,
        (i) => (i === 0 ? 0 : undefined),
        () => [],
      ),
    ).toThrow(/leader completeness/);
  });

  it('state machine safety and monotonicity', () => {
    const checker = new SafetyChecker();
    checker.onApply('a', e(1, 1, 'x'));
    expect(() => checker.onApply('b', e(1, 2, 'y'))).toThrow(/state machine safety/);
    checker.onStatus(
      status('c', 'follower', 3),
      1,
      1,
      () => 0,
      () => [],
    );
    expect(() =>
      checker.onStatus(
        status('c', 'follower', 2),
        1,
        1,
        () => 0,
        () => [],
      ),
    ).toThrow(/term monotonicity/);
    checker.onDurableTerm('c', 5);
    expect(() => checker.onDurableTerm('c', 4)).toThrow(/term monotonicity/);
  });

  it('votes: durable before sent, one per term across restarts, kept within a term and across a restart', () => {
    const checker = new SafetyChecker();
    const grant = { type: 'vote-resp' as const, from: 'a', to: 'b', term: 4 };
    // Sent before the vote was durable.
    expect(() => checker.onSend(grant, 1, { term: 4, vote: null, commit: 0 })).toThrow(/vote durable before sent: a sent its vote for b in term 4/);
    checker.onSend(grant, 1, { term: 4, vote: 'b', commit: 0 });
    checker.onSend(grant, 1, { term: 5, vote: null, commit: 0 }); // a later durable term covers it: no second vote in term 4 can follow
    checker.onSend(grant, 2, { term: 4, vote: 'b', commit: 0 }); // the same vote again after a restart is fine
    checker.onSend({ type: 'vote-resp', from: 'a', to: 'c', term: 4, reject: true }, 2, { term: 4, vote: 'b', commit: 0 });
    // A second candidate in the same term, after a restart that lost the vote.
    expect(() => checker.onSend({ type: 'vote-resp', from: 'a', to: 'c', term: 4 }, 3, { term: 4, vote: 'c', commit: 0 })).toThrow(
      /one vote per term: a voted for b in term 4 \(incarnation 1\) and for c in the same term \(incarnation 3\)/,
    );
    // A candidate's request is its vote for itself.
    expect(() => checker.onSend({ type: 'vote', from: 'a', to: 'c', term: 4, index: 0, logTerm: 0 }, 3, { term: 4, vote: 'a', commit: 0 })).toThrow(
      /one vote per term/,
    );
    checker.onDurableHardState('d', { term: 2, vote: 'e', commit: 0 });
    checker.onDurableHardState('d', { term: 2, vote: 'e', commit: 3 });
    expect(() => checker.onDurableHardState('d', { term: 2, vote: null, commit: 3 })).toThrow(/vote kept: d replaced its durable vote for e in term 2 by null/);
    checker.onDurableHardState('f', { term: 5, vote: 'g', commit: 0 });
    checker.onRestart('f', { term: 5, vote: 'g', commit: 0 }, 2);
    expect(() => checker.onRestart('f', { term: 5, vote: null, commit: 0 }, 3)).toThrow(
      /vote kept: f restarted \(incarnation 3\) in term 5 with vote null, but it last made term 5 vote g durable/,
    );
  });
  it('commit quorum durable: a majority of some configuration the leader had since its last announcement', () => {
    const checker = new SafetyChecker();
    const entry = e(62, 6, 'x');
    checker.onDurableCopies('n1', [entry]);
    checker.onDurableCopies('n3', [entry]);
    // Counted under {n1,n2,n3}; adding n4 applied before the announcement left.
    checker.onCommitAnnounced('n3', 6, 62, 6, [
      ['n1', 'n2', 'n3'],
      ['n1', 'n2', 'n3', 'n4'],
    ]);
    expect(() => checker.onCommitAnnounced('n3', 6, 62, 6, [['n1', 'n2', 'n3', 'n4']])).toThrow(
      /commit quorum durable: n3 announced commit 62 \(term 6\) in term 6, but that entry is durable on n1,n3 of voters n1,n2,n3,n4/,
    );
    // A snapshot counts as a durable copy.
    checker.onDurableSnapshot('n2', 70);
    checker.onCommitAnnounced('n3', 6, 62, 6, [['n1', 'n2', 'n3', 'n4', 'n5']]);
    expect(() => checker.onCommitAnnounced('n3', 6, 62, 6, [['n4', 'n5', 'n6']])).toThrow(SafetyViolation);
  });
});
