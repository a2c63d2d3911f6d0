/**
 * The artifact cache against a real gRPC server (FakeCoordinator's
 * FetchArtifact) through the real LeaderRouter: fetch, hit, hash checks,
 * refetch of a corrupted cached file, a corrupt transfer refused, an unknown
 * hash, shared concurrent fetches.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderRouter } from '../../src/client/leader-router.ts';
import { CorruptFileError, InvalidArgumentError, NotFoundError } from '../../src/errors/index.ts';
import { ArtifactCache, sha256Hex } from '../../src/worker/artifact-cache.ts';
import { WorkerLink } from '../../src/worker/coordinator-link.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { FAST_ROUTER, testLogger, withTempDir } from './helpers.ts';

describe('ArtifactCache over FetchArtifact', () => {
  const fake = new FakeCoordinator({ chunk_bytes: 10_000 });
  let link: WorkerLink;
  // 200 KB in 21 chunks (not a multiple of the chunk size).
  const bytes = randomBytes(200_001);
  let sha256 = '';

  beforeAll(async () => {
    await fake.start();
    link = new WorkerLink(new LeaderRouter([fake.address], FAST_ROUTER));
    sha256 = fake.addArtifact('ZKEY', bytes);
  });
  afterAll(async () => {
    link.close();
    await fake.close();
  });

  const cacheIn = (dir: string) => new ArtifactCache({ dir, source: (sha, signal) => link.fetchArtifact(sha, signal), logger: testLogger() });
  const fetchesOf = (sha: string) => fake.fetches.filter((fetched) => fetched === sha).length;

  it('fetches once, checks the hash, stores the file under its sha256, then serves it from disk', async () => {
    await withTempDir('cache', async (dir) => {
      const cache = cacheIn(dir);
      const before = fetchesOf(sha256);
      const first = await cache.get(sha256, { expected_bytes: bytes.byteLength });
      expect(first.equals(bytes)).toBe(true);
      expect(await readdir(dir)).toEqual([sha256]);
      expect((await readFile(join(dir, sha256))).equals(bytes)).toBe(true);
      const second = await cache.get(sha256);
      expect(second.equals(bytes)).toBe(true);
      expect(fetchesOf(sha256) - before).toBe(1);
      expect(cache.stats).toMatchObject({ fetches: 1, hits: 1, corruptCached: 0 });
      // A new cache on the same directory (a restarted worker) finds it too.
      const restarted = cacheIn(dir);
      expect((await restarted.get(sha256)).equals(bytes)).toBe(true);
      expect(fetchesOf(sha256) - before).toBe(1);
    });
  });

  it('deletes a cached file that no longer matches its hash and fetches it again', async () => {
    await withTempDir('cache', async (dir) => {
      const cache = cacheIn(dir);
      await cache.get(sha256);
      const corrupted = Buffer.from(bytes);
      corrupted[12_345]! ^= 0x01;
      await writeFile(join(dir, sha256), corrupted);
      const before = fetchesOf(sha256);
      const again = await cache.get(sha256);
      expect(again.equals(bytes)).toBe(true);
      expect(fetchesOf(sha256) - before).toBe(1);
      expect(cache.stats.corruptCached).toBe(1);
      expect((await readFile(join(dir, sha256))).equals(bytes)).toBe(true);
      // A truncated file too.
      await writeFile(join(dir, sha256), bytes.subarray(0, 100));
      expect((await cache.get(sha256)).equals(bytes)).toBe(true);
      expect(cache.stats.corruptCached).toBe(2);
    });
  });

  it('refetches a transfer that arrived corrupt once, and refuses one that is always corrupt without leaving files', async () => {
    await withTempDir('cache', async (dir) => {
      const cache = cacheIn(dir);
      fake.corruptOnce.add(sha256);
      expect((await cache.get(sha256)).equals(bytes)).toBe(true);
      expect(cache.stats.corruptFetched).toBe(1);

      const other = randomBytes(50_000);
      const otherSha = fake.addArtifact('WASM', other);
      fake.corruptAlways.add(otherSha);
      try {
        const error = await cache.get(otherSha, { what: 'wasm of circuit x' }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(CorruptFileError);
        expect((error as Error).message).toMatch(/wasm of circuit x: the coordinator sent 50000 bytes whose sha256 is [0-9a-f]{64}, not/);
      } finally {
        fake.corruptAlways.delete(otherSha);
      }
      // Neither the bad file nor a temporary one stays behind.
      expect(await readdir(dir)).toEqual([sha256]);
      expect(fetchesOf(otherSha)).toBe(2);
    });
  });

  it('refuses a stream longer than the size the circuit record gives', async () => {
    await withTempDir('cache', async (dir) => {
      const error = await cacheIn(dir)
        .get(sha256, { expected_bytes: 1000, what: 'zkey of circuit y' })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CorruptFileError);
      expect((error as Error).message).toContain('more than the 1000 bytes');
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('answers an unknown hash with NotFoundError and a malformed one with InvalidArgumentError', async () => {
    await withTempDir('cache', async (dir) => {
      const cache = cacheIn(dir);
      const unknown = sha256Hex(Buffer.from('nothing stored under this'));
      await expect(cache.get(unknown)).rejects.toBeInstanceOf(NotFoundError);
      await expect(cache.get('../../etc/passwd')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(cache.get(sha256.toUpperCase())).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('shares one fetch among concurrent requests for the same hash', async () => {
    await withTempDir('cache', async (dir) => {
      const cache = cacheIn(dir);
      const before = fetchesOf(sha256);
      const all = await Promise.all(Array.from({ length: 5 }, () => cache.get(sha256)));
      for (const result of all) expect(result.equals(bytes)).toBe(true);
      expect(fetchesOf(sha256) - before).toBe(1);
    });
  });

  it('fetches an input without caching it', async () => {
    await withTempDir('cache', async (dir) => {
      const input = Buffer.from('{"a": "1", "b": "2"}');
      const inputSha = fake.addArtifact('INPUT', input);
      const cache = cacheIn(dir);
      expect((await cache.fetchUncached(inputSha)).equals(input)).toBe(true);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});
