/**
 * The benchmark and simulator scripts, run as a user would (child processes):
 * --help prints the usage and exits 0 without starting any work; a typo or a
 * bad value exits 2 with one line naming it, before any work starts.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function run(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [TSX, script, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('--help', () => {
  it.each([
    ['bench/run.ts', 'usage: npm run bench'],
    ['bench/raft.ts', 'usage: npm run bench:raft'],
    ['bench/prover.ts', 'usage: npm run bench:prover'],
    ['bench/msm.ts', 'usage: npx tsx bench/msm.ts'],
    ['bench/webgpu.ts', 'usage: npm run bench:webgpu'],
    ['src/sim/cli.ts', 'usage: npm run sim'],
  ])('%s prints its usage and starts nothing', async (script, usage) => {
    const result = await run(script, '--help');
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith(usage)).toBe(true);
    expect(result.stderr).not.toMatch(/running|building|raft bench on/);
  });
});

describe('bad flags', () => {
  it.each([
    ['bench/raft.ts', ['--trails', '3'], "bench:raft: Unknown option '--trails'"],
    ['bench/raft.ts', ['--window', '0'], 'bench:raft: --window needs an integer >= 1, got "0"'],
    ['bench/raft.ts', ['--rate', 'fast'], 'bench:raft: --rate needs a number above 0, got "fast"'],
    ['bench/raft.ts', ['--floor-wires', 'tcp,quic'], 'bench:raft: --floor-wires: unknown wire "quic" (use tcp, grpc)'],
    ['bench/raft.ts', ['--floor-wires', ','], 'bench:raft: --floor-wires: name at least one wire, or use --skip-floor'],
    ['bench/prover.ts', ['--backends', 'cuda'], 'bench:prover: --backends: "cuda" is not one of'],
    ['bench/prover.ts', ['--log2n', '40'], 'bench:prover: --log2n needs an integer from 4 to 22, got "40"'],
    ['bench/webgpu.ts', ['--sections', 'msm,ntt'], 'bench:webgpu: --sections: "ntt" is not one of msm, prove, field'],
    ['bench/run.ts', ['--log2n', '12'], "bench: Unknown option '--log2n'"],
    ['src/sim/cli.ts', ['--seeds', 'ten'], 'sim: --seeds needs a non-negative integer, got "ten"'],
  ])('%s %j exits 2 naming the problem', async (script, args, message) => {
    const result = await run(script, ...args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
