import { describe, expect, it } from 'vitest';
import {
  Reader,
  Writer,
  decodeEntry,
  decodeHardState,
  decodeMessageBatch,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeMessageBatch,
  encodeSnapshot,
} from '../../src/raft/codec.ts';
import { CorruptFileError } from '../../src/errors/index.ts';
import type { Message } from '../../src/raft/types.ts';
import { seededRandom, testSeed } from './helpers.ts';

describe('raft codec', () => {
  it('round-trips entries, hard state and snapshots, including large integers', () => {
    const entry = { index: 2 ** 40 + 3, term: 7, type: 'conf-change' as const, data: new Uint8Array([1, 2, 3]) };
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
    for (const hs of [
      { term: 0, vote: null, commit: 0 },
      { term: 2 ** 53 - 1, vote: 'node-é', commit: 12345 },
    ]) {
      expect(decodeHardState(encodeHardState(hs))).toEqual(hs);
    }
    const snap = { metadata: { index: 10, term: 3, conf: { voters: ['a', 'b'], learners: ['c'] } }, data: new Uint8Array(100).fill(9) };
    expect(decodeSnapshot(encodeSnapshot(snap))).toEqual(snap);
  });

  it('round-trips random message batches (seeded)', () => {
    const seed = testSeed('raft codec');
    const random = seededRandom(seed);
    const int = (max: number) => Math.floor(random() * max);
    const types = ['pre-vote', 'vote-resp', 'append', 'append-resp', 'heartbeat', 'snapshot', 'read-index-resp'] as const;
    for (let round = 0; round < 50; round++) {
      const batch: Message[] = [];
      for (let i = 0; i < int(5); i++) {
        const m: { -readonly [K in keyof Message]: Message[K] } = { type: types[int(types.length)]!, from: `n${int(5)}`, to: `n${int(5)}`, term: int(1000) };
        if (random() < 0.5) m.index = int(2 ** 45);
        if (random() < 0.5) m.logTerm = int(100);
        if (random() < 0.5)
          m.entries = Array.from({ length: int(4) }, (_, k) => ({ index: k + 1, term: 1, type: 'normal' as const, data: new Uint8Array(int(20)).fill(k) }));
        if (random() < 0.5) m.commit = int(1e6);
        if (random() < 0.5) m.reject = random() < 0.5;
        if (random() < 0.5) m.rejectHint = int(1e6);
        if (random() < 0.2) m.snapshot = { metadata: { index: 5, term: 2, conf: { voters: ['x'], learners: [] } }, data: new Uint8Array([int(255)]) };
        if (random() < 0.5) m.context = new Uint8Array([int(255), int(255)]);
        batch.push(m);
      }
      expect(decodeMessageBatch(encodeMessageBatch(batch))).toEqual(batch);
    }
  });

  it('writes strings as UTF-8 on both the short-ASCII path and the general one', () => {
    const encoder = new TextEncoder();
    const cases = ['', 'n1', '\u0000', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'node-é', '日本', `${'a'.repeat(40)}€`, '\u{1F600}', 'k'.repeat(300)];
    for (const text of cases) {
      const w = new Writer(4);
      w.string(text);
      const bytes = w.finish();
      // Varint length prefix, then exactly what TextEncoder gives.
      const utf8 = encoder.encode(text);
      expect(bytes.subarray(bytes.length - utf8.length)).toEqual(utf8);
      const r = new Reader(bytes, 'test string');
      expect(r.string()).toBe(text);
      r.expectEnd();
    }
    // A short string whose bytes are not UTF-8 is refused, as a long one is.
    for (const bad of [
      [2, 0x61, 0xff],
      [3, 0xc3, 0x28, 0x61],
    ]) {
      expect(() => new Reader(new Uint8Array(bad), 'test string').string()).toThrow(/test string: invalid UTF-8 in string/);
    }
    expect(() => new Reader(new Uint8Array([5, 0x61]), 'test string').string()).toThrow(/test string: length 5 exceeds the 1 bytes left/);
  });

  it('rejects truncated or malformed input with CorruptFileError', () => {
    const bytes = encodeMessageBatch([
      { type: 'append', from: 'a', to: 'b', term: 1, entries: [{ index: 1, term: 1, type: 'normal', data: new Uint8Array(10) }] },
    ]);
    expect(() => decodeMessageBatch(bytes.subarray(0, bytes.length - 3))).toThrow(CorruptFileError);
    const badType = Uint8Array.from(bytes);
    badType[1] = 200; // the first message's type code
    expect(() => decodeMessageBatch(badType)).toThrow(/unknown message type code 200/);
    expect(() => decodeEntry(new Uint8Array([0, 1, 1, 5, 1]))).toThrow(/length 5 exceeds/);
  });
});
