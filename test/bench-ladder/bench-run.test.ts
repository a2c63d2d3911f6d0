/**
 * `npm run bench` end to end on the smallest rung, as a user runs it (a child
 * process): the synthetic 2^10 circuit, native only, one sample, and a peer
 * (test/helpers/fake-rapidsnark.mjs: rapidsnark's argument order, proving with
 * the snarkjs CLI). It writes the four report files into --out; the JSON is
 * of the schema with every proof verified, cold and warm figures for native,
 * cold only for the peer, and the charts name both.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_REPORT_SCHEMA, BENCH_REPORT_VERSION, type BenchReport } from '../../src/bench-report/schema.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const FAKE_PEER = resolve(ROOT, 'test', 'helpers', 'fake-rapidsnark.mjs');
const work = mkdtempSync(join(tmpdir(), 'zkp-bench-ladder-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run bench on the smallest rung', () => {
  it('measures native and a peer, verifies every proof and writes JSON, Markdown and two SVGs', async () => {
    const args = [
      '--log2',
      '10',
      '--circuits',
      'synthetic',
      '--backends',
      'native',
      '--peer',
      `fake=${FAKE_PEER}`,
      '--samples',
      '1',
      '--seed',
      '7',
      '--out',
      work,
    ];
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((done) => {
      execFile(process.execPath, [TSX, 'bench/run.ts', ...args], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 << 20 }, (error, _stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr }),
      );
    });
    expect(code, stderr).toBe(0);
    const name = `bench-${hostname()}`;
    const report = JSON.parse(readFileSync(join(work, `${name}.json`), 'utf8')) as BenchReport;
    expect(report.schema).toBe(BENCH_REPORT_SCHEMA);
    expect(report.version).toBe(BENCH_REPORT_VERSION);
    expect(report.circuits).toEqual([
      expect.objectContaining({ name: 'synthetic-10', family: 'synthetic', constraints: 1021, domain_log2: 10, public_signals: 2 }),
    ]);
    expect(report.runs.map((run) => [run.backend, run.status, run.verified])).toEqual([
      ['native', 'ok', true],
      ['peer:fake', 'ok', true],
    ]);
    const [native, peer] = report.runs;
    expect(native?.warm?.samples_ms).toHaveLength(1);
    expect(native?.cold?.min_ms).toBeGreaterThan(0);
    expect(native?.witness?.samples_ms).toHaveLength(1);
    expect(native?.peak_rss_bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(native?.speedup_vs_native).toBe(1);
    expect(peer?.warm).toBeNull();
    expect(peer?.cold?.samples_ms).toHaveLength(1);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.argv).toEqual(args);

    const markdown = readFileSync(join(work, `${name}.md`), 'utf8');
    expect(markdown).toContain('| synthetic-10 | native |');
    expect(markdown).toContain('| synthetic-10 | peer:fake |');
    const time = readFileSync(join(work, `${name}-time.svg`), 'utf8');
    expect(time).toContain('data-name="native warm, synthetic"');
    expect(time).toContain('data-name="peer:fake cold, synthetic"');
    expect(readFileSync(join(work, `${name}-speedup.svg`), 'utf8')).toMatch(/^<svg /);
  });
});
