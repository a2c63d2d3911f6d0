/**
 * The whole service as processes, driven through the `zkp` CLI as a user
 * drives it: the embedded database, 3 coordinators and 2 real workers
 * (src/dev/cluster.ts). A circuit is added, jobs are submitted and waited
 * for, a worker is killed with SIGKILL mid-proof (its job is requeued and
 * proven by the other one), bad input gets one clear line and its exit
 * code, and `zkp status` shows the cluster. Every proof verifies with snarkjs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/api/types.ts';
import { ZkpClient } from '../../src/client/zkp-client.ts';
import { DevCluster } from '../../src/dev/cluster.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { testCircuit } from '../helpers/circuits.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/zkp.js');
const stateDir = mkdtempSync(join(tmpdir(), 'zkp-e2e-'));
let cluster: DevCluster;
let client: ZkpClient;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function zkp(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args, '--coordinators', cluster.coordinatorAddresses.join(',')], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  cluster = await DevCluster.start({ stateDir, coordinators: 3, workers: 2, logLevel: 'warn', say: () => {} });
  client = new ZkpClient(cluster.coordinatorAddresses);
}, 240_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

describe('the proving service end to end (3 coordinators, 2 workers, through the zkp CLI)', () => {
  it('adds a circuit, proves submitted jobs, requeues the job of a worker killed mid-proof, and refuses bad input clearly', async () => {
    const circuit = await testCircuit('mulchain');
    const vkey = JSON.parse(readFileSync(circuit.vkey, 'utf8'));

    const added = await zkp('circuit', 'add', circuit.wasm, circuit.zkey, '--name', 'mulchain');
    expect(added.code, added.stderr).toBe(0);
    const circuitId = added.stdout.trim();
    expect(circuitId).toMatch(/^[0-9a-f]{64}$/);

    const inputPath = join(stateDir, 'input.json');
    writeFileSync(inputPath, JSON.stringify({ a: '5', b: '7' }));
    const proofPath = join(stateDir, 'proof.json');
    const publicPath = join(stateDir, 'public.json');
    const submitted = await zkp('submit', 'mulchain', inputPath, '--wait', '--proof', proofPath, '--public', publicPath);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stderr).toContain('SUCCEEDED');
    expect(await verifyProof(vkey, JSON.parse(readFileSync(publicPath, 'utf8')), JSON.parse(readFileSync(proofPath, 'utf8')))).toBe(true);

    // Kill a worker while it proves: the job must finish on the other worker, as a later attempt.
    let requeued: JobMessage | null = null;
    for (let round = 0; round < 3 && requeued === null; round++) {
      const victims = cluster.children.filter((child) => child.spec.role === 'worker' && child.running);
      expect(victims.length).toBeGreaterThan(1);
      const { job } = await client.submitJob({ circuit: circuitId, inputJson: { a: String(11 + round), b: '13' } });
      let killed: string | null = null;
      const final = await client.watchJob(job.id, (event) => {
        if (killed === null && event.state === 'RUNNING' && event.attempts === 1) {
          const victim = victims.find((child) => child.spec.id === event.worker_id);
          if (victim?.pid != null) {
            process.kill(victim.pid, 'SIGKILL');
            killed = victim.spec.id;
          }
        }
      });
      expect(final.state).toBe('SUCCEEDED');
      expect(await verifyProof(vkey, JSON.parse(final.public_json), JSON.parse(final.proof_json))).toBe(true);
      // A kill that landed after the proof was reported leaves attempt 1 the winner; try again with the surviving workers.
      if (killed !== null && final.attempts >= 2) {
        expect(final.worker_id).not.toBe(killed);
        requeued = final;
      }
      if (cluster.children.filter((child) => child.spec.role === 'worker' && child.running).length < 2) break;
    }
    expect(requeued, 'a worker killed mid-proof had its job requeued and proven elsewhere').not.toBeNull();

    const unknown = await zkp('submit', 'no-such-circuit', inputPath);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/no-such-circuit/);
    const malformedPath = join(stateDir, 'bad.json');
    writeFileSync(malformedPath, '{"a": 5,');
    const malformed = await zkp('submit', 'mulchain', malformedPath);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1);

    // A missing signal is a permanent failure: FAILED at once, never retried.
    writeFileSync(inputPath, JSON.stringify({ a: '5' }));
    const missing = await zkp('submit', 'mulchain', inputPath, '--wait');
    expect(missing.code, missing.stderr).not.toBe(0);
    expect(missing.stderr).toMatch(/FAILED/);
    // The finished job may already have left the replicated state for the archive, which the pages after the live ones hold.
    let failedJob: JobMessage | undefined;
    for await (const job of client.allJobs({ states: ['FAILED'], includeArchived: true })) if (job.circuit_id === circuitId) failedJob ??= job;
    expect(failedJob?.attempts).toBe(1);
    expect(failedJob?.error_message).toMatch(/b/);

    const status = await zkp('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/leader [abc] at 127\.0\.0\.1:\d+/);
    for (const id of ['a', 'b', 'c']) expect(status.stdout).toMatch(new RegExp(`^${id}\\s+(leader|follower)`, 'm'));
  }, 300_000);
});
