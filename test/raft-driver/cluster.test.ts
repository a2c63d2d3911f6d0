/**
 * Three real node processes on loopback (random free ports, temp dirs): a
 * leader is elected, proposals commit, kill -9 of the leader elects a new one,
 * no acknowledged write is lost, a follower answers NotLeader naming the
 * leader, and the killed node catches up after a restart. Then the raft:kv
 * command (kv-cli.ts) against the same processes, as a user would run it,
 * including membership changes with a fourth process started with --join.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../bench/lib/raft-cluster.ts';
import { NotLeaderError } from '../../src/errors/index.ts';
import { KvClient, KvClusterClient } from '../../src/raft/kv/kv-client.ts';

let cluster: ProcessCluster;
beforeAll(async () => {
  // 300-600 ms election timeout: other test files load the 2 CPUs meanwhile,
  // and leader churn would break the assertions that name the leader.
  cluster = await ProcessCluster.start({ size: 3, tick_ms: 10, electionTicks: 30, snapshotEvery_entries: 300 });
});
afterAll(async () => {
  await cluster?.close();
});

const value = (i: number): Uint8Array => new TextEncoder().encode(`value-${i}`);

describe('raft cluster of 3 processes', () => {
  it('elects a leader, commits, fails over on kill -9 without losing acknowledged writes', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const client = new KvClusterClient(cluster.clientAddresses());
    try {
      // Acknowledged writes: every put that resolved.
      const acknowledged = new Map<string, number>();
      const first = await Promise.all(Array.from({ length: 200 }, (_, i) => client.put(`k${i}`, value(i)).then((index) => acknowledged.set(`k${i}`, index))));
      expect(first.length).toBe(200);
      expect(new Set(acknowledged.values()).size).toBe(200); // distinct log indexes

      // A follower refuses writes with NotLeader naming the leader and its client address.
      const follower = cluster.nodes.find((n) => n.id !== leader)!;
      const direct = new KvClient(cluster.clientAddress(follower.id));
      const refused = await direct.put('direct', value(0)).then(
        () => null,
        (e: unknown) => e,
      );
      direct.close();
      expect(refused).toBeInstanceOf(NotLeaderError);
      expect((refused as NotLeaderError).leaderId).toBe(leader);
      expect((refused as NotLeaderError).leaderAddress).toBe(cluster.clientAddress(leader));

      // Keep writing while the leader is killed; writes that resolve are acknowledged.
      const during = Array.from({ length: 300 }, (_, i) =>
        client.put(`d${i}`, value(i)).then(
          (index) => acknowledged.set(`d${i}`, index),
          () => undefined,
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
      const killedAt = performance.now();
      await cluster.killNode(leader);
      const newLeader = await cluster.waitForLeader(5_000, leader);
      const failover_ms = performance.now() - killedAt;
      console.log(`leader ${leader} killed; ${newLeader} leads after ${failover_ms.toFixed(0)} ms`);
      expect(newLeader).not.toBe(leader);
      await Promise.all(during);

      // Every acknowledged write is readable (linearizable reads) from the new leader.
      for (const [key, _index] of acknowledged) {
        const i = Number(key.slice(1));
        expect(await client.get(key)).toEqual(value(i));
      }
      expect(acknowledged.size).toBeGreaterThanOrEqual(200);

      // More writes after failover commit (2 of 3 nodes up).
      await Promise.all(Array.from({ length: 50 }, (_, i) => client.put(`after${i}`, value(i))));

      // The killed node restarts from its disk and catches up (it may need a snapshot: snapshotEvery=300).
      await cluster.startNode(leader);
      const restarted = new KvClient(cluster.clientAddress(leader));
      const deadline = performance.now() + 10_000;
      let status: Record<string, unknown> = {};
      const leaderClient = new KvClient(cluster.clientAddress(newLeader));
      const target = Number((await leaderClient.status()).commit);
      leaderClient.close();
      for (;;) {
        status = await restarted.status();
        if (Number(status.applied) >= target || performance.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      restarted.close();
      console.log(`restarted ${leader}: applied ${String(status.applied)} of ${target}, snapshot at ${String(status.snapshotIndex)}`);
      expect(Number(status.applied)).toBeGreaterThanOrEqual(target);
      expect(status.leaderId).toBe(newLeader);
    } finally {
      client.close();
    }
  });

  it('applies a put retried under its session tag once, across snapshots and a leader change, and refuses a retry below the floor or of an unknown session', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const cluster_ = new KvClusterClient(cluster.clientAddresses());
    const onLeader = new KvClient(cluster.clientAddress(leader));
    try {
      const clientId = await onLeader.register();
      expect(clientId).toMatch(/^s\d+$/);
      const tag = { clientId, seq: 1, ackedBelow: 1 };
      const first = await onLeader.put('job-7', new TextEncoder().encode('queued'), tag);
      // Another client writes the key; then the first client's reply "was lost" and it retries.
      await cluster_.put('job-7', new TextEncoder().encode('taken by w2'));
      expect(await onLeader.put('job-7', new TextEncoder().encode('queued'), tag)).toBe(first);
      expect(new TextDecoder().decode(await cluster_.get('job-7'))).toBe('taken by w2');

      // Past two snapshots (one every 300 entries) and onto another leader: the table is replicated state.
      await Promise.all(Array.from({ length: 700 }, (_, i) => cluster_.put(`fill-${i}`, value(i))));
      const next = cluster.nodes.find((n) => n.id !== leader && n.child !== null)!.id;
      await cluster_.transferLeadership(next);
      const onNext = new KvClient(cluster.clientAddress(next));
      try {
        expect(await onNext.put('job-7', new TextEncoder().encode('queued'), tag)).toBe(first);
        expect(new TextDecoder().decode(await cluster_.get('job-7'))).toBe('taken by w2');
        const status = await onNext.status();
        expect(Number(status.snapshotIndex)).toBeGreaterThan(first);
        expect((status.sessions as { duplicates: number }).duplicates).toBeGreaterThanOrEqual(1);

        // The client moves on (request 2 says 1 was answered); a stray copy of 1 is refused, not applied.
        await onNext.put('job-8', new TextEncoder().encode('queued'), { clientId, seq: 2, ackedBelow: 2 });
        await expect(onNext.put('job-7', new TextEncoder().encode('queued'), tag)).rejects.toThrow(
          new RegExp(
            `put of "job-7" is request 1 of client ${clientId}, below the oldest request whose result the cluster keeps for it: it was not applied now`,
          ),
        );
        // A session the cluster never opened (or forgot) is refused, never taken as new.
        await expect(onNext.put('job-7', new TextEncoder().encode('stolen'), { clientId: 's999999999', seq: 1, ackedBelow: 1 })).rejects.toMatchObject({
          code: 'NOT_FOUND',
          message: expect.stringMatching(
            /client session s999999999 is unknown to the cluster \(never opened, or forgotten to make room for newer sessions\): it was not applied/,
          ),
        });
        expect(new TextDecoder().decode(await cluster_.get('job-7'))).toBe('taken by w2');
      } finally {
        onNext.close();
      }
    } finally {
      onLeader.close();
      cluster_.close();
    }
  });

  it('raft:kv puts through a follower, reads back, and reports every node', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    // The follower first: the command must follow its redirect.
    const addresses = [cluster.clientAddress(follower), ...cluster.clientAddresses().filter((a) => a !== cluster.clientAddress(follower))].join(',');
    const put = await kvCli('--cluster', addresses, 'put', 'greeting', 'hello raft');
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(new RegExp(`^ok: applied at index \\d+ by the leader at ${cluster.clientAddress(leader)}\n$`));
    const get = await kvCli('--cluster', addresses, 'get', 'greeting');
    expect(get).toMatchObject({ code: 0, stdout: 'hello raft\n' });
    const missing = await kvCli('--cluster', addresses, 'get', 'never-set');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('NOT_FOUND: key "never-set" is not set');
    const status = await kvCli('--cluster', addresses, 'status');
    expect(status.code).toBe(0);
    const lines = status.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { status: Record<string, unknown> });
    expect(lines.map((line) => line.status.leaderId)).toEqual([leader, leader, leader]);
    const bad = await kvCli('--cluster', 'no-port', 'status');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cluster: "no-port" is not host:port');
  });

  it('raft:kv adds a node started with --join as a learner, promotes it once caught up, and removes a member', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const everyone = cluster.clientAddresses().join(',');
    const joiner = await cluster.startJoiningNode('n4');
    const raft = `127.0.0.1:${joiner.raftPort}`;
    const client = `127.0.0.1:${joiner.clientPort}`;

    const unknown = await kvCli('--cluster', everyone, 'add-voter', 'n4');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('INVALID_ARGUMENT: no address is known for n4: give its raft and client addresses');
    const learner = await kvCli('--cluster', everyone, 'add-learner', 'n4', raft, client);
    expect(learner.code).toBe(0);
    expect(learner.stdout).toMatch(/^ok: add-learner n4 applied at index \d+ by the leader at /);
    expect(learner.stdout).toContain(`  n4 learner raft ${raft} client ${client}\n`);
    // A read through the new node: it has the log (greeting was written by the previous test).
    expect(await kvCli('--cluster', client, 'get', 'greeting')).toMatchObject({ code: 0, stdout: 'hello raft\n' });
    const voter = await kvCli('--cluster', everyone, 'add-voter', 'n4');
    expect(voter.code).toBe(0);
    expect(voter.stdout).toContain(`  n4 voter raft ${raft} client ${client}\n`);
    const view = await kvCli('--cluster', client, 'members');
    expect(view.code).toBe(0);
    expect(view.stdout.split('\n').filter((line) => line.includes(' voter ')).length).toBe(4);

    // Remove a follower: it applies its own removal (and so never campaigns), then can be stopped.
    const removed = cluster.nodes.find((n) => n.id !== leader && n.id !== 'n4' && n.child !== null)!;
    const removal = await kvCli('--cluster', `${client},${everyone}`, 'remove', removed.id);
    expect(removal.code).toBe(0);
    expect(removal.stdout).not.toContain(` ${removed.id} voter `);
    const deadline = Date.now() + 5000;
    const appliedOwnRemoval = () => removed.events.some((e) => e.event === 'membership-change' && e.type === 'remove-node' && e.nodeId === removed.id);
    while (!appliedOwnRemoval() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(appliedOwnRemoval()).toBe(true);
    await cluster.stopNode(removed.id);
    const put = await kvCli('--cluster', client, 'put', 'after-removal', 'yes');
    expect(put.code).toBe(0);
    const notMember = await kvCli('--cluster', everyone, 'remove', removed.id);
    expect(notMember.code).toBe(2);
    expect(notMember.stderr).toContain(`${removed.id} is not a member`);
  });

  it('raft:kv transfer-leader hands leadership to a voter and returns once it leads', async () => {
    const leader = await cluster.waitForLeader(10_000);
    const running = cluster.nodes.filter((n) => n.child !== null);
    const everyone = running.map((n) => cluster.clientAddress(n.id)).join(',');
    const target = running.find((n) => n.id !== leader)!;
    const moved = await kvCli('--cluster', everyone, 'transfer-leader', target.id);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toMatch(new RegExp(`^ok: ${target.id} leads \\(term \\d+, client address ${cluster.clientAddress(target.id)}\\)\n$`));
    const status = await kvCli('--cluster', cluster.clientAddress(target.id), 'status');
    expect(JSON.parse(status.stdout) as { status: { role: string } }).toMatchObject({ status: { role: 'leader' } });
    const stranger = await kvCli('--cluster', everyone, 'transfer-leader', 'nobody');
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toContain('cannot transfer leadership to nobody: it is not a voter');
  });
});

const KV_CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/raft/kv/kv-cli.ts');

function kvCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', KV_CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}
