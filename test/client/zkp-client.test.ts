/**
 * ZkpClient over real gRPC servers on loopback (test/client/fake-coordinator.ts):
 * a watch that survives a leader change, submit retries on a full queue with
 * the same idempotency key, a chunked upload from files with correct sizes,
 * and client-side input checks.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { submitRequest, ZkpClient } from '../../src/client/zkp-client.ts';
import { InvalidArgumentError, NotFoundError, NotLeaderError, ResourceExhaustedError } from '../../src/errors/index.ts';
import { type FakeCoordinator, startFakeCoordinator } from './fake-coordinator.ts';

const fakes: FakeCoordinator[] = [];
const clients: ZkpClient[] = [];

async function fake(id: string, mode?: Parameters<typeof startFakeCoordinator>[1]): Promise<FakeCoordinator> {
  const started = await startFakeCoordinator(id, mode);
  fakes.push(started);
  return started;
}

function client(addresses: string[]): ZkpClient {
  const made = new ZkpClient(addresses, { backoff_ms_min: 5, backoff_ms_max: 50 });
  clients.push(made);
  return made;
}

afterEach(async () => {
  for (const made of clients.splice(0)) made.close();
  await Promise.all(fakes.splice(0).map((started) => started.stop()));
});

describe('ZkpClient', () => {
  it('watchJob follows the job across a leader change to its terminal state', async () => {
    const a = await fake('a');
    const b = await fake('b', { kind: 'follower', leaderId: null, leaderAddress: null });
    a.watchState = 'QUEUED';
    const sdk = client([a.address, b.address]);
    const seen: string[] = [];
    const done = sdk.watchJob('job-1', (job) => seen.push(job.state));
    await new Promise((resolve) => setTimeout(resolve, 50));
    a.emit('RUNNING');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The leader steps down (its watches end with a redirect), then b leads with the job done.
    a.mode = { kind: 'follower', leaderId: 'b', leaderAddress: b.address };
    b.watchState = 'SUCCEEDED';
    b.mode = { kind: 'leader' };
    a.breakWatches(new NotLeaderError('b', b.address));
    const final = await done;
    expect(final.state).toBe('SUCCEEDED');
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(b.calls).toContain('WatchJob');
  });

  it('watchJob survives the leader being killed', async () => {
    const a = await fake('a');
    const b = await fake('b');
    a.watchState = 'RUNNING';
    b.watchState = 'FAILED';
    const sdk = client([a.address, b.address]);
    const seen: string[] = [];
    const done = sdk.watchJob('job-1', (job) => seen.push(job.state));
    await new Promise((resolve) => setTimeout(resolve, 50));
    a.kill();
    expect((await done).state).toBe('FAILED');
    expect(seen).toEqual(['RUNNING', 'FAILED']);
  });

  it('watchJob leaves a hung (SIGSTOPped) leader: keepalive breaks the stream, the watch re-opens elsewhere', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fake-coordinator-main.ts'), 'a', 'RUNNING'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
      const hungAddress = (JSON.parse(line) as { address: string }).address;
      const b = await fake('b');
      b.watchState = 'SUCCEEDED';
      const sdk = client([hungAddress, b.address]);
      const seen: string[] = [];
      const done = sdk.watchJob('job-1', (job) => seen.push(job.state));
      while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      child.kill('SIGSTOP');
      const stopped = Date.now();
      expect((await done).state).toBe('SUCCEEDED');
      const failover_ms = Date.now() - stopped;
      expect(seen).toEqual(['RUNNING', 'SUCCEEDED']);
      // Keepalive: a ping every 2 s, 1 s to answer; then at most a 1 s connect attempt on the hung node.
      expect(failover_ms).toBeLessThan(6000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('submitJob waits out a full queue with the same idempotency key', async () => {
    const leader = await fake('a', { kind: 'fail', error: new ResourceExhaustedError('queue full', { retryAfter_ms: 40 }) });
    const sdk = client([leader.address]);
    setTimeout(() => {
      leader.mode = { kind: 'leader' };
    }, 100);
    const answer = await sdk.submitJob({ circuit: 'c', inputJson: { a: 1 }, idempotencyKey: 'key-1' });
    expect(answer.job.idempotency_key).toBe('key-1');
    expect(leader.calls.filter((name) => name === 'SubmitJob').length).toBeGreaterThanOrEqual(2);
    expect([...leader.jobs.keys()]).toEqual(['key-1']);
  });

  it('submitJob gives up on a full queue when told to, or past its bound', async () => {
    const leader = await fake('a', { kind: 'fail', error: new ResourceExhaustedError('queue full', { retryAfter_ms: 40 }) });
    const sdk = client([leader.address]);
    await expect(sdk.submitJob({ circuit: 'c', inputJson: '{}', retryWhenFull: false })).rejects.toThrow(ResourceExhaustedError);
    expect(leader.calls).toEqual(['SubmitJob']);
    await expect(sdk.submitJob({ circuit: 'c', inputJson: '{}', fullWait_ms_max: 100 })).rejects.toThrow(/queue full/);
    expect(leader.calls.length).toBeLessThanOrEqual(5);
  });

  it('a generated idempotency key makes a repeated submit return the first job', async () => {
    const leader = await fake('a');
    const sdk = client([leader.address]);
    const request = submitRequest({ circuit: 'c', inputJson: '{}' });
    expect(request.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
    const first = await sdk.submitJob({ circuit: 'c', inputJson: '{}', idempotencyKey: request.idempotency_key! });
    const second = await sdk.submitJob({ circuit: 'c', inputJson: '{}', idempotencyKey: request.idempotency_key! });
    expect(second.job.id).toBe(first.job.id);
    expect(second.existing).toBe(true);
  });

  it('registerCircuit streams files in chunks and sends their hashes', async () => {
    const leader = await fake('a');
    const dir = await mkdtemp(join(tmpdir(), 'zkp-client-'));
    try {
      const wasm = Buffer.alloc(300_001, 7);
      await writeFile(join(dir, 'c.wasm'), wasm);
      const zkey = Buffer.alloc(2_500_000, 3);
      await writeFile(join(dir, 'c.zkey'), zkey);
      const sdk = client([leader.address]);
      const answer = await sdk.registerCircuit({
        name: 'c',
        wasm: join(dir, 'c.wasm'),
        zkey: join(dir, 'c.zkey'),
        vkey: Buffer.from('{}'),
        chunk_bytes: 65_536,
      });
      expect(answer.circuit.id).toBe('circuit-id');
      expect(Object.fromEntries(leader.uploads[0]!)).toEqual({ WASM: 300_001, ZKEY: 2_500_000, VKEY: 2 });
      expect(leader.headers[0]).toMatchObject({
        name: 'c',
        zkey_sha256: createHash('sha256').update(zkey).digest('hex'),
        wasm_sha256: createHash('sha256').update(wasm).digest('hex'),
        zkey_bytes: 2_500_000,
        vkey_bytes: 2,
      });
      await expect(sdk.registerCircuit({ name: 'c', wasm: join(dir, 'missing.wasm'), zkey })).rejects.toThrow(NotFoundError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks submit options before sending anything', () => {
    expect(() => submitRequest({ circuit: 'c' })).toThrow(/exactly one of inputJson and witness/);
    expect(() => submitRequest({ circuit: 'c', inputJson: '{}', witness: new Uint8Array(1) })).toThrow(InvalidArgumentError);
    expect(() => submitRequest({ circuit: 'c', inputJson: '{"a":' })).toThrow(/not valid JSON/);
    expect(() => submitRequest({ circuit: 'c', inputJson: '[1]' })).toThrow(/JSON object/);
    expect(() => submitRequest({ circuit: 'c', inputJson: '{}', priority: 1.5 })).toThrow(/int32/);
    expect(() => submitRequest({ circuit: '', inputJson: '{}' })).toThrow(/needs a circuit/);
    const witness = submitRequest({ circuit: 'c', witness: new Uint8Array([1, 2]), priority: 3, timeout_ms: 1000 });
    expect(witness.input).toBe('witness_wtns');
    expect(witness.priority).toBe(3);
  });
});
