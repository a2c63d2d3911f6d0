import { assert } from '../errors/index.ts';

/**
 * One operation on a register, as a client saw it. `ret_time` is Infinity when
 * the outcome is unknown (a timed-out write may have happened at any time after
 * its call). Reads with unknown outcome are simply left out of the history.
 */
export interface RegisterOp {
  readonly id: number;
  readonly clientId: string;
  readonly key: string;
  readonly kind: 'put' | 'get';
  /** put: the value written; get: the value read (null = never written). */
  readonly value: string | null;
  readonly call_time: number;
  readonly ret_time: number;
  /**
   * A put sent more than once (retried with the same session seq through
   * timeouts and leader changes) is still one operation: called when its
   * first attempt was sent, returned when one was answered. Not used by the
   * check; kept for reading a history.
   */
  readonly attempts?: number;
}

export interface LinearizabilityResult {
  readonly ok: boolean;
  /** Set when the search exceeded its bound: neither proved nor refuted. */
  readonly inconclusive: boolean;
  readonly failingKey?: string;
  readonly explored: number;
}

/** Bound on search states per key; histories here are small, so hitting it means something is off. */
const MAX_EXPLORED_PER_KEY = 2_000_000;

/**
 * Wing & Gong's search with memoisation (as in porcupine), partitioned by key
 * (each register is independent, so the history is linearizable iff each
 * key's sub-history is). Depth-first: repeatedly pick an operation that could
 * be linearized next (called before every pending operation returned) and
 * whose result fits the register's current value; memoise (done set, value)
 * pairs already explored so each is visited once.
 */
export function checkRegisterHistory(history: readonly RegisterOp[]): LinearizabilityResult {
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of history) {
    assert(op.ret_time > op.call_time, () => `operation ${op.id} returns before it is called`);
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  let explored = 0;
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const result = checkOneRegister(ops);
    explored += result.explored;
    if (result.inconclusive) return { ok: true, inconclusive: true, failingKey: key, explored };
    if (!result.ok) return { ok: false, inconclusive: false, failingKey: key, explored };
  }
  return { ok: true, inconclusive: false, explored };
}

function checkOneRegister(unsorted: readonly RegisterOp[]): { ok: boolean; inconclusive: boolean; explored: number } {
  const ops = [...unsorted].sort((a, b) => a.call_time - b.call_time);
  const count = ops.length;
  const seen = new Set<string>();
  let explored = 0;
  // Iterative DFS: each frame is (done mask, register value, next candidate position to try).
  const done: boolean[] = new Array<boolean>(count).fill(false);
  const stack: { chosen: number; value: string | null }[] = [];
  let value: string | null = null;
  let doneCount = 0;
  let startAt = 0;
  for (;;) {
    if (doneCount === count) return { ok: true, inconclusive: false, explored };
    if (explored++ > MAX_EXPLORED_PER_KEY) return { ok: true, inconclusive: true, explored };
    // The earliest return among pending operations bounds which ones may go next.
    let minReturn = Infinity;
    for (let i = 0; i < count; i++) if (!done[i]) minReturn = Math.min(minReturn, ops[i]!.ret_time);
    let advanced = false;
    for (let i = startAt; i < count; i++) {
      const op = ops[i]!;
      if (done[i]) continue;
      if (op.call_time > minReturn) break; // sorted by call: none later can go first either
      if (op.kind === 'get' && op.value !== value) continue;
      const nextValue: string | null = op.kind === 'put' ? op.value : value;
      done[i] = true;
      const memoKey = `${maskKey(done)}|${nextValue ?? '\u0000'}`;
      if (seen.has(memoKey)) {
        done[i] = false;
        continue;
      }
      seen.add(memoKey);
      stack.push({ chosen: i, value });
      value = nextValue;
      doneCount++;
      startAt = 0;
      advanced = true;
      break;
    }
    if (advanced) continue;
    const frame = stack.pop();
    if (frame === undefined) return { ok: false, inconclusive: false, explored };
    done[frame.chosen] = false;
    doneCount--;
    value = frame.value;
    startAt = frame.chosen + 1;
  }
}

function maskKey(done: readonly boolean[]): string {
  let key = '';
  for (let i = 0; i < done.length; i += 16) {
    let word = 0;
    for (let j = 0; j < 16 && i + j < done.length; j++) if (done[i + j]) word |= 1 << j;
    key += String.fromCharCode(word);
  }
  return key;
}
