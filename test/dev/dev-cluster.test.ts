/**
 * `zkp dev` (what `npm start` runs) as a user runs it: a separate process that
 * starts the embedded database, 3 coordinators and a worker, proves the sample
 * and prints the proof; the proof verifies with snarkjs; cluster.json names
 * every process; Ctrl-C (SIGINT) stops them all and exits 0. A second run on
 * the same state directory reuses its ports and finds the circuit registered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyProof } from '../../src/prover/prove-files.ts';
import type { ClusterFile } from '../../src/dev/cluster.ts';
import { testCircuit } from '../helpers/circuits.ts';

const BIN = resolve(import.meta.dirname, '../../bin/zkp.js');
const stateDir = mkdtempSync(join(tmpdir(), 'zkp-dev-test-'));

interface DevRun {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function startDev(): DevRun {
  const child = spawn(process.execPath, [BIN, 'dev', '--state-dir', stateDir, '--log.level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: DevRun = { child, stdout: '', stderr: '', exited: new Promise((done) => child.once('exit', (code) => done(code))) };
  child.stdout!.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  return run;
}

async function waitFor(run: DevRun, text: string, timeout_ms: number): Promise<void> {
  const start = Date.now();
  while (!run.stderr.includes(text)) {
    if (run.child.exitCode !== null) throw new Error(`zkp dev exited (${run.child.exitCode}) before "${text}":\n${run.stderr}`);
    if (Date.now() - start > timeout_ms) throw new Error(`zkp dev did not print "${text}" within ${timeout_ms} ms:\n${run.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('zkp dev (npm start)', () => {
  it('proves the sample on a local cluster, writes cluster.json, and stops everything on Ctrl-C; a rerun reuses the state', async () => {
    const circuit = await testCircuit('mulchain');
    const vkey = JSON.parse(readFileSync(circuit.vkey, 'utf8'));

    const first = startDev();
    await waitFor(first, 'running; Ctrl-C stops every process', 240_000);
    const printed = JSON.parse(first.stdout) as { job: string; proof: unknown; public: unknown };
    expect(await verifyProof(vkey, printed.public, printed.proof)).toBe(true);
    expect(first.stderr).toContain('SUCCEEDED');

    const file = JSON.parse(readFileSync(join(stateDir, 'cluster.json'), 'utf8')) as ClusterFile;
    expect(file.processes.map((p) => p.role).sort()).toEqual(['coordinator', 'coordinator', 'coordinator', 'database', 'worker']);
    const pids = file.processes.map((p) => p.pid);
    for (const pid of pids) expect(pid !== null && alive(pid)).toBe(true);
    for (const coordinator of file.processes.filter((p) => p.role === 'coordinator')) {
      expect(coordinator.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(coordinator.health!)).json()) as { coordinator_id: string; raft: { node_id: string } };
      expect(health.coordinator_id).toBe(coordinator.id);
      expect(health.raft.node_id).toBe(coordinator.id);
    }

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.stderr).toContain('zkp dev: stopped');
    for (const pid of pids) expect(alive(pid!)).toBe(false);

    const second = startDev();
    await waitFor(second, 'running; Ctrl-C stops every process', 240_000);
    expect(second.stderr).toContain('(already known)');
    const again = JSON.parse(readFileSync(join(stateDir, 'cluster.json'), 'utf8')) as ClusterFile;
    expect(again.ports).toEqual(file.ports);
    const reprinted = JSON.parse(second.stdout) as { proof: unknown; public: unknown };
    expect(await verifyProof(vkey, reprinted.public, reprinted.proof)).toBe(true);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, 600_000);
});
