import { describe, expect, it } from 'vitest';
import { encodePut, KvStateMachine } from '../../src/raft/kv/kv-state-machine.ts';
import { seededRandom, testSeed } from './helpers.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('KvStateMachine', () => {
  it('snapshots the state as of the call while puts go on during a sliced serialisation (seeded)', async () => {
    const seed = testSeed('kv snapshot');
    const random = seededRandom(seed);
    const sm = new KvStateMachine();
    let index = 0;
    const put = (key: string, value: string): void => {
      sm.apply({ index: ++index, term: 1, type: 'normal', data: encodePut(key, bytes(value)) });
    };
    // Enough keys for several slices, some of them non-ASCII or long.
    const expected = new Map<string, string>();
    for (let i = 0; i < 9000; i++) {
      const key = i % 97 === 0 ? `clé-${i}` : i % 89 === 0 ? `long-${'k'.repeat(80)}-${i}` : `key-${i}`;
      const value = `v${Math.floor(random() * 1e9)}`;
      put(key, value);
      expected.set(key, value);
    }
    const taking = sm.snapshot();
    // Overwrites and new keys, interleaved with the serialisation's slices.
    let during = 0;
    let done = false;
    void taking.then(() => (done = true));
    while (!done) {
      for (let k = 0; k < 50; k++) {
        put(`key-${Math.floor(random() * 9000)}`, `changed-${during}`);
        put(`new-${during}`, 'x');
        during++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(during).toBeGreaterThan(0); // the puts really ran while the snapshot was being written
    const restored = new KvStateMachine();
    restored.restore(await taking);
    expect(restored.size()).toBe(expected.size);
    for (const [key, value] of expected) expect(new TextDecoder().decode(restored.get(key))).toBe(value);
    expect(restored.get('new-0')).toBeUndefined();

    // And a snapshot taken now holds the later state, in a replica that restores it.
    const later = new KvStateMachine();
    later.restore(await sm.snapshot());
    expect(later.size()).toBe(sm.size());
    for (let i = 0; i < 9000; i += 37) expect(later.get(`key-${i}`)).toEqual(sm.get(`key-${i}`));
  });

  it('snapshots and restores an empty map', async () => {
    const restored = new KvStateMachine();
    restored.restore(await new KvStateMachine().snapshot());
    expect(restored.size()).toBe(0);
  });
});
