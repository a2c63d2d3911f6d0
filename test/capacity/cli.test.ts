/**
 * `zkp capacity` through bin/zkp.js (the compiled CLI; the tests' global
 * set-up rebuilds dist/): a plan printed for every circuit of a report, and
 * one line with the documented exit code for each kind of bad input.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { circuit, gpu, report, run } from './fake-report.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');
const dir = mkdtempSync(join(tmpdir(), 'zkp-capacity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function zkp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [ZKP, 'capacity', ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

// Service 1 s (witness median 200 ms + warm 800 ms) at 3600/h with p99 2 s: 3 workers (plan.test.ts works it by hand).
const bench = report(
  [circuit('synthetic-10', 10), circuit('sha256-64B', 14)],
  [
    run('synthetic-10', 'native', [100, 200, 300], [800, 800, 800]),
    run('synthetic-10', 'snarkjs', [200], [2500, 2600]),
    run('synthetic-10', 'webgpu', [200], [800]),
    run('synthetic-10', 'peer:rapidsnark', null, null, 'failed', 'exit status 1'),
    run('sha256-64B', 'native', [50], [300, 320]),
  ],
  gpu(true),
);
const REPORT = file('bench.json', bench);

describe('zkp capacity', () => {
  it('plans every circuit of the report, one block each, and says plainly what no count meets', async () => {
    const result = await zkp('--report', REPORT, '--rate', '3600', '--p99', '2', '--cost', 'gpu=2,cpu=0.4');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('circuit synthetic-10');
    expect(out).toContain('circuit sha256-64B');
    // native: 3 workers, utilisation 1/3, p50 1 s, p99 1.55 s, 3 x 0.4 x 1000 / 3600 = 0.333 USD per 1000
    expect(out).toMatch(/\n\s+native\s+cpu\s+1\.00 s\s+0\.000\s+3\s+3\s+33\.3%\s+1\.00 s\s+1\.55 s\s+0\.333\n/);
    expect(out).toContain('snarkjs: no number of workers meets p99 <= 2.00 s: one proof alone takes 2.80 s at p99');
    expect(out).toContain('webgpu: software adapter (llvmpipe (LLVM 19.1.7, 256 bits)): a CPU worker');
    expect(out).toContain('peer:rapidsnark: not planned (failed: exit status 1)');
    expect(out).toContain('native: only 3 warm samples: the p99 of one proof is the slowest of them');
  });

  it('plans only the circuit named by --circuit', async () => {
    const result = await zkp('--report', REPORT, '--rate', '3600', '--p99', '2', '--circuit', 'sha256-64B');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('circuit sha256-64B');
    expect(result.stdout).not.toContain('synthetic-10');
    expect(result.stdout).toContain('cost: give --cost gpu=USD/h,cpu=USD/h');
  });

  it.each([
    [
      'a report of another schema',
      [file('other.json', { ...bench, schema: 'zkp-cluster/service-bench' })],
      2,
      /schema is "zkp-cluster\/service-bench", not "zkp-cluster\/prove-bench"/,
    ],
    [
      'a report of another version',
      [file('v2.json', { ...bench, version: 2 })],
      2,
      /zkp-cluster\/prove-bench version 2 is not supported \(this build reads version 1\)/,
    ],
    ['a file that is not JSON', [file('text.json', 'rate,p99\n')], 2, /text\.json: not JSON/],
    ['a missing file', [join(dir, 'absent.json')], 3, /absent\.json: no such file/],
    ['a circuit the report does not hold', [REPORT, '--circuit', 'eddsa'], 3, /no circuit "eddsa" in the report \(it holds synthetic-10, sha256-64B\)/],
    ['a rate of 0', [REPORT, '--rate', '0'], 2, /--rate must be a number of proofs per hour above 0, got "0"/],
    ['a negative rate', [REPORT, '--rate', '-5'], 2, /--rate must be a number of proofs per hour above 0, got "-5"/],
    ['a rate that is not a number', [REPORT, '--rate', '20k'], 2, /--rate must be a number of proofs per hour above 0, got "20k"/],
    ['a p99 of 0', [REPORT, '--p99', '0'], 2, /--p99 must be a number of seconds above 0, got "0"/],
    ['a negative p99', [REPORT, '--p99', '-1'], 2, /--p99 must be a number of seconds above 0, got "-1"/],
    ['a malformed --cost', [REPORT, '--cost', 'gpu=2,cpu'], 2, /--cost: "cpu" is not DEVICE=USD\/h/],
    ['an unknown device in --cost', [REPORT, '--cost', 'tpu=3'], 2, /--cost: unknown device "tpu" \(gpu or cpu\)/],
  ])('%s: one line, exit %i', async (_, [path, ...rest], code, message) => {
    const defaults = new Map([
      ['--rate', '3600'],
      ['--p99', '2'],
    ]);
    for (let i = 0; i < rest.length; i += 2) defaults.delete(rest[i]!);
    const result = await zkp('--report', path!, ...rest, ...[...defaults].flat());
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^zkp: [^\n]*\n$/);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(code);
  });

  it('names a missing required option', async () => {
    const result = await zkp('--report', REPORT, '--rate', '3600');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^zkp: zkp capacity needs --p99 /);
  });
});
