/**
 * The router's retry rules (src/client/leader-router.ts header) against real
 * gRPC servers on loopback (test/client/fake-coordinator.ts): redirects
 * followed, dead addresses skipped, bounded failure naming the addresses,
 * non-idempotent calls never repeated when the outcome is unknown, streams
 * opened on the leader.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LeaderRouter, type RoutedStream } from '../../src/client/leader-router.ts';
import type { JobMessage } from '../../src/api/types.ts';
import { CancelledError, InvalidArgumentError, UnavailableError } from '../../src/errors/index.ts';
import { freePort } from '../../src/net/free-port.ts';
import { type FakeCoordinator, startFakeCoordinator } from './fake-coordinator.ts';

const fakes: FakeCoordinator[] = [];
const routers: LeaderRouter[] = [];

async function fake(id: string, ...args: Parameters<typeof startFakeCoordinator> extends [string, ...infer Rest] ? Rest : never): Promise<FakeCoordinator> {
  const started = await startFakeCoordinator(id, ...args);
  fakes.push(started);
  return started;
}

function router(addresses: string[], options: ConstructorParameters<typeof LeaderRouter>[1] = {}): LeaderRouter {
  const made = new LeaderRouter(addresses, { backoff_ms_min: 5, backoff_ms_max: 50, ...options });
  routers.push(made);
  return made;
}

afterEach(async () => {
  for (const made of routers.splice(0)) made.close();
  await Promise.all(fakes.splice(0).map((started) => started.stop()));
});

/** A leader, and followers pointing at it (the leader's address not among those the router was given). */
async function cluster(): Promise<{ leader: FakeCoordinator; followers: FakeCoordinator[] }> {
  const leader = await fake('c');
  const followers = [
    await fake('a', { kind: 'follower', leaderId: 'c', leaderAddress: leader.address }),
    await fake('b', { kind: 'follower', leaderId: 'c', leaderAddress: leader.address }),
  ];
  return { leader, followers };
}

describe('LeaderRouter: unary calls', () => {
  it('follows a redirect to a leader it was not given, once, and remembers it', async () => {
    const { leader, followers } = await cluster();
    const client = router(followers.map((f) => f.address));
    const answer = await client.unary<object, { job: JobMessage }>('job', 'SubmitJob', { circuit: 'x', input_json: '{}', idempotency_key: 'k1' });
    expect(answer.job.id).toBe('job-1');
    expect(followers[0]!.calls).toEqual(['SubmitJob']);
    expect(leader.calls).toEqual(['SubmitJob']);
    expect(client.leaderAddress).toBe(leader.address);
    expect(client.addresses).toContain(leader.address);
    await client.unary('job', 'GetJob', { job_id: 'job-1' });
    expect(followers[0]!.calls).toEqual(['SubmitJob']);
    expect(leader.calls).toEqual(['SubmitJob', 'GetJob']);
  });

  it('skips an address nobody listens on (not sent: retried even when not idempotent)', async () => {
    const leader = await fake('c');
    const dead = `127.0.0.1:${await freePort()}`;
    const client = router([dead, leader.address]);
    await client.unary('admin', 'TransferLeadership', {}).catch(() => {});
    const answer = await client.unary<object, { answered_by: string }>('admin', 'Status', {});
    expect(answer.answered_by).toBe('c');
    expect(client.leaderAddress).toBe(leader.address);
  });

  it('finds the new leader after the leader dies', async () => {
    const oldLeader = await fake('a');
    const next = await fake('b', { kind: 'follower', leaderId: null, leaderAddress: null });
    const client = router([oldLeader.address, next.address]);
    await client.unary('job', 'GetJob', { job_id: 'j' });
    expect(client.leaderAddress).toBe(oldLeader.address);
    oldLeader.kill();
    setTimeout(() => {
      next.mode = { kind: 'leader' };
    }, 100);
    const answer = await client.unary<object, JobMessage>('job', 'GetJob', { job_id: 'j2' }, { idempotent: true });
    expect(answer.id).toBe('j2');
    expect(client.leaderAddress).toBe(next.address);
  });

  it('fails within the deadline, naming every address tried, when no leader is known', async () => {
    const a = await fake('a', { kind: 'follower', leaderId: null, leaderAddress: null });
    const b = await fake('b', { kind: 'follower', leaderId: null, leaderAddress: null });
    const client = router([a.address, b.address], { deadline_ms: 400 });
    const started = Date.now();
    // Idempotent: under load the deadline may cut an attempt in flight, whose outcome is then unknown; a
    // non-idempotent call would (rightly) fail with that instead of the summary of every address tried.
    const error = await client.unary('job', 'SubmitJob', { circuit: 'x' }, { idempotent: true }).catch((e: unknown) => e);
    const elapsed_ms = Date.now() - started;
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(a.address);
    expect((error as Error).message).toContain(b.address);
    expect((error as Error).message).toMatch(/no leader is known/);
    expect(elapsed_ms).toBeGreaterThanOrEqual(390);
    expect(elapsed_ms).toBeLessThan(1500);
    // Backoff: several tries, but not a spin.
    expect(a.calls.length + b.calls.length).toBeGreaterThan(2);
    expect(a.calls.length + b.calls.length).toBeLessThan(100);
  });

  it('does not repeat a non-idempotent call whose outcome is unknown, but retries an idempotent one elsewhere', async () => {
    const hanging = await fake('a', { kind: 'hang' });
    const leader = await fake('b');
    const client = router([hanging.address, leader.address], { attempt_timeout_ms: 200 });
    const error = await client.unary('admin', 'Status', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/outcome is unknown/);
    expect(hanging.calls).toEqual(['Status']);
    expect(leader.calls).toEqual([]);
    const answer = await client.unary<object, { answered_by: string }>('admin', 'Status', {}, { idempotent: true });
    expect(answer.answered_by).toBe('b');
  });

  it('retries any call the server refused as UNAVAILABLE (nothing done), and returns other errors at once', async () => {
    const closing = await fake('a', { kind: 'fail', error: new UnavailableError('shutting down') });
    const leader = await fake('b');
    const client = router([closing.address, leader.address]);
    const answer = await client.unary<object, { answered_by: string }>('admin', 'Status', {});
    expect(answer.answered_by).toBe('b');
    const refusing = await fake('c', { kind: 'fail', error: new InvalidArgumentError('bad circuit') });
    const direct = router([refusing.address, leader.address]);
    await expect(direct.unary('job', 'GetJob', {})).rejects.toThrow(InvalidArgumentError);
    expect(refusing.calls).toEqual(['GetJob']);
    expect(leader.calls).toEqual(['Status']);
  });

  it('close() fails waiting calls with CancelledError', async () => {
    const a = await fake('a', { kind: 'follower', leaderId: null, leaderAddress: null });
    const client = router([a.address], { deadline_ms: 5000, backoff_ms_min: 200, backoff_ms_max: 200 });
    const pending = client.unary('job', 'GetJob', {}).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.close();
    expect(await pending).toBeInstanceOf(CancelledError);
  });

  it('refuses bad addresses and no addresses', () => {
    expect(() => new LeaderRouter([])).toThrow(/no coordinator addresses/);
    expect(() => new LeaderRouter(['localhost'])).toThrow(/"localhost" is not host:port/);
    expect(() => new LeaderRouter(['h:70000'])).toThrow(/not host:port/);
  });
});

describe('LeaderRouter: streams', () => {
  it('opens a server stream on the leader through a follower and reads until it ends', async () => {
    const { leader, followers } = await cluster();
    const client = router([followers[1]!.address]);
    const stream: RoutedStream<{ job: JobMessage }> = await client.serverStream('job', 'WatchJob', { job_id: 'job-1' });
    expect(stream.address).toBe(leader.address);
    setTimeout(() => {
      leader.emit('RUNNING');
      leader.emit('SUCCEEDED', true);
    }, 20);
    const states: string[] = [];
    for await (const event of stream) states.push(event.job.state);
    expect(states).toEqual(['RUNNING', 'SUCCEEDED']);
  });

  it('delivers a stream error after the first message as a named error', async () => {
    const leader = await fake('a');
    const client = router([leader.address]);
    const stream = await client.serverStream<object, { job: JobMessage }>('job', 'WatchJob', { job_id: 'job-1' });
    setTimeout(() => {
      leader.emit('RUNNING');
      setTimeout(() => leader.breakWatches(new InvalidArgumentError('gone')), 20);
    }, 20);
    const states: string[] = [];
    const error = await (async () => {
      for await (const event of stream) states.push(event.job.state);
    })().catch((e: unknown) => e);
    expect(states).toEqual(['RUNNING']);
    expect(error).toBeInstanceOf(InvalidArgumentError);
  });

  it('cancel() ends the iteration quietly', async () => {
    const leader = await fake('a');
    const client = router([leader.address]);
    const stream = await client.serverStream<object, { job: JobMessage }>('job', 'WatchJob', { job_id: 'job-1' });
    setTimeout(() => stream.cancel(), 30);
    const events: unknown[] = [];
    for await (const event of stream) events.push(event);
    expect(events).toEqual([]);
  });

  it('re-sends a client stream from the start on the leader after a redirect', async () => {
    const { leader, followers } = await cluster();
    const client = router([followers[0]!.address]);
    let writes = 0;
    const response = await client.clientStream<object, { circuit: { id: string } }>(
      'job',
      'RegisterCircuit',
      async (sink) => {
        writes++;
        await sink.write({ header: { name: 'n' } });
        for (let i = 0; i < 10; i++) await sink.write({ chunk: { kind: 'ZKEY', data: Buffer.alloc(100_000, i) } });
      },
      { idempotent: true },
    );
    expect(response.circuit.id).toBe('circuit-id');
    expect(leader.uploads).toHaveLength(1);
    expect(leader.uploads[0]!.get('ZKEY')).toBe(1_000_000);
    expect(writes).toBeGreaterThanOrEqual(2);
  });
});
