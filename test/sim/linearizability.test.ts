import { describe, expect, it } from 'vitest';
import { checkRegisterHistory, type RegisterOp } from '../../src/sim/linearizability.ts';
import { Prng } from '../../src/random/prng.ts';

let nextId = 0;
function put(value: string, call: number, ret: number, key = 'k'): RegisterOp {
  return { id: nextId++, clientId: 'c', key, kind: 'put', value, call_time: call, ret_time: ret };
}
function get(value: string | null, call: number, ret: number, key = 'k'): RegisterOp {
  return { id: nextId++, clientId: 'c', key, kind: 'get', value, call_time: call, ret_time: ret };
}

describe('linearizability checker (Wing & Gong with memoisation)', () => {
  it('accepts a sequential history and rejects a stale read', () => {
    expect(checkRegisterHistory([put('a', 1, 2), get('a', 3, 4)]).ok).toBe(true);
    expect(checkRegisterHistory([put('a', 1, 2), get(null, 3, 4)]).ok).toBe(false);
    expect(checkRegisterHistory([put('a', 1, 2), put('b', 3, 4), get('a', 5, 6)]).ok).toBe(false);
  });

  it('lets concurrent operations take effect in either order', () => {
    expect(checkRegisterHistory([put('a', 1, 4), get(null, 2, 3)]).ok).toBe(true);
    expect(checkRegisterHistory([put('a', 1, 4), get('a', 2, 3)]).ok).toBe(true);
    // Two reads of one concurrent write cannot go back: a then null is not linearizable.
    expect(checkRegisterHistory([put('a', 1, 10), get('a', 2, 3), get(null, 4, 5)]).ok).toBe(false);
  });

  it('treats a write with unknown outcome as possibly happening at any later time, or never', () => {
    expect(checkRegisterHistory([put('a', 1, Infinity), get(null, 2, 3), get('a', 4, 5)]).ok).toBe(true);
    expect(checkRegisterHistory([put('a', 1, Infinity), get(null, 2, 3)]).ok).toBe(true);
    expect(checkRegisterHistory([put('a', 1, Infinity), get('a', 2, 3), get(null, 4, 5)]).ok).toBe(false);
  });

  it('checks keys independently', () => {
    expect(checkRegisterHistory([put('a', 1, 2, 'x'), get(null, 3, 4, 'y'), get('a', 5, 6, 'x')]).ok).toBe(true);
    const result = checkRegisterHistory([put('a', 1, 2, 'x'), get('b', 3, 4, 'y')]);
    expect(result.ok).toBe(false);
    expect(result.failingKey).toBe('y');
  });

  it('accepts randomised histories of a real register and rejects them after one corrupted read', () => {
    const seed = 20261127;
    console.log(`linearizability random histories: seed ${seed}`);
    const prng = new Prng(seed);
    for (let trial = 0; trial < 30; trial++) {
      // Run a register sequentially; each operation takes effect at an instant inside a random interval.
      const ops: RegisterOp[] = [];
      let value: string | null = null;
      let time = 0;
      for (let i = 0; i < 40; i++) {
        time += 2;
        const call = time - prng.range(0, 6);
        const ret = time + prng.range(1, 6);
        if (prng.chance(0.5)) {
          value = `v${i}`;
          ops.push(put(value, call, prng.chance(0.1) ? Infinity : ret));
        } else ops.push(get(value, call, ret));
      }
      expect(checkRegisterHistory(ops).ok, `trial ${trial}`).toBe(true);
      const reads = ops.filter((op) => op.kind === 'get');
      const victim = reads[prng.int(reads.length)]!;
      const corrupted = ops.map((op) => (op === victim ? { ...op, value: 'never-written' } : op));
      expect(checkRegisterHistory(corrupted).ok, `trial ${trial}`).toBe(false);
    }
  });
});
