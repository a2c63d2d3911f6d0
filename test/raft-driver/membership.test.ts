/**
 * Membership changes through RaftNode, in-process over real gRPC on loopback
 * and real disk: a node started with `join` catches up as a learner (by
 * InstallSnapshot, the log being compacted), is promoted, and then counts for
 * commits; members learn its address from the change, keep it across a
 * restart after the change was compacted away, and stop contacting a removed
 * member. Errors name the problem.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.ts';
import { InvalidArgumentError, NotLeaderError, UnavailableError } from '../../src/errors/index.ts';
import { RaftNode, type PeerInfo } from '../../src/raft/driver/index.ts';
import { encodePut, KvStateMachine } from '../../src/raft/kv/kv-state-machine.ts';
import { BOOTSTRAP_INDEX } from '../../src/raft/storage/index.ts';
import { tempDir } from './helpers.ts';

interface Member {
  readonly id: string;
  readonly dir: string;
  readonly address: PeerInfo;
  sm: KvStateMachine;
  node: RaftNode | null;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const bytes = (s: string) => new TextEncoder().encode(s);

async function eventually(what: string, check: () => boolean, timeout_ms = 8000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeout_ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function cluster() {
  const base = tempDir('raft-membership');
  const members = new Map<string, Member>();
  for (const id of ['a', 'b', 'c', 'd']) {
    const port = await freePort();
    members.set(id, {
      id,
      dir: `${base}/${id}`,
      address: { raftAddress: `127.0.0.1:${port}`, clientAddress: `client-of-${id}:${port}` },
      sm: new KvStateMachine(),
      node: null,
    });
  }
  const bootstrap = new Map(['a', 'b', 'c'].map((id) => [id, members.get(id)!.address]));
  const everyone = new Map([...members].map(([id, m]) => [id, m.address]));
  // Election timeout 300-600 ms: these tests are not about failover time, and a
  // starved event loop on a 2-core machine must not cause surprise elections.
  const start = async (id: string, peers: ReadonlyMap<string, PeerInfo>, join = false) => {
    const m = members.get(id)!;
    m.sm = new KvStateMachine();
    m.node = await RaftNode.start({
      id,
      clusterId: 'members',
      dataDir: m.dir,
      peers,
      stateMachine: m.sm,
      join,
      seed: id.charCodeAt(0),
      electionTicks: 30,
      snapshotEvery_entries: 20,
    });
  };
  cleanups.push(async () => {
    for (const m of members.values()) await m.node?.close();
    fs.rmSync(base, { recursive: true, force: true });
  });
  const leader = async (): Promise<Member> => {
    let found: Member | undefined;
    await eventually('a leader is elected', () => {
      found = [...members.values()].find((m) => m.node?.status().role === 'leader');
      return found !== undefined;
    });
    return found!;
  };
  const put = async (key: string, value: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await (await leader()).node!.propose(encodePut(key, bytes(value)));
        return;
      } catch (error) {
        if (!(error instanceof NotLeaderError) || attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  return { members, bootstrap, everyone, start, leader, put };
}

describe('RaftNode membership changes', () => {
  it('a joining node catches up as a learner by snapshot, is promoted, counts for commits, and is still reached after a restart once the change is compacted', async () => {
    const { members, bootstrap, everyone, start, leader, put } = await cluster();
    await Promise.all(['a', 'b', 'c'].map((id) => start(id, bootstrap)));
    for (let i = 0; i < 60; i++) await put(`k${i}`, `v${i}`);
    const lead = await leader();
    await eventually('the leader compacts its log', () => lead.node!.status().snapshotIndex > 2);

    const d = members.get('d')!;
    await start('d', everyone, true);
    expect(d.node!.status().members).toEqual([]); // no configuration until a leader sends it
    expect(d.node!.status().role).toBe('follower');

    const asLearner = await lead.node!.addMember('d', 'learner', d.address);
    expect(asLearner.members).toContainEqual({ id: 'd', role: 'learner', ...d.address });
    // The leader no longer holds entry 2, so d can only catch up by InstallSnapshot.
    await eventually('d catches up', () => d.sm.get('k59') !== undefined);
    expect(d.sm.size()).toBe(60);
    expect(d.node!.status().members.map((m) => `${m.id}:${m.role}`)).toEqual(['a:voter', 'b:voter', 'c:voter', 'd:learner']);

    const promoted = await lead.node!.addMember('d', 'voter'); // addresses from what the leader knows
    expect(promoted.members.filter((m) => m.role === 'voter').map((m) => m.id)).toEqual(['a', 'b', 'c', 'd']);
    // Every member learned d's addresses from the change itself (b and c were started without them).
    for (const id of ['a', 'b', 'c', 'd']) {
      await eventually(`${id} applies the promotion`, () =>
        members
          .get(id)!
          .node!.status()
          .members.some((m) => m.id === 'd' && m.role === 'voter'),
      );
      expect(
        members
          .get(id)!
          .node!.status()
          .members.find((m) => m.id === 'd'),
      ).toEqual({ id: 'd', role: 'voter', ...d.address });
    }

    // Remove a follower other than d, then stop another: the leader and d are a majority of three only if d counts.
    const lead2 = await leader();
    const [removed, stopped] = ['a', 'b', 'c'].filter((id) => id !== lead2.id);
    await lead2.node!.removeMember(removed!);
    // The removed node hears that its removal committed: it applies it and does not campaign.
    const gone = members.get(removed!)!.node!;
    await eventually(`${removed} applies its own removal`, () => gone.status().members.length === 3 && gone.status().members.every((m) => m.id !== removed));
    expect(gone.status().role).toBe('follower');
    await eventually('the leader stops contacting the removed node', () => lead2.node!.transportStats()[removed!] === undefined, 3000);
    await gone.close();
    members.get(removed!)!.node = null;
    await members.get(stopped!)!.node!.close();
    members.get(stopped!)!.node = null;
    for (let i = 0; i < 40; i++) await put(`after-${i}`, `${i}`);
    await eventually('d applies what the two of them committed', () => d.sm.get('after-39') !== undefined);
    await eventually('the leader compacts past the promotion', () => lead2.node!.status().snapshotIndex > promoted.index);

    // Restart the leader with only the bootstrap addresses: d's address must come back from its snapshot, or nothing commits.
    const leadId = lead2.id;
    await lead2.node!.close();
    await start(leadId, bootstrap);
    expect(
      members
        .get(leadId)!
        .node!.status()
        .members.find((m) => m.id === 'd'),
    ).toEqual({ id: 'd', role: 'voter', ...d.address });
    await put('after-restart', 'yes');
    await eventually('d applies the write after the restart', () => d.sm.get('after-restart') !== undefined);
  });

  it('refuses bad membership requests with errors that name the problem, and promotes only a learner that caught up', async () => {
    const { members, bootstrap, start, leader } = await cluster();
    await Promise.all(['a', 'b', 'c'].map((id) => start(id, bootstrap)));
    const lead = await leader();
    await lead.node!.propose(encodePut('x', bytes('1')));
    const follower = [...members.values()].find((m) => m.node !== null && m !== lead)!;
    const d = members.get('d')!;

    await expect(follower.node!.addMember('d', 'learner', d.address)).rejects.toMatchObject({
      constructor: NotLeaderError,
      leaderId: lead.id,
      leaderAddress: lead.address.clientAddress,
    });
    // Without addresses too: the leader may know them, so a follower redirects rather than refusing.
    await expect(follower.node!.addMember('d', 'voter')).rejects.toBeInstanceOf(NotLeaderError);
    await expect(lead.node!.addMember('d', 'learner', { raftAddress: 'nowhere', clientAddress: d.address.clientAddress })).rejects.toThrow(
      /raft address of d must be host:port, got "nowhere"/,
    );
    await expect(lead.node!.addMember('d e', 'learner', d.address)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lead.node!.addMember('d', 'learner')).rejects.toThrow(/no address is known for d/);
    await expect(lead.node!.removeMember('zz')).rejects.toThrow(/zz is not a member/);
    await expect(lead.node!.addMember(follower.id, 'voter')).rejects.toThrow(new RegExp(`${follower.id} is already a voter`));
    // A joining node that knows no member could never answer the leader.
    await expect(
      RaftNode.start({ id: 'd', clusterId: 'members', dataDir: d.dir, peers: new Map([['d', d.address]]), stateMachine: new KvStateMachine(), join: true }),
    ).rejects.toThrow(/peers must name the cluster's members as well as this node \(d\) to join/);

    // d is added as a learner but not running: it cannot be promoted.
    await lead.node!.addMember('d', 'learner', d.address);
    await expect(lead.node!.addMember('d', 'voter')).rejects.toMatchObject({
      constructor: UnavailableError,
      message: expect.stringMatching(/learner d is not caught up \(it has acknowledged nothing yet\)/),
    });
    // Once it runs and catches up, it can.
    await start('d', new Map([...bootstrap, ['d', d.address]]), true);
    await eventually('d catches up', () => d.sm.get('x') !== undefined);
    // Without compaction d caught up from the log alone; it still knows the bootstrap voters (which are no entry of the log).
    expect(d.node!.status().members.map((m) => `${m.id}:${m.role}`)).toEqual(['a:voter', 'b:voter', 'c:voter', 'd:learner']);
    expect(lead.node!.status().snapshotIndex).toBe(BOOTSTRAP_INDEX);
    const promoted = await lead.node!.addMember('d', 'voter');
    expect(promoted.members.find((m) => m.id === 'd')?.role).toBe('voter');
    await eventually('d applies its promotion', () => d.node!.status().members.find((m) => m.id === 'd')?.role === 'voter');
    expect(d.node!.status().members.map((m) => `${m.id}:${m.role}`)).toEqual(['a:voter', 'b:voter', 'c:voter', 'd:voter']);
  });
});
