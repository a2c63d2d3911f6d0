import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptFileError, MismatchError } from '../../src/errors/index.ts';
import { BOOTSTRAP_INDEX, DurableLogStorage } from '../../src/raft/storage/index.ts';
import { makeEntries, tempDir } from './helpers.ts';

const CONF = { voters: ['a', 'b', 'c'], learners: [] };
const dirs: string[] = [];
function freshDir(): string {
  const dir = tempDir('raft-storage');
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** An empty log (entries from index 1): these tests are about files, not configurations; the bootstrapped layout has its own test. */
function open(dir: string, extra: Partial<Parameters<typeof DurableLogStorage.open>[0]> = {}): DurableLogStorage {
  return DurableLogStorage.open({ dir, clusterId: 'c1', nodeId: 'a', startEmpty: true, ...extra });
}

describe('DurableLogStorage', () => {
  it('bootstraps a configuration as a committed snapshot at index 1, so a joining node can be sent it; an empty log has none', async () => {
    const dir = freshDir();
    const log = DurableLogStorage.open({ dir, clusterId: 'c1', nodeId: 'a', bootstrapConf: CONF });
    expect(log.snapshot().metadata).toEqual({ index: BOOTSTRAP_INDEX, term: 1, conf: CONF });
    expect(log.initialState()).toEqual({ hardState: { term: 1, vote: null, commit: BOOTSTRAP_INDEX }, conf: CONF });
    expect(log.firstIndex()).toBe(BOOTSTRAP_INDEX + 1);
    expect(log.lastIndex()).toBe(BOOTSTRAP_INDEX);
    await log.append(makeEntries(BOOTSTRAP_INDEX + 1, 3, 2));
    log.close();
    const reopened = DurableLogStorage.open({ dir, clusterId: 'c1', nodeId: 'a', bootstrapConf: { voters: ['x'], learners: [] } });
    expect(reopened.recovery.created).toBe(false);
    expect(reopened.initialState().conf).toEqual(CONF); // the configuration on disk, not the one given again
    expect(reopened.lastIndex()).toBe(BOOTSTRAP_INDEX + 3);
    reopened.close();

    const joinerDir = freshDir();
    const joiner = DurableLogStorage.open({ dir: joinerDir, clusterId: 'c1', nodeId: 'd', bootstrapConf: CONF, startEmpty: true });
    expect(joiner.initialState()).toEqual({ hardState: { term: 0, vote: null, commit: 0 }, conf: { voters: [], learners: [] } });
    expect(joiner.lastIndex()).toBe(0);
    joiner.close();

    expect(() => DurableLogStorage.open({ dir: freshDir(), clusterId: 'c1', nodeId: 'a', bootstrapConf: { voters: [], learners: [] } })).toThrow(
      /needs at least one voter/,
    );
    expect(() => DurableLogStorage.open({ dir: freshDir(), clusterId: 'c1', nodeId: 'a' })).toThrow(/no bootstrap configuration/);
  });

  it('writes, closes, reopens and reads back entries and hard state', async () => {
    const dir = freshDir();
    const log = open(dir);
    expect(log.recovery.created).toBe(true);
    await log.append(makeEntries(1, 10, 1));
    await log.append(makeEntries(11, 5, 2));
    log.setHardState({ term: 2, vote: 'b', commit: 12 });
    log.close();

    const reopened = open(dir);
    expect(reopened.recovery.created).toBe(false);
    expect(reopened.firstIndex()).toBe(1);
    expect(reopened.lastIndex()).toBe(15);
    expect(reopened.entries(1, 16)).toEqual([...makeEntries(1, 10, 1), ...makeEntries(11, 5, 2)]);
    expect(reopened.term(11)).toBe(2);
    expect(reopened.initialState()).toEqual({ hardState: { term: 2, vote: 'b', commit: 12 }, conf: { voters: [], learners: [] } });
    reopened.close();
  });

  it('replaces a conflicting suffix and the replacement survives reopening', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 10, 1));
    await log.append(makeEntries(6, 3, 2, 'new-'));
    expect(log.lastIndex()).toBe(8);
    log.close();
    const reopened = open(dir);
    expect(reopened.lastIndex()).toBe(8);
    expect(reopened.entries(1, 9)).toEqual([...makeEntries(1, 5, 1), ...makeEntries(6, 3, 2, 'new-')]);
    reopened.close();
  });

  it('rolls segments, compacts after a snapshot by deleting whole old segments, and reopens', async () => {
    const dir = freshDir();
    const log = open(dir, { segment_bytes_max: 4096 });
    for (let i = 0; i < 40; i++) await log.append(makeEntries(1 + i * 10, 10, 1, 'x'.repeat(20)));
    const segmentsBefore = log.segmentFiles().length;
    expect(segmentsBefore).toBeGreaterThan(3);
    log.setHardState({ term: 1, vote: 'a', commit: 400 });
    log.createSnapshot(300, CONF, new Uint8Array([42]));
    expect(log.firstIndex()).toBe(301);
    const segmentsAfter = log.segmentFiles();
    expect(segmentsAfter.length).toBeLessThan(segmentsBefore);
    for (const file of segmentsAfter) expect(fs.existsSync(file)).toBe(true);
    log.close();

    const reopened = open(dir, { segment_bytes_max: 4096 });
    expect(reopened.firstIndex()).toBe(301);
    expect(reopened.lastIndex()).toBe(400);
    expect(reopened.snapshot().data).toEqual(new Uint8Array([42]));
    expect(reopened.entries(301, 401)).toEqual(makeEntries(301, 100, 1, 'x'.repeat(20)));
    reopened.close();
  });

  it('replays segments in write order when a replacing batch starts below an older segment (suffix spanning segments)', async () => {
    const dir = freshDir();
    const log = open(dir, { segment_bytes_max: 4096 });
    // Fill segments until the active one is full, so that the next batch starts a new segment.
    const activeFull = () => log.segmentDataBytes().at(-1)! >= 4096;
    let written = 0;
    while (log.segmentFiles().length < 3 || !activeFull()) {
      await log.append(makeEntries(written + 1, 10, 1, 'x'.repeat(20)));
      written += 10;
    }
    const segmentsBefore = log.segmentFiles().length;
    // A new leader replaces everything from 15 on (inside the first segment); the batch lands in a new segment.
    await log.append(makeEntries(15, 30, 2, 'new-'));
    expect(log.segmentFiles().length).toBe(segmentsBefore + 1);
    await log.append(makeEntries(45, 5, 2, 'new-'));
    const expected = [...makeEntries(1, 14, 1, 'x'.repeat(20)), ...makeEntries(15, 35, 2, 'new-')];
    expect(log.lastIndex()).toBe(49);
    expect(log.entries(1, 50)).toEqual(expected);
    log.close();
    const reopened = open(dir, { segment_bytes_max: 4096 });
    expect(reopened.lastIndex()).toBe(49);
    expect(reopened.entries(1, 50)).toEqual(expected);
    reopened.close();
  });

  it('drops a torn tail (partial last record, garbage) and keeps everything synced before it', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 5, 1));
    await log.append(makeEntries(6, 5, 1));
    const [segment] = log.segmentFiles();
    const sizeAfterTwo = log.segmentDataBytes()[0]!;
    await log.append(makeEntries(11, 5, 1));
    const fullSize = log.segmentDataBytes()[0]!;
    log.close();

    // Cut the third record in the middle (dropping the preallocated zeros), then append garbage after the cut.
    fs.truncateSync(segment!, sizeAfterTwo + Math.floor((fullSize - sizeAfterTwo) / 2));
    fs.appendFileSync(segment!, Buffer.from('garbage that is not a record'));

    const reopened = open(dir);
    expect(reopened.recovery.tornTail_bytes).toBeGreaterThan(0);
    expect(reopened.lastIndex()).toBe(10);
    expect(reopened.entries(1, 11)).toEqual(makeEntries(1, 10, 1));
    expect(fs.statSync(segment!).size).toBe(sizeAfterTwo);
    // New appends land after the valid data and survive another reopen.
    await reopened.append(makeEntries(11, 2, 2));
    reopened.close();
    const again = open(dir);
    expect(again.lastIndex()).toBe(12);
    expect(again.recovery.tornTail_bytes).toBe(0);
    again.close();
  });

  it('preallocates segment space with zeros: reopening finds the records, appends after them, and a torn record inside the zeros is a torn tail', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 5, 1));
    const [segment] = log.segmentFiles();
    const dataAfterOne = log.segmentDataBytes()[0]!;
    expect(fs.statSync(segment!).size).toBeGreaterThan(dataAfterOne); // zeros ahead of the records
    log.close();

    const reopened = open(dir);
    expect(reopened.recovery.tornTail_bytes).toBe(0);
    expect(reopened.segmentDataBytes()[0]).toBe(dataAfterOne);
    await reopened.append(makeEntries(6, 5, 1)); // lands right after the first record, inside the zeros
    const dataAfterTwo = reopened.segmentDataBytes()[0]!;
    reopened.close();
    const bytes = fs.readFileSync(segment!);
    expect(bytes.subarray(dataAfterTwo).every((b) => b === 0)).toBe(true);

    // A crash in the middle of writing a third record: its first half is on disk, zeros after it.
    const third = fs.readFileSync(segment!).subarray(dataAfterOne, dataAfterTwo);
    const fd = fs.openSync(segment!, 'r+');
    fs.writeSync(fd, third.subarray(0, Math.floor(third.length / 2)), 0, Math.floor(third.length / 2), dataAfterTwo);
    fs.closeSync(fd);
    const again = open(dir);
    expect(again.recovery.tornTail_bytes).toBeGreaterThan(0);
    expect(again.lastIndex()).toBe(10);
    expect(again.entries(1, 11)).toEqual(makeEntries(1, 10, 1));
    expect(fs.statSync(segment!).size).toBe(dataAfterTwo);
    again.close();
  });

  it('refuses a flipped byte in the middle of the log that is followed by valid records', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 5, 1));
    const [segment] = log.segmentFiles();
    await log.append(makeEntries(6, 5, 1));
    await log.append(makeEntries(11, 5, 1));
    const dataBytes = log.segmentDataBytes()[0]!;
    log.close();

    const bytes = fs.readFileSync(segment!);
    const flipAt = Math.floor(dataBytes / 2);
    bytes[flipAt] = bytes[flipAt]! ^ 0x10;
    fs.writeFileSync(segment!, bytes);
    let error: unknown;
    try {
      open(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorruptFileError);
    expect(String((error as Error).message)).toContain(segment!);
    expect(String((error as Error).message)).toMatch(/corrupt record at offset \d+ is followed by a valid record/);
  });

  it('refuses a log that belongs to another cluster or node, naming both ids', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 3, 1));
    log.close();
    expect(() => open(dir, { nodeId: 'b' })).toThrow(MismatchError);
    expect(() => open(dir, { nodeId: 'b' })).toThrow(/cluster "c1" node "a".*cluster "c1" node "b"/);
    expect(() => open(dir, { clusterId: 'other' })).toThrow(/cluster "c1" node "a".*cluster "other" node "a"/);
    // A single segment copied from another node is refused too.
    const foreign = freshDir();
    const other = DurableLogStorage.open({ dir: foreign, clusterId: 'c1', nodeId: 'b', bootstrapConf: CONF });
    await other.append(makeEntries(1, 3, 1));
    const foreignSegment = other.segmentFiles()[0]!;
    other.close();
    const mine = open(dir);
    const mineSegment = mine.segmentFiles()[0]!;
    mine.close();
    fs.copyFileSync(foreignSegment, mineSegment);
    expect(() => open(dir)).toThrow(/node "b".*node "a"/);
  });

  it('replaces the hard state atomically: a leftover temp file never wins, a half-written one is ignored', async () => {
    const dir = freshDir();
    const log = open(dir);
    log.setHardState({ term: 3, vote: 'c', commit: 0 });
    log.setHardState({ term: 4, vote: null, commit: 0 });
    log.close();
    // A crash mid-replace leaves hardstate.tmp (partial); the real file is untouched.
    fs.writeFileSync(path.join(dir, 'hardstate.tmp'), Buffer.from('ZKRAFTHS partial'));
    const reopened = open(dir);
    expect(reopened.initialState().hardState).toEqual({ term: 4, vote: null, commit: 0 });
    expect(fs.existsSync(path.join(dir, 'hardstate.tmp'))).toBe(false);
    reopened.close();
    // A corrupted hard state file is an error, not a silent reset of term and vote.
    const file = path.join(dir, 'hardstate');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 1;
    fs.writeFileSync(file, bytes);
    expect(() => open(dir)).toThrow(/hardstate: header checksum mismatch/);
  });

  it('installs a snapshot from the leader, discarding the old log even across a crash before deletion', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 20, 1));
    log.applySnapshot({ metadata: { index: 50, term: 3, conf: CONF }, data: new Uint8Array([7]) });
    expect(log.firstIndex()).toBe(51);
    expect(log.lastIndex()).toBe(50);
    await log.append(makeEntries(51, 2, 3));
    log.close();
    const reopened = open(dir);
    expect(reopened.lastIndex()).toBe(52);
    expect(reopened.term(50)).toBe(3);
    expect(reopened.initialState().hardState.commit).toBe(50);
    reopened.close();
  });

  it('prepares a snapshot off the event loop, then installs it: compaction, reopen, and the commit index raised to it', async () => {
    const dir = freshDir();
    const log = open(dir, { segment_bytes_max: 4096 });
    for (let i = 0; i < 40; i++) await log.append(makeEntries(1 + i * 10, 10, 1, 'x'.repeat(20)));
    log.setHardState({ term: 1, vote: 'a', commit: 400 });
    const segmentsBefore = log.segmentFiles().length;
    const prepared = await log.prepareSnapshot(300, CONF, new Uint8Array([42]));
    expect(prepared).not.toBeNull();
    // Nothing visible changed before install, and appends may go on meanwhile.
    expect(log.firstIndex()).toBe(1);
    await log.append(makeEntries(401, 5, 1));
    expect(log.installSnapshot(prepared!)).toBe(true);
    expect(log.firstIndex()).toBe(301);
    expect(log.lastIndex()).toBe(405);
    expect(log.segmentFiles().length).toBeLessThan(segmentsBefore);
    expect(await log.prepareSnapshot(250, CONF, new Uint8Array([1]))).toBeNull();
    log.close();

    const reopened = open(dir, { segment_bytes_max: 4096 });
    expect(reopened.firstIndex()).toBe(301);
    expect(reopened.lastIndex()).toBe(405);
    expect(reopened.snapshot().data).toEqual(new Uint8Array([42]));
    expect(reopened.initialState().hardState.commit).toBeGreaterThanOrEqual(300);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    reopened.close();
  });

  it('drops a prepared snapshot that a snapshot from the leader overtook, and one left by a crash before install', async () => {
    const dir = freshDir();
    const log = open(dir);
    await log.append(makeEntries(1, 20, 1));
    log.setHardState({ term: 1, vote: 'a', commit: 20 });
    const overtaken = await log.prepareSnapshot(10, CONF, new Uint8Array([1]));
    log.applySnapshot({ metadata: { index: 50, term: 3, conf: CONF }, data: new Uint8Array([7]) });
    expect(log.installSnapshot(overtaken!)).toBe(false);
    expect(log.snapshot().data).toEqual(new Uint8Array([7]));
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await log.append(makeEntries(51, 10, 3));
    log.setHardState({ term: 3, vote: 'a', commit: 60 });
    // Written but never installed (the process died): reopening ignores it.
    expect(await log.prepareSnapshot(55, CONF, new Uint8Array([9]))).not.toBeNull();
    log.close();
    const reopened = open(dir);
    expect(reopened.snapshot().data).toEqual(new Uint8Array([7]));
    expect(reopened.firstIndex()).toBe(51);
    expect(reopened.lastIndex()).toBe(60);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    reopened.close();
  });
});
