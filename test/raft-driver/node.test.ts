/**
 * RaftNode in-process: three nodes in this process over real gRPC on loopback
 * and real disk. Covers what the process-level test does not: leader-change
 * events, ReadIndex on a follower, leadership transfer, backpressure, restart
 * from the durable log and snapshot, graceful close.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.ts';
import { NotLeaderError, UnavailableError } from '../../src/errors/index.ts';
import { RaftNode, type LeaderChange } from '../../src/raft/driver/index.ts';
import { encodePut, KvStateMachine } from '../../src/raft/kv/kv-state-machine.ts';
import { tempDir } from './helpers.ts';

interface Member {
  id: string;
  dir: string;
  sm: KvStateMachine;
  node: RaftNode | null;
  changes: LeaderChange[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

// Election timeout 300-600 ms rather than the default 100-200 ms: these tests
// are not about failover time, and vitest runs other CPU-heavy files beside
// them on a 2-core machine, where a starved event loop would otherwise cause
// elections the assertions do not expect.
async function startCluster(
  options: { pendingRequests_max?: number; snapshotEvery_entries?: number; proposalTimeout_ms?: number; readTimeout_ms?: number } = {},
) {
  const ids = ['a', 'b', 'c'];
  const peers = new Map<string, { raftAddress: string; clientAddress: string }>();
  for (const id of ids) peers.set(id, { raftAddress: `127.0.0.1:${await freePort()}`, clientAddress: `client-of-${id}:1` });
  const base = tempDir('raft-node');
  const members: Member[] = ids.map((id) => ({ id, dir: `${base}/${id}`, sm: new KvStateMachine(), node: null, changes: [] }));
  const start = async (m: Member, seed: number) => {
    m.sm = new KvStateMachine();
    m.node = await RaftNode.start({ id: m.id, clusterId: 'test', dataDir: m.dir, peers, stateMachine: m.sm, seed, electionTicks: 30, ...options });
    m.node.on('leader-change', (c) => m.changes.push(c));
  };
  await Promise.all(members.map((m, i) => start(m, 100 + i)));
  cleanups.push(async () => {
    for (const m of members) await m.node?.close();
    fs.rmSync(base, { recursive: true, force: true });
  });
  const leader = async (timeout_ms = 5000): Promise<Member> => {
    const deadline = Date.now() + timeout_ms;
    for (;;) {
      const found = members.find((m) => m.node !== null && m.node.status().role === 'leader');
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error('no leader elected');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { members, leader, start, peers };
}

const bytes = (s: string) => new TextEncoder().encode(s);

async function eventually(check: () => boolean, timeout_ms: number): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout_ms} ms: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A freshly (re)started node knows no leader until the first heartbeat: retry like a client would. */
async function readIndexRetrying(node: RaftNode, timeout_ms = 5000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    try {
      return await node.readIndex();
    } catch (error) {
      if (!(error instanceof NotLeaderError) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('RaftNode', () => {
  it('reports leader changes, serves ReadIndex on followers, transfers leadership', async () => {
    const { members, leader } = await startCluster();
    const first = await leader();
    const index = new DataView((await first.node!.propose(encodePut('x', bytes('1')))).buffer);
    expect(index.byteLength).toBeGreaterThan(0);
    // Every node hears of the leader (the slowest may learn it a heartbeat later).
    await eventually(() => members.every((m) => m.changes.some((c) => c.leaderId === first.id)), 5000);
    // Linearizable read on a follower: after readIndex resolves, the write is visible locally.
    const follower = members.find((m) => m !== first)!;
    await follower.node!.readIndex();
    expect(follower.sm.get('x')).toEqual(bytes('1'));
    // Followers refuse proposals naming the leader and its client address.
    await expect(follower.node!.propose(encodePut('y', bytes('2')))).rejects.toMatchObject({
      constructor: NotLeaderError,
      leaderId: first.id,
      leaderAddress: `client-of-${first.id}:1`,
    });
    // Transfer leadership to the follower.
    first.node!.transferLeadership(follower.id);
    const deadline = Date.now() + 5000;
    while (follower.node!.status().role !== 'leader' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(follower.node!.status().role).toBe('leader');
    await follower.node!.propose(encodePut('y', bytes('2')));
    await eventually(() => first.changes.at(-1)?.leaderId === follower.id, 5000);
  });

  it("refuses a follower's pending read once the leader it asked is gone, long before the read timeout", async () => {
    const { members, leader } = await startCluster({ readTimeout_ms: 30_000 });
    const first = await leader();
    await first.node!.propose(encodePut('x', bytes('1')));
    const follower = members.find((m) => m !== first)!;
    await eventually(() => follower.node!.status().leaderId === first.id, 5000);
    // The leader stops without a word (close() drops every message from its
    // first synchronous step); the follower still believes in it and asks it.
    const closing = first.node!.close();
    first.node = null;
    const asked_ms = Date.now();
    // The outcome is taken at once: the refusal may come while the close is still awaited.
    const reading = follower.node!.readIndex().then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await closing;
    const outcome = await reading;
    const waited_ms = Date.now() - asked_ms;
    // An election (300-600 ms here) changes the leader the follower knows; the read is then refused so the caller retries there.
    expect(outcome).toBeInstanceOf(NotLeaderError);
    expect(waited_ms).toBeLessThan(10_000);
    await readIndexRetrying(follower.node!, 10_000);
    expect(follower.sm.get('x')).toEqual(bytes('1'));
  });

  it('bounds pending requests, restarts from disk with a snapshot, closes gracefully', async () => {
    const { members, leader, start } = await startCluster({ pendingRequests_max: 50, snapshotEvery_entries: 40 });
    const lead = await leader();
    const results = await Promise.allSettled(Array.from({ length: 80 }, (_, i) => lead.node!.propose(encodePut(`k${i}`, bytes(`v${i}`)))));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBe(30);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
    // More rounds so that snapshots and compaction happen.
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => lead.node!.propose(encodePut(`r${round}-${i}`, bytes(`${round}`)))));
    }
    await eventually(() => lead.node!.status().snapshotIndex > 0, 5000);
    // Restart a follower: state comes back from its snapshot plus log.
    const follower = members.find((m) => m !== lead)!;
    await follower.node!.readIndex();
    const keysBefore = follower.sm.size();
    await follower.node!.close();
    await start(follower, 7);
    expect(follower.sm.size()).toBeGreaterThan(0); // restored from its own snapshot before any network traffic
    await readIndexRetrying(follower.node!);
    expect(follower.sm.size()).toBe(keysBefore);
    expect(follower.sm.get('r2-39')).toEqual(bytes('2'));
    // A follower that misses more than the leader keeps in its log catches up via InstallSnapshot.
    const lagging = members.find((m) => m !== lead && m !== follower)!;
    await readIndexRetrying(lagging.node!);
    const laggingLast = lagging.node!.status().lastIndex;
    await lagging.node!.close();
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => lead.node!.propose(encodePut(`s${round}-${i}`, bytes(`${round}`)))));
    }
    // Snapshots are written off the event loop, so the one covering the last
    // round may still be on its way to disk when the proposals return.
    await eventually(() => lead.node!.status().snapshotIndex > laggingLast + 1, 5000); // the leader no longer has the entries it needs
    await start(lagging, 8);
    await readIndexRetrying(lagging.node!);
    expect(lagging.sm.get('s2-39')).toEqual(bytes('2'));
    expect(lagging.sm.size()).toBe(lead.sm.size());
    // Closing rejects new work with UnavailableError.
    await lead.node!.close();
    await expect(lead.node!.propose(encodePut('late', bytes('x')))).rejects.toBeInstanceOf(UnavailableError);
    lead.node = null;
  });

  it('a follower far behind catches up from a snapshot larger than one gRPC message (about 80 MiB)', async () => {
    const { members, leader, start } = await startCluster({ snapshotEvery_entries: 40 });
    const lead = await leader();
    const lagging = members.find((m) => m !== lead)!;
    await lagging.node!.close();
    lagging.node = null;
    const value = (i: number) => new Uint8Array(1024 * 1024).fill(i & 0xff);
    for (let i = 0; i < 80; i++) await lead.node!.propose(encodePut(`big-${i}`, value(i)));
    await eventually(() => lead.node!.status().snapshotIndex >= 80, 20_000); // compacted past what lagging has
    await start(lagging, 9);
    await readIndexRetrying(lagging.node!, 30_000);
    expect(lagging.sm.size()).toBe(lead.sm.size());
    expect(lagging.sm.get('big-79')).toEqual(value(79));
    expect(lagging.node!.status().snapshotIndex).toBeGreaterThanOrEqual(80);
  }, 90_000);

  it('keeps snapshotting under continuous load while the leader answers ahead of its Ready loop', async () => {
    // Replies are applied as soon as an ack commits them, while the Ready loop
    // awaits the next batch's fdatasync; a snapshot must still be taken only at
    // an index the core has applied too (else the node stops with a fatal error).
    const { members, leader } = await startCluster({ snapshotEvery_entries: 25 });
    const fatal: Error[] = [];
    for (const m of members) m.node!.on('fatal', (error) => fatal.push(error));
    const lead = await leader();
    let committed = 0;
    const until_ms = Date.now() + 1500;
    const proposer = async (worker: number): Promise<void> => {
      for (let i = 0; Date.now() < until_ms; i++) {
        await lead.node!.propose(encodePut(`w${worker}-${i % 50}`, bytes(`${i}`)));
        committed++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => proposer(w)));
    expect(fatal.map((e) => e.message)).toEqual([]);
    expect(committed).toBeGreaterThan(100);
    const status = lead.node!.status();
    expect(status.applied).toBeGreaterThanOrEqual(committed);
    expect(status.snapshotIndex).toBeGreaterThan(0);
  });

  it('fails a proposal whose outcome stays unknown (leader cut off from its quorum) after proposalTimeout_ms', async () => {
    const { members, leader } = await startCluster({ proposalTimeout_ms: 300 });
    const lead = await leader();
    await lead.node!.propose(encodePut('before', bytes('1')));
    // close() stops a node from taking messages at once (synchronously); propose right after.
    const followers = members.filter((m) => m !== lead);
    const closing = followers.map((m) => m.node!.close());
    const started_ms = performance.now();
    const lost = lead.node!.propose(encodePut('lost', bytes('2')));
    await expect(lost).rejects.toThrow(/not applied within 300 ms; its outcome is unknown/);
    expect(performance.now() - started_ms).toBeGreaterThanOrEqual(250);
    await Promise.all(closing);
    for (const m of followers) m.node = null;
  });

  it("refuses a node of another cluster that has this cluster's addresses in its peers: the cluster goes on undisturbed and the stranger is told why", async () => {
    const { members, leader, peers: clusterPeers } = await startCluster();
    const lead = await leader();
    await lead.node!.propose(encodePut('before', bytes('1')));
    const termBefore = lead.node!.status().term;
    // A node "a" of an old deployment, started with this cluster's --peers (its own address aside) but its own --cluster-id.
    const peers = new Map(clusterPeers);
    peers.set('a', { raftAddress: `127.0.0.1:${await freePort()}`, clientAddress: 'client-of-stranger:1' });
    const errors: Record<string, unknown>[] = [];
    const ignore = () => {};
    const dir = tempDir('raft-stranger');
    const stranger = await RaftNode.start({
      id: 'a',
      clusterId: 'old-deployment',
      dataDir: dir,
      peers,
      stateMachine: new KvStateMachine(),
      seed: 7,
      electionTicks: 10,
      logger: { debug: ignore, info: ignore, warn: ignore, error: (fields) => errors.push(fields as Record<string, unknown>) },
    });
    cleanups.push(async () => {
      await stranger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    // It campaigns every 100-200 ms; every stream it opens to b and c is refused.
    await eventually(() => ['b', 'c'].every((id) => (stranger.transportStats()[id]?.refusals ?? 0) >= 2), 5000);
    expect(errors.map((e) => e.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/node "a" of cluster "old-deployment" \(at .+\) sent to node "b" of cluster "test": refused/)]),
    );
    expect(stranger.status().leaderId).toBeNull();
    // The cluster kept its leader and term, and still commits.
    expect(lead.node!.status()).toMatchObject({ role: 'leader', term: termBefore });
    await lead.node!.propose(encodePut('after', bytes('2')));
    await eventually(() => members.every((m) => m.sm.get('after') !== undefined), 5000);
  });
});
