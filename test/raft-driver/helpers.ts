/** Shared helpers for the raft-driver tests: temp dirs, a seeded PRNG, entry factories. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../../src/raft/types.ts';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

import { Prng } from '../../src/random/prng.ts';

export { testSeed } from '../../src/random/seed.ts';

/** Numbers in [0, 1) from the project's seeded PRNG, so a failing randomised test replays from its logged seed (ZKP_TEST_SEED). */
export function seededRandom(seed: number): () => number {
  return new Prng(seed).floats();
}

export function makeEntries(first: number, count: number, term: number, tag = ''): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = first + i;
    out.push({ index, term, type: 'normal', data: new TextEncoder().encode(`${tag}entry-${index}-term-${term}`) });
  }
  return out;
}
