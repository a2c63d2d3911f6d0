/**
 * npm run bench:prover's --peer plumbing, run as a user runs it (a child
 * process), without rapidsnark: test/helpers/fake-rapidsnark.mjs takes its
 * place (rapidsnark's argument order, proves with the snarkjs CLI). Bad peer
 * paths are refused in one line before anything starts; a peer that fails
 * stops the bench with its exit status and stderr; `--quick` on the small
 * test circuit writes a report with the peer's row, peak RSS and the ratios.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const SCRIPT = 'bench/prover.ts';
const FAKE_PEER = resolve(ROOT, 'test', 'helpers', 'fake-rapidsnark.mjs');
const work = mkdtempSync(join(tmpdir(), 'zkp-bench-prover-test-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: readonly string[], timeout_ms: number, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [TSX, SCRIPT, ...args],
      { cwd: ROOT, timeout: timeout_ms, maxBuffer: 16 << 20, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe('bench:prover --peer', () => {
  const notExecutable = join(work, 'not-executable');
  writeFileSync(notExecutable, '#!/bin/sh\n');
  chmodSync(notExecutable, 0o644);

  it.each([
    [['--peer', 'rapidsnark'], 'bench:prover: --peer needs name=path'],
    [['--peer', `rapidsnark=${join(work, 'missing')}`], `bench:prover: --peer rapidsnark: ${join(work, 'missing')} does not exist`],
    [['--peer', `rapidsnark=${work}`], `bench:prover: --peer rapidsnark: ${work} is not a file`],
    [['--peer', `rapidsnark=${notExecutable}`], `bench:prover: --peer rapidsnark: ${notExecutable} is not executable`],
    [['--peer', `a=${FAKE_PEER}`, '--peer', `a=${FAKE_PEER}`], 'bench:prover: --peer a is given twice'],
  ])('%j is refused in one line before anything starts', async (args, line) => {
    const result = await run(['--quick', ...args], 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain(line);
    expect(result.stderr).not.toContain('bench:prover quick');
  });

  it('a peer that exits non-zero stops the bench with its status and stderr tail', async () => {
    const result = await run(['--quick', '--runs', '1', '--peer', `fake=${FAKE_PEER}`], 60_000, { FAKE_PEER_FAIL: '1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bench:prover: peer fake exited with status 3: fake-rapidsnark: failing on purpose (FAKE_PEER_FAIL=1)');
  });

  it('--quick runs the peer beside ours and snarkjs, verifies every proof and writes the ratios', async () => {
    const out = join(work, 'report');
    const result = await run(['--quick', '--runs', '1', '--peer', `fake=${FAKE_PEER}`, '--out', out], 90_000);
    expect(result.stderr).not.toContain('bench:prover: ');
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, `prover-${hostname()}.json`), 'utf8')) as {
      niceness: number;
      load_average_at_start: number[];
      rows: { prover: string; kind: string; runs_ms: number[]; median_ms: number; peak_rss_mb?: number; verified: boolean }[];
      ratios: Record<string, { what: string; value: number; target: number; met: boolean }[]>;
    };
    expect(typeof report.niceness).toBe('number');
    expect(report.load_average_at_start).toHaveLength(3);
    const kinds = report.rows.map((row) => `${row.prover} / ${row.kind}`);
    expect(kinds).toEqual([
      'fake / whole process',
      'zkp prove --backend native / whole process',
      'snarkjs groth16 prove / whole process',
      'snarkjs.groth16.prove / in process',
      'zkp native / in process',
      'zkp native / in process, key resident',
    ]);
    for (const row of report.rows) {
      expect(row.verified).toBe(true);
      expect(row.runs_ms).toHaveLength(1);
      expect(row.median_ms).toBeGreaterThan(0);
      // Whole processes are measured from /proc: a Node process holds well over 10 MB.
      if (row.kind === 'whole process') expect(row.peak_rss_mb).toBeGreaterThan(10);
      else expect(row.peak_rss_mb).toBeUndefined();
    }
    expect(report.ratios.fake?.map((ratio) => ratio.target)).toEqual([0.8, 0.5, 1.5]);
    for (const ratio of report.ratios.fake ?? []) expect(ratio.value).toBeGreaterThan(0);
    expect(readFileSync(join(out, `prover-${hostname()}.md`), 'utf8')).toContain('## Ours / fake');
  });

  it('--no-snarkjs leaves snarkjs out and keeps the peer ratios', async () => {
    const out = join(work, 'report-no-snarkjs');
    const result = await run(['--quick', '--runs', '1', '--no-snarkjs', '--peer', `fake=${FAKE_PEER}`, '--out', out], 90_000);
    expect(result.stderr).not.toContain('bench:prover: ');
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, `prover-${hostname()}.json`), 'utf8')) as {
      command: string;
      rows: { prover: string; kind: string; verified: boolean; speedup_vs_snarkjs?: number }[];
      ratios: Record<string, { target: number }[]>;
    };
    expect(report.command).toContain('--no-snarkjs');
    expect(report.rows.map((row) => `${row.prover} / ${row.kind}`)).toEqual([
      'fake / whole process',
      'zkp prove --backend native / whole process',
      'zkp native / in process',
      'zkp native / in process, key resident',
    ]);
    for (const row of report.rows) {
      expect(row.verified).toBe(true);
      expect(row.speedup_vs_snarkjs).toBeUndefined();
    }
    expect(report.ratios.fake?.map((ratio) => ratio.target)).toEqual([0.8, 0.5, 1.5]);
  });

  it('--no-circom writes the bench circuit and its witness without circom, and every prover verifies', async () => {
    const out = join(work, 'report-no-circom');
    const result = await run(['--log2n', '8', '--runs', '1', '--no-circom', '--no-snarkjs', '--peer', `fake=${FAKE_PEER}`, '--out', out], 120_000);
    expect(result.stderr).not.toContain('bench:prover: ');
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, `prover-${hostname()}.json`), 'utf8')) as {
      key: string;
      log2n: number;
      rows: { prover: string; verified: boolean }[];
    };
    expect(report.key).toContain('synthetic r1cs');
    expect(report.log2n).toBe(8);
    expect(report.rows.length).toBe(4);
    for (const row of report.rows) expect(row.verified).toBe(true);
  });

  it('--quick with --no-circom is refused in one line', async () => {
    const result = await run(['--quick', '--no-circom'], 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain('--quick uses the small test circuit, compiled by circom; leave out --no-circom');
  });
});
