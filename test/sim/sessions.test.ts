import { describe, expect, it } from 'vitest';
import { decodeSessionResult, encodeRegisterCommand, encodeSessionCommand } from '../../src/raft/sessions/envelope.ts';
import type { Entry } from '../../src/raft/types.ts';
import { SafetyViolation } from '../../src/sim/checkers.ts';
import { encodePut } from '../../src/sim/kv.ts';
import { checkRegisterHistory, type RegisterOp } from '../../src/sim/linearizability.ts';
import { ExactlyOnceChecker, type SessionBug, SimStateMachine } from '../../src/sim/sessions.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const STEPS = 1500;

function entry(index: number, data: Uint8Array): Entry {
  return { index, term: 1, type: 'normal', data };
}

function sessionPut(clientId: string, seq: number, opId: string, value: string): Uint8Array {
  return encodeSessionCommand({ clientId, seq, ackedBelow: 1 }, encodePut({ opId, key: 'x', value }));
}

/** A register, one put, a snapshot, and the same put again after a restore into a new process's machine: the answer to the retry. */
function retryAfterRestore(bug: SessionBug | null): string {
  const checker = new ExactlyOnceChecker();
  const before = new SimStateMachine('n1', checker, null);
  const registered = decodeSessionResult(before.apply(entry(1, encodeRegisterCommand())));
  if (registered.status !== 'applied') throw new Error(`register answered ${registered.status}`);
  const clientId = new TextDecoder().decode(registered.result);
  before.apply(entry(2, sessionPut(clientId, 1, 'c.1', 'v1')));
  const snapshot = before.snapshot();
  if (!(snapshot instanceof Uint8Array)) throw new Error('the simulated state machine snapshots synchronously');
  const after = new SimStateMachine('n2', new ExactlyOnceChecker(), bug);
  after.restore(snapshot);
  expect(after.store.get('x')).toBe('v1');
  return decodeSessionResult(after.apply(entry(3, sessionPut(clientId, 1, 'c.1', 'v1')))).status;
}

describe('exactly-once sessions in the simulator', () => {
  it('keeps the session table in its snapshots (production snapshot/restore): a retry after a restore is a duplicate', () => {
    expect(retryAfterRestore(null)).toBe('duplicate');
    // The planted bug: the registers come back, the table does not.
    expect(retryAfterRestore('sessions-not-restored')).toBe('unknown-client');
  });

  it('the checker refuses a put applied at a second index and replicas that answer one entry differently', () => {
    const checker = new ExactlyOnceChecker();
    const command = { opId: 'c1.7', key: 'x', value: 'v8' };
    checker.onPutApplied('n1', command, entry(10, new Uint8Array()));
    checker.onPutApplied('n2', command, entry(10, new Uint8Array())); // another replica, or a replay after a restart: same index
    expect(() => checker.onPutApplied('n2', command, entry(12, new Uint8Array()))).toThrow(
      /exactly once: n2 applied put c1\.7 \(x=v8\) again at index 12; it was applied at 10/,
    );
    checker.onResult('n1', 10, Uint8Array.of(0, 1));
    checker.onResult('n2', 10, Uint8Array.of(0, 1));
    expect(() => checker.onResult('n3', 10, Uint8Array.of(3))).toThrow(SafetyViolation);
  });

  it('a put applied twice is visible to the linearizability checker when its value comes back', () => {
    let id = 0;
    const op = (kind: 'put' | 'get', value: string, call: number, ret: number): RegisterOp => ({
      id: id++,
      clientId: `c${id}`,
      key: 'x',
      kind,
      value,
      call_time: call,
      ret_time: ret,
    });
    // "a" was retried: one operation from its first attempt's call (1) to the answered attempt's return (10).
    const history = [op('put', 'a', 1, 10), op('get', 'a', 2, 3), op('put', 'b', 4, 5), op('get', 'b', 6, 7)];
    expect(checkRegisterHistory(history).ok).toBe(true);
    // The retry applied again after b: a read sees "a" come back.
    expect(checkRegisterHistory([...history, op('get', 'a', 8, 9)]).ok).toBe(false);
  });

  it('counts a put retried through timeouts and leader changes as one operation (seed 5)', () => {
    const result = runSimulation({ seed: 5, steps: STEPS });
    expect(result.failure).toBeUndefined();
    expect(result.stats.putRetries).toBeGreaterThan(0);
    expect(result.stats.duplicateAnswers).toBeGreaterThan(0); // a retry answered from the table: applied once, for an earlier attempt
    const puts = result.history.filter((op) => op.kind === 'put');
    const retried = puts.filter((op) => (op.attempts ?? 1) > 1);
    expect(retried.filter((op) => op.ret_time !== Infinity).length).toBeGreaterThan(0);
    // One entry per request: every put's value is its own, however many attempts it took.
    expect(new Set(puts.map((op) => op.value)).size).toBe(puts.length);
  }, 60_000);

  it.each([
    ['sessions-not-restored', 3, /^SafetyViolation: replicas agree: n2 \(incarnation 4\) answered the entry at 26 with unknown-client/],
    ['dedup-disabled', 2, /^SafetyViolation: exactly once: n5 \(incarnation 1\) applied put c1\.73 \(y=v74\) again at index 53; it was applied at 39/],
  ] as const)('catches the planted bug %s on seed %i', (bug, seed, failure) => {
    const result = runSimulation({ seed, steps: STEPS, bug });
    expect(result.ok).toBe(false);
    expect(result.failure).toMatch(failure);
  });
});
