import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors/index.ts';
import { DurableLogStorage } from '../../src/raft/storage/index.ts';
import type { Entry } from '../../src/raft/types.ts';
import { Prng } from '../../src/random/prng.ts';
import { testSeed } from '../../src/random/seed.ts';
import { SimFileSystem } from '../../src/sim/sim-fs.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const entry = (index: number, text: string): Entry => ({ index, term: 1, type: 'normal', data: new TextEncoder().encode(text) });

function openLog(fs: SimFileSystem): DurableLogStorage {
  return DurableLogStorage.open({
    dir: '/data/a',
    clusterId: 'sim',
    nodeId: 'a',
    bootstrapConf: { voters: ['a'], learners: [] },
    segment_bytes_max: 4096,
    fileSystem: fs,
  });
}

/** Appends and waits for the completion (the simulated file system completes at once when not attached to a clock). */
function append(log: DurableLogStorage, entries: Entry[]): Error | null {
  let result: Error | null | undefined;
  log.appendWith(entries, (error) => {
    result = error;
  });
  expect(result).not.toBeUndefined();
  return result ?? null;
}

describe('a full disk (ENOSPC) in the simulated file system', () => {
  it('a write that grows a file past the space left is cut short, the next one fails; overwriting allocated bytes still works', () => {
    const fs = new SimFileSystem(new Prng(1), false);
    const fd = fs.openSync('/d/f', 'create');
    expect(fs.writeSync(fd, new Uint8Array(100), 0, 100, 0)).toBe(100);
    fs.spaceLeft_bytes = 30;
    expect(fs.writeSync(fd, new Uint8Array(50), 0, 50, 80)).toBe(50); // 20 bytes overwrite, 30 grow: fits exactly
    expect(fs.spaceLeft_bytes).toBe(0);
    expect(() => fs.writeSync(fd, new Uint8Array(10), 0, 10, 130)).toThrow(/ENOSPC/);
    expect(fs.writeSync(fd, new Uint8Array(10), 0, 10, 0)).toBe(10); // within the file: no space needed
    fs.spaceLeft_bytes = 5;
    expect(fs.writeSync(fd, new Uint8Array(10), 0, 10, 130)).toBe(5); // short write
    expect(fs.noSpaceErrors).toBe(1);
  });

  it('the durable log fails the append, refuses every later write and says why; recovery with space again keeps what was durable', () => {
    const fs = new SimFileSystem(new Prng(2), false);
    let log = openLog(fs);
    expect(append(log, [entry(2, 'before')])).toBeNull();
    fs.spaceLeft_bytes = 10; // less than the next record
    const failed = append(log, [entry(3, 'x'.repeat(5000))]); // beyond the preallocated part of the segment
    expect(failed).toBeInstanceOf(CorruptFileError);
    expect(failed?.message).toMatch(/ENOSPC/);
    expect(log.lastIndex()).toBe(2); // never reports what it did not write
    expect(() => append(log, [entry(3, 'again')])).toThrow(/refuses writes.*ENOSPC/);
    expect(() => log.setHardState({ term: 2, vote: 'a', commit: 2 })).toThrow(/refuses writes/);
    // The process exits; the disk gets space again; recovery drops the partial record.
    fs.crash(false);
    fs.spaceLeft_bytes = Number.POSITIVE_INFINITY;
    log = openLog(fs);
    expect(log.lastIndex()).toBe(2);
    expect(log.recovery.tornTail_bytes).toBeGreaterThan(0);
    expect(append(log, [entry(3, 'after')])).toBeNull();
    expect(log.lastIndex()).toBe(3);
  });
});

describe('the simulator with full disks', () => {
  const FIRST = testSeed('disk-full simulation first seed', { fallback: 1 });
  it('nodes whose disk fills stop (or cannot start) and say so; every safety check holds', () => {
    let stops = 0;
    for (let seed = FIRST; seed < FIRST + 12; seed++) {
      const result = runSimulation({ seed, steps: 1500 });
      expect(result.failure, `seed ${seed}`).toBeUndefined();
      stops += result.stats.diskFullStops;
      if (result.stats.diskFullStops > 0)
        expect(result.trace.some((line) => line.includes('stopped on a full disk (') || line.includes('cannot start: ENOSPC'))).toBe(true);
    }
    console.log(`disk-full seeds ${FIRST}..${FIRST + 11}: ${stops} stops on a full disk`);
    expect(stops).toBeGreaterThan(0);
  }, 120_000);
});
