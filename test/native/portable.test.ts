/**
 * Every arithmetic path gives the same results as the default one: a child
 * process loads the addon with ZKP_NATIVE_NO_IFMA=1 (scalar batch additions)
 * and with ZKP_NATIVE_NO_ADX=1 as well (portable 64-bit products), and runs
 * the same MSMs and NTT on the same inputs. The default path itself is checked
 * against ffjavascript in msm.test.ts; the test names which paths it compared.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDON_PATH, loadNativeAddon } from '../../src/prover/backends/native/addon.ts';
import { SeededRandom, randomFrVector, randomPoints, referenceCurve, testSeed, type FfCurve } from './fixtures.ts';

let curve: FfCurve;
const rng = new SeededRandom(testSeed('native portable'));

beforeAll(async () => {
  curve = await referenceCurve();
});
afterAll(async () => {
  await curve.terminate();
});

const CHILD = `
const fs = require('node:fs');
const [addonPath, dir] = process.argv.slice(1);
const addon = require(addonPath);
const read = (name) => new Uint8Array(fs.readFileSync(dir + '/' + name));
(async () => {
  fs.writeFileSync(dir + '/g1.out', await addon.msmG1(read('g1'), read('scalars')));
  fs.writeFileSync(dir + '/g2.out', await addon.msmG2(read('g2'), read('scalars')));
  fs.writeFileSync(dir + '/ntt.out', await addon.ntt(read('values'), 10, false));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const PATHS: { name: string; env: Record<string, string> }[] = [
  { name: 'scalar batch additions (no IFMA)', env: { ZKP_NATIVE_NO_IFMA: '1' } },
  { name: 'portable products, scalar batch additions (no ADX, no IFMA)', env: { ZKP_NATIVE_NO_ADX: '1', ZKP_NATIVE_NO_IFMA: '1' } },
  { name: 'portable products (no ADX)', env: { ZKP_NATIVE_NO_ADX: '1' } },
];

describe('arithmetic paths', () => {
  const features = loadNativeAddon().cpuFeatures();
  console.log(`native default path on this CPU: ADX ${features.adx}, IFMA ${features.ifma}`);
  for (const path of PATHS) {
    it(`${path.name} matches the default path on MSM G1, MSM G2 and NTT`, async () => {
      // Sizes over 1024 points reach the batch-affine buckets.
      const n = 5000;
      const files = {
        g1: randomPoints(curve.G1, rng, n, 64),
        g2: randomPoints(curve.G2, rng, n, 128),
        scalars: randomFrVector(rng, n),
        values: randomFrVector(rng, 1024),
      };
      const dir = mkdtempSync(join(tmpdir(), 'zkp-native-portable-'));
      try {
        for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
        execFileSync(process.execPath, ['-e', CHILD, ADDON_PATH, dir], { env: { ...process.env, ...path.env }, stdio: 'pipe' });
        const addon = loadNativeAddon();
        const out = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
        expect(out('g1.out')).toEqual(await addon.msmG1(files.g1, files.scalars));
        expect(out('g2.out')).toEqual(await addon.msmG2(files.g2, files.scalars));
        expect(out('ntt.out')).toEqual(await addon.ntt(files.values, 10, false));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
