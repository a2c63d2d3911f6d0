/**
 * npm run bench:service, run as a user runs it (a child process): --help and
 * bad flags answer at once without starting anything; `--quick` runs the whole
 * bench end to end (cluster, floor, (a), (b), one failover kill) and writes a
 * sane report, which the test removes again.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServiceBenchReport } from '../../bench/lib/service-report.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TSX = resolve(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const SCRIPT = 'bench/service.ts';

function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (other reports of the day) or gone
  }
}

function run(args: readonly string[], timeout_ms: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // SIGTERM on timeout: the bench then kills every process it started.
    execFile(
      process.execPath,
      [TSX, SCRIPT, ...args],
      { cwd: ROOT, timeout: timeout_ms, killSignal: 'SIGTERM', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

describe('bench:service flags', () => {
  it('--help prints the usage and starts nothing', async () => {
    const result = await run(['--help'], 30_000);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('usage: npm run bench:service')).toBe(true);
    for (const flag of ['--duration', '--rate', '--kills', '--quick', '--cpu-prof']) expect(result.stdout).toContain(flag);
    expect(result.stdout).not.toContain('service bench on');
  });

  it.each([
    [['--kils', '3'], "bench:service: Unknown option '--kils'"],
    [['--rate', '0'], 'bench:service: --rate needs a number above 0, got "0"'],
    [['--duration', 'long'], 'bench:service: --duration needs a number above 0, got "long"'],
    [['--kills=-1'], 'bench:service: --kills needs an integer from 0 to 1000, got "-1"'],
    [['--worker-backends', 'cuda'], 'bench:service: --worker-backends: "cuda" is not one of webgpu, native, snarkjs'],
    [['--database-url', 'mysql://db'], 'bench:service: --database-url "mysql://db" is not a postgresql:// URL'],
    [['--tag', 'a/b'], 'bench:service: --tag "a/b": use letters, digits'],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const result = await run(args, 30_000);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('service bench on');
  });
});

describe('bench:service --quick', () => {
  it('runs the cluster and the floor end to end and writes a sane report', { timeout: 180_000 }, async () => {
    const tag = `smoke-${process.pid}`;
    const stateDir = mkdtempSync(join(tmpdir(), 'zkp-bench-service-smoke-'));
    const name = `service-${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${tag}`;
    const started = Date.now();
    const result = await run(['--quick', '--tag', tag, '--state-dir', stateDir], 170_000);
    const written = /^wrote (.*)$/m.exec(result.stdout)?.[1]?.split(', ') ?? [];
    try {
      expect(result.code, `bench failed:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`).toBe(0);
      expect(written).toContain(`bench/results/${name}.json`);
      expect(written).toContain(`bench/results/${name}.md`);
      const report = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', `${name}.json`), 'utf8')) as ServiceBenchReport;
      const markdown = readFileSync(join(ROOT, 'bench', 'results', `${name}.md`), 'utf8');

      expect(report.bench).toBe('service');
      expect(report.command).toBe(`npm run bench:service -- --quick --tag ${tag} --state-dir ${stateDir}`);
      expect(report.machine.cores).toBeGreaterThan(0);
      expect(report.machine.memory_bytes).toBeGreaterThan(0);
      expect(report.machine.cpu_model.length).toBeGreaterThan(0);
      expect(report.machine.node).toBe(process.version);
      expect(report.machine.loadavg_start).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/);

      const cluster = report.cluster;
      expect(cluster.capacity?.jobs_per_s).toBeGreaterThan(0);
      expect(cluster.throughput?.accepted).toBeGreaterThan(0);
      const b = cluster.overhead!;
      expect(b.succeeded).toBeGreaterThan(0);
      expect(b.failed).toBe(0);
      expect(b.unfinished).toBe(0);
      expect(b.offered_per_s).toBe(report.rate.measured_per_s);
      // Overhead is end-to-end less the prove, so it is positive and below end-to-end.
      expect(b.overhead.p50_ms).toBeGreaterThan(0);
      expect(b.overhead.p50_ms).toBeLessThan(b.end_to_end.p50_ms);
      expect(b.prove.p50_ms).toBeGreaterThan(0);
      expect(b.timeline.jobs).toBe(b.succeeded);
      expect(Object.keys(b.cpu_ms_per_job).some((label) => label.endsWith('(leader)'))).toBe(true);
      const failover = cluster.failover!;
      expect(failover.trials).toHaveLength(1);
      expect(failover.trials[0]!.state).toBe('SUCCEEDED');
      expect(failover.trials[0]!.finished_ms).toBeGreaterThan(0);
      expect(failover.trials[0]!.newLeader).not.toBe(failover.trials[0]!.killed);

      const floor = report.floor!;
      expect(floor.overhead?.succeeded).toBeGreaterThan(0);
      expect(floor.overhead?.offered_per_s).toBe(b.offered_per_s);
      expect(floor.throughput?.accepted).toBeGreaterThan(0);
      expect(floor.verify?.samples).toBeGreaterThan(0);
      expect(report.ratios.submits_per_s).toBeGreaterThan(0);
      expect(report.targets.map((t) => t.target)).toEqual(['>= 2,000', '>= 2,000', '<= 20 ms', '<= 100 ms', '<= 1,000 ms']);
      // The batched run went through SubmitJobs on both systems.
      expect(report.cluster.throughputBatched?.batch).toBe(100);
      expect(report.cluster.throughputBatched?.accepted).toBeGreaterThan(0);
      expect(floor.throughputBatched?.accepted).toBeGreaterThan(0);

      expect(markdown).toContain(`# Proving service benchmark (${hostname()})`);
      expect(markdown).toContain(report.command);
      expect(markdown).toContain('| (a) submits/s accepted');
      expect(markdown).toContain('through SubmitJobs, 100 jobs per call');
      expect(markdown).toContain('## Where a job');
      // The state directory was given, so it stays; the bench took the quick path.
      expect(existsSync(join(stateDir, 'cluster', 'logs'))).toBe(true);
      expect(Date.now() - started).toBeLessThan(170_000);
    } finally {
      for (const file of written) rmSync(join(ROOT, file), { force: true });
      // The dated folder, when this test made it and nothing else is in it (rmdir refuses a folder that is not empty).
      for (const dir of new Set(written.map((file) => dirname(join(ROOT, file))))) {
        if (dir !== join(ROOT, 'bench', 'results')) rmdirQuietly(dir);
      }
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
