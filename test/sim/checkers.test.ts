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
});
