/**
 * The worker as a real process (src/worker/process-main.ts) against a
 * scripted coordinator on loopback: the ready line, a proof, SIGTERM while a
 * job runs (it finishes, is reported, the worker deregisters and exits 0),
 * SIGTERM before any coordinator answered, and bad flags.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.ts';
import { randomInput } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { assignmentFor, serveCircuit } from './helpers.ts';

const PROCESS_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'worker', 'process-main.ts');
const rng = testRandom('worker-process');

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  stderr: string;
  readonly exited: Promise<number | null>;
  waitForEvent(name: string, timeout_ms?: number): Promise<Record<string, unknown>>;
}

function spawnWorker(args: string[]): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', PROCESS_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let buffered = '';
  const worker: WorkerProcess = {
    child,
    events,
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    waitForEvent: (name, timeout_ms = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find((event) => event.event === name);
          if (found === undefined) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no "${name}" event within ${timeout_ms} ms; stderr:\n${worker.stderr.slice(-2000)}`));
        }, timeout_ms);
        listeners.add(check);
        check();
      }),
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not an event line
      }
      for (const listener of [...listeners]) listener();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    worker.stderr += chunk.toString('utf8');
  });
  return worker;
}

describe('worker process', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp() {
    const fake = new FakeCoordinator({ lease_ms: 900 });
    await fake.start();
    const cacheDir = await mkdtemp(join(tmpdir(), 'zkp-worker-proc-'));
    cleanups.push(async () => {
      await fake.close();
      await rm(cacheDir, { recursive: true, force: true });
    });
    return { fake, cacheDir };
  }

  it('prints the ready line, proves, and on SIGTERM finishes the running job, deregisters and exits 0', async () => {
    const { fake, cacheDir } = await setUp();
    const { circuit } = await serveCircuit(fake, 'mulchain');
    const worker = spawnWorker([
      '--id',
      'proc-1',
      '--coordinators',
      fake.address,
      '--cache-dir',
      cacheDir,
      '--backends',
      'native,snarkjs',
      '--log-level',
      'warn',
    ]);
    cleanups.push(async () => {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    });
    const ready = await worker.waitForEvent('ready');
    expect(ready).toEqual({ event: 'ready', id: 'proc-1', backends: ['native', 'snarkjs'], pid: worker.child.pid });
    await fake.waitFor('the stream', () => fake.streams.has('proc-1'));

    fake.assign('proc-1', assignmentFor(circuit, 'job-p1', { json: JSON.stringify(randomInput('mulchain', rng)) }));
    await fake.waitFor('job-p1 done', () => fake.completes.some((c) => c.job_id === 'job-p1'), 60_000);

    // A job that is mid-way (held in its input fetch) when SIGTERM arrives.
    const release = fake.holdFetches();
    const inputSha = fake.addArtifact('INPUT', Buffer.from(JSON.stringify(randomInput('mulchain', rng))));
    fake.assign('proc-1', assignmentFor(circuit, 'job-p2', { sha256: inputSha, isWtns: false }));
    await fake.waitFor('job-p2 fetching its input', () => fake.fetches.includes(inputSha));
    worker.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(worker.child.exitCode).toBeNull();
    release();
    expect(await worker.exited).toBe(0);
    expect(fake.completes.map((c) => c.job_id)).toEqual(['job-p1', 'job-p2']);
    expect(fake.fails).toEqual([]);
    expect(fake.deregisters).toEqual(['proc-1']);
    expect(worker.events.at(-1)).toEqual({ event: 'closed', id: 'proc-1' });
  });

  it('exits 0 on SIGTERM while no coordinator has answered yet', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'zkp-worker-proc-'));
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
    const nobody = `127.0.0.1:${await freePort()}`;
    const worker = spawnWorker(['--coordinators', nobody, '--cache-dir', cacheDir, '--backends', 'native', '--log-level', 'info']);
    cleanups.push(async () => {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    });
    // Wait until it is trying to register (each attempt waits up to the router's 10 s deadline).
    const until = performance.now() + 30_000;
    while (!worker.stderr.includes('"msg":"registering"') && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(worker.stderr).toContain('"msg":"registering"');
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.events.find((event) => event.event === 'ready')).toBeUndefined();
  });

  it('refuses bad flags with exit status 2 and a message naming the flag', async () => {
    const worker = spawnWorker(['--coordinators', '127.0.0.1:1', '--backends', 'cuda']);
    expect(await worker.exited).toBe(2);
    expect(worker.stderr).toMatch(/zkp worker: worker backends: unknown backend "cuda"/);
    const missing = spawnWorker([]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr).toMatch(/--coordinators is required/);
  });
});
