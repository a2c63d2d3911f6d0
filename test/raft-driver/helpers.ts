/** Shared helpers for the raft-driver tests: temp dirs, a seeded PRNG, entry factories. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../../src/raft/types.ts';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

// The driver's own seeded PRNG (mulberry32), so a failing randomised test replays from its logged seed.
export { seededRandom } from '../../src/raft/driver/random.ts';

export function seedFromEnv(name: string): number {
  const fromEnv = process.env[name];
  return fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

export function makeEntries(first: number, count: number, term: number, tag = ''): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = first + i;
    out.push({ index, term, type: 'normal', data: new TextEncoder().encode(`${tag}entry-${index}-term-${term}`) });
  }
  return out;
}
