/**
 * `npm run bench` flags (bench/lib/ladder-flags.ts): defaults, --full with and
 * without the memory for 2^22, and one clear line for each bad flag; plus the
 * real script refusing a bad flag with exit status 2 before it starts anything.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOG2, FULL_22_MEMORY_BYTES, parseBenchArgs, parseLog2List, SIZE_CAPS, UsageError } from '../../bench/lib/ladder-flags.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const GIB = 1024 ** 3;
const work = mkdtempSync(join(tmpdir(), 'zkp-bench-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function options(argv: string[], memory_bytes = 8 * GIB) {
  const parsed = parseBenchArgs(argv, memory_bytes);
  if (parsed.kind !== 'ladder') throw new Error(`expected a ladder run, got ${parsed.kind}`);
  return parsed.options;
}

function refusal(argv: string[]): string {
  try {
    parseBenchArgs(argv, 8 * GIB);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseBenchArgs', () => {
  it('runs the small default ladder on every backend and family', () => {
    const parsed = options([]);
    expect(parsed.log2s).toEqual([...DEFAULT_LOG2]);
    expect(parsed.backends).toEqual(['snarkjs', 'native', 'webgpu']);
    expect(parsed.families).toEqual(['synthetic', 'poseidon-merkle', 'sha256', 'eddsa']);
    expect(parsed.samples).toBe(3);
    expect(parsed.caps).toEqual(SIZE_CAPS.default);
    expect(parsed.seed).toBeUndefined();
  });

  it('--full runs 2^10..2^20, and 2^22 only with the memory for it', () => {
    expect(options(['--full']).log2s).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(options(['--full'], FULL_22_MEMORY_BYTES).log2s.at(-1)).toBe(22);
    expect(options(['--full']).caps).toEqual(SIZE_CAPS.full);
    expect(options(['--all-sizes']).caps).toBeNull();
  });

  it('reads lists, ranges, samples, seeds and peers', () => {
    expect(parseLog2List('16,10..12,11')).toEqual([10, 11, 12, 16]);
    const parsed = options(['--log2', '12', '--circuits', 'sha256,synthetic', '--backends', 'native', '--samples', '5', '--seed', '0x10']);
    expect(parsed).toMatchObject({ log2s: [12], families: ['sha256', 'synthetic'], backends: ['native'], samples: 5, seed: 16 });
    const peer = join(work, 'prover');
    writeFileSync(peer, '#!/bin/sh\n');
    chmodSync(peer, 0o755);
    expect(options(['--peer', `fake=${peer}`]).peers).toEqual([{ name: 'fake', path: peer }]);
  });

  it('says in one line what is wrong with a bad flag', () => {
    expect(refusal(['--log2', '9'])).toBe('--log2: 2^9 is outside the ladder, 10..22');
    expect(refusal(['--log2', '12..10'])).toBe('--log2: the range 12..10 runs backwards');
    expect(refusal(['--log2', 'ten'])).toContain('"ten" is not an integer');
    expect(refusal(['--log2', '10,,12'])).toContain('has an empty item');
    expect(refusal(['--backends', 'cuda'])).toBe('--backends: "cuda" is not one of snarkjs, native, webgpu');
    expect(refusal(['--circuits', ''])).toBe('--circuits needs at least one of synthetic, poseidon-merkle, sha256, eddsa');
    expect(refusal(['--samples', '0'])).toBe('--samples needs an integer from 1 to 100, got "0"');
    expect(refusal(['--samples', '2.5'])).toContain('--samples needs an integer');
    expect(refusal(['--seed=-1'])).toBe('--seed must be a non-negative integer below 2^53, got "-1"');
    expect(refusal(['--seed', '-1'])).toContain("Option '--seed' argument is ambiguous. Did you forget");
    expect(refusal(['--peer', 'nameonly'])).toContain('--peer needs name=path');
    expect(refusal(['--peer', `x=${join(work, 'missing')}`])).toContain('does not exist');
    expect(refusal(['--parts', '--full'])).toContain('--parts runs the per-part benches with their defaults');
    expect(refusal(['--log2s', '10'])).toContain("Unknown option '--log2s'");
    expect(refusal(['extra'])).toContain("Unexpected argument 'extra'");
  });

  it('knows --help and --parts', () => {
    expect(parseBenchArgs(['--help'], GIB).kind).toBe('help');
    expect(parseBenchArgs(['--parts'], GIB).kind).toBe('parts');
  });
});

describe('npm run bench with a bad flag', () => {
  it('exits 2 with the problem and a pointer to --help, having started nothing', async () => {
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/run.ts', '--backends', 'native,gpu'],
        { cwd: ROOT, timeout: 60_000 },
        (error, _stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr }),
      );
    });
    expect(code).toBe(2);
    expect(stderr).toBe('bench: --backends: "gpu" is not one of snarkjs, native, webgpu\n(npm run bench -- --help lists the flags)\n');
  });
});
