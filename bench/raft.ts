/**
 * Raft driver benchmark (npm run bench:raft): three real node processes on
 * loopback, fdatasync on every persist.
 *   (a) commits/s with a window of concurrent puts, against a window-1 baseline
 *       run in the same command (the ratio is the batching gain);
 *   (b) p50/p99 commit latency at a fixed offered rate (default 1,000/s);
 *   (c) time from kill -9 of the leader to a new leader being reported, over
 *       N trials, restarting the killed node between trials.
 * Also reports CPU per commit of each process during (b) (Linux: /proc), and
 * first, as the baseline for (b), the floor: the same load on three plain
 * processes that only do a commit's unavoidable work (lib/raft-floor.ts),
 * once over raw TCP and once over grpc-js streams; --floor-wires picks them,
 * --skip-floor leaves the floor out.
 * Writes bench/results/raft-<host>.json and .md.
 *
 * Flags: npm run bench:raft -- --help
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KvClient, KvClusterClient } from '../src/raft/kv/kv-client.ts';
import { BenchCli } from './lib/cli.ts';
import { writeResults } from './lib/results.ts';
import { ProcessCluster, type ClusterNode, type NodeEvent } from './lib/raft-cluster.ts';
import { processCpu_ms } from './lib/proc-cpu.ts';
import { startFloorPipeline } from './lib/raft-floor.ts';
import { FLOOR_WIRES, type FloorWire } from './lib/raft-floor-links.ts';
import { closedLoop, openLoop, percentile, summarizeLatencies, type LatencyResult, type ThroughputResult } from './lib/raft-load.ts';

const cli = new BenchCli(
  'bench:raft',
  `usage: npm run bench:raft -- [flags]

Three Raft node processes on loopback with fdatasync on; writes
bench/results/raft-<host>[-<tag>].json and .md.

  --throughput-s S      length of each throughput run (default 5)
  --window N            concurrent puts of the batched run (default 2000)
  --rate R              offered puts/s of the latency runs (default 1000)
  --latency-s S         length of each latency run (default 5)
  --latency-repeats N   latency runs, pooled (default 3)
  --settle-ms MS        pause between phases (default 1000)
  --trials N            kill -9 leader trials; 0 skips failover (default 20)
  --tick-ms MS          the nodes' tick (default 10)
  --election-ticks N    election timeout in ticks (default 10)
  --snapshot-every N    entries between snapshots (default 50000)
  --floor-wires LIST    the floor baselines (b0) to run, of tcp and grpc
                        (default tcp,grpc)
  --skip-floor          leave out the floor baselines (b0)
  --tag NAME            write raft-<host>-<NAME>.* instead
  --help                this text`,
  {
    'throughput-s': { type: 'string' },
    window: { type: 'string' },
    rate: { type: 'string' },
    'latency-s': { type: 'string' },
    'latency-repeats': { type: 'string' },
    'settle-ms': { type: 'string' },
    trials: { type: 'string' },
    'tick-ms': { type: 'string' },
    'election-ticks': { type: 'string' },
    'snapshot-every': { type: 'string' },
    'floor-wires': { type: 'string' },
    'skip-floor': { type: 'boolean' },
    tag: { type: 'string' },
  },
);
const throughput_s = cli.number('throughput-s', 5);
const window = cli.int('window', 2000, 1);
const rate = cli.number('rate', 1000);
const latency_s = cli.number('latency-s', 5);
const latencyRepeats = cli.int('latency-repeats', 3, 1);
const settle_ms = cli.int('settle-ms', 1000, 0);
const trials = cli.int('trials', 20, 0);
const tick_ms = cli.int('tick-ms', 10, 1);
const electionTicks = cli.int('election-ticks', 10, 2);
// The node's own default: snapshots are part of steady traffic, so (b) measures them.
const snapshotEvery = cli.int('snapshot-every', 50_000, 1);
const floorWires = cli.boolean('skip-floor') ? [] : parseFloorWires(cli.string('floor-wires') ?? 'tcp,grpc');
const tag = cli.string('tag');
if (tag !== undefined && !/^[A-Za-z0-9._-]+$/.test(tag))
  cli.fail(`--tag ${JSON.stringify(tag)}: use letters, digits, '.', '_' and '-' (it becomes part of a file name)`);

function parseFloorWires(list: string): FloorWire[] {
  const wires = list.split(',').filter((w) => w.length > 0);
  for (const wire of wires)
    if (!FLOOR_WIRES.includes(wire as FloorWire)) cli.fail(`--floor-wires: unknown wire ${JSON.stringify(wire)} (use ${FLOOR_WIRES.join(', ')})`);
  if (wires.length === 0) cli.fail('--floor-wires: name at least one wire, or use --skip-floor');
  return [...new Set(wires)] as FloorWire[];
}

const FLOOR_WIRE_LABEL: Record<FloorWire, string> = {
  tcp: 'raw TCP + O_DSYNC on 3 processes, no Raft or gRPC',
  grpc: 'grpc-js streams + O_DSYNC on 3 processes, no Raft',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitCaughtUp(cluster: ProcessCluster, id: string, leader: string, timeout_ms: number): Promise<void> {
  const node = new KvClient(cluster.clientAddress(id));
  const lead = new KvClient(cluster.clientAddress(leader));
  try {
    const target = Number((await lead.status()).commit);
    const deadline = performance.now() + timeout_ms;
    while (performance.now() < deadline) {
      const status = await node.status().catch(() => ({}) as Record<string, unknown>);
      if (Number(status.applied) >= target && status.leaderId === leader) return;
      await sleep(20);
    }
    throw new Error(`node ${id} did not catch up with ${leader} within ${timeout_ms} ms`);
  } finally {
    node.close();
    lead.close();
  }
}

/** With RAFT_TRACE_DIR set (diagnostics), the open loop's per-put times go to <dir>/client.trace.jsonl. */
function writeClientTrace(trace: readonly number[]): void {
  const dir = process.env.RAFT_TRACE_DIR;
  if (dir === undefined || dir.length === 0) return;
  fs.mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < trace.length; i += 4) lines.push(JSON.stringify(trace.slice(i, i + 4)));
  fs.writeFileSync(path.join(dir, 'client.trace.jsonl'), `${lines.join('\n')}\n`);
}

/** A node that died during the load phases is a bug: show why (its last stderr lines). */
function reportDeadNodes(cluster: ProcessCluster): void {
  for (const node of cluster.nodes) {
    if (node.child !== null) continue;
    console.error(`    node ${node.id} exited during the load phases; its last stderr:\n${node.stderr.slice(-4000)}`);
  }
}

/** CPU ms so far of each node process (by id) and of this process (the load generator, key 'client'). */
function cpuSample(cluster: ProcessCluster): Map<string, number> {
  const sample = new Map<string, number>();
  for (const node of cluster.nodes) {
    const pid = node.child?.pid;
    const cpu_ms = pid === undefined ? null : processCpu_ms(pid);
    if (cpu_ms !== null) sample.set(node.id, cpu_ms);
  }
  const own = process.cpuUsage();
  sample.set('client', (own.user + own.system) / 1000);
  return sample;
}

/** Where the CPU of (b) went, per commit: which process is the bottleneck on a small host. */
function cpuPerCommit(
  cluster: ProcessCluster,
  before: Map<string, number>,
  after: Map<string, number>,
  commits: number,
  leader: string | null,
): { perProcess_us: Record<string, number>; summary: string } | null {
  if (commits === 0 || before.size <= 1) return null;
  const perProcess_us: Record<string, number> = {};
  const parts: string[] = [];
  for (const id of [...cluster.nodes.map((n) => n.id), 'client']) {
    const a = before.get(id);
    const z = after.get(id);
    if (a === undefined || z === undefined) continue;
    const us = ((z - a) * 1000) / commits;
    perProcess_us[id] = us;
    parts.push(`${id === leader ? `${id} (leader)` : id} ${us.toFixed(0)}`);
  }
  return { perProcess_us, summary: `${parts.join(', ')} us` };
}

interface FloorResult {
  readonly wire: FloorWire;
  readonly latency: LatencyResult;
  readonly runs: LatencyResult[];
  readonly cpu_us_per_commit: { leader: number; followers: number[]; client: number } | null;
}

/** (b) on the floor pipeline: same rate, runs and warm-up, same generator. */
async function measureFloor(wire: FloorWire): Promise<FloorResult> {
  const pipeline = await startFloorPipeline(wire);
  try {
    await openLoop(pipeline, rate, 1, 'fw-');
    const cpuBefore = pipeline.cpu_ms();
    const clientBefore = process.cpuUsage();
    const pooled_ms: number[] = [];
    const runs: LatencyResult[] = [];
    for (let run = 0; run < latencyRepeats; run++) {
      const result = await openLoop(pipeline, rate, latency_s, `f${run}-`, undefined, pooled_ms);
      runs.push(result);
      console.log(
        `    ${wire} floor run ${run}: p50 ${result.p50_ms.toFixed(2)} ms, p90 ${result.p90_ms.toFixed(2)} ms, p99 ${result.p99_ms.toFixed(2)} ms, max ${result.max_ms.toFixed(2)} ms`,
      );
    }
    const cpuAfter = pipeline.cpu_ms();
    const client = process.cpuUsage(clientBefore);
    const latency = summarizeLatencies(
      pooled_ms,
      rate,
      runs.reduce((sum, r) => sum + r.duration_s, 0),
      runs.reduce((sum, r) => sum + r.errors, 0),
    );
    const commits = latency.samples;
    const cpu_us_per_commit =
      cpuBefore === null || cpuAfter === null || commits === 0
        ? null
        : {
            leader: ((cpuAfter.leader - cpuBefore.leader) * 1000) / commits,
            followers: cpuAfter.followers.map((f, i) => ((f - cpuBefore.followers[i]!) * 1000) / commits),
            client: (client.user + client.system) / commits,
          };
    return { wire, latency, runs, cpu_us_per_commit };
  } finally {
    await pipeline.close();
  }
}

interface FailoverTrial {
  readonly trial: number;
  readonly killed: string;
  readonly newLeader: string;
  readonly failover_ms: number;
}

async function failoverTrial(cluster: ProcessCluster, trial: number): Promise<FailoverTrial> {
  const leader = await cluster.waitForLeader(10_000);
  let reported: { id: string; at_ms: number } | null = null;
  const stop = cluster.onEvent((node: ClusterNode, event: NodeEvent) => {
    if (reported !== null || event.event !== 'leader-change') return;
    const leaderId = event.leaderId;
    if (typeof leaderId === 'string' && leaderId !== leader && node.id !== leader) reported = { id: leaderId, at_ms: event.at_ms };
  });
  const killed_ms = performance.now();
  await cluster.killNode(leader);
  const deadline = killed_ms + 10_000;
  while (reported === null && performance.now() < deadline) await sleep(2);
  stop();
  if (reported === null) throw new Error(`trial ${trial}: no new leader within 10 s of killing ${leader}`);
  const found = reported as { id: string; at_ms: number };
  await cluster.startNode(leader);
  await waitCaughtUp(cluster, leader, found.id, 15_000);
  return { trial, killed: leader, newLeader: found.id, failover_ms: found.at_ms - killed_ms };
}

function formatMarkdown(
  report: Record<string, unknown>,
  a0: ThroughputResult,
  a: ThroughputResult,
  b: LatencyResult,
  bRuns: readonly LatencyResult[],
  c: FailoverTrial[],
  failover: Record<string, number>,
  floors: readonly FloorResult[],
): string {
  const floorRows = floors.flatMap((floor) => [
    `| ${floor.wire} floor at ${b.offered_per_s}/s (${FLOOR_WIRE_LABEL[floor.wire]}), ${floor.runs.length} runs pooled: p50 / p90 / p99 / max | ${floor.latency.p50_ms.toFixed(2)} / ${floor.latency.p90_ms.toFixed(2)} / ${floor.latency.p99_ms.toFixed(2)} / ${floor.latency.max_ms.toFixed(2)} ms (p99 of each run ${floor.runs.map((r) => r.p99_ms.toFixed(2)).join(' / ')}) | |`,
    `| (b) over the ${floor.wire} floor: p50 / p99 | ${(b.p50_ms / floor.latency.p50_ms).toFixed(2)}x / ${(b.p99_ms / floor.latency.p99_ms).toFixed(2)}x | |`,
    ...(floor.cpu_us_per_commit === null
      ? []
      : [
          `| ${floor.wire} floor CPU per commit | leader ${floor.cpu_us_per_commit.leader.toFixed(0)}, followers ${floor.cpu_us_per_commit.followers.map((x) => x.toFixed(0)).join(' / ')}, client ${floor.cpu_us_per_commit.client.toFixed(0)} us | |`,
        ]),
  ]);
  const latency = report.latency as { loadavg_start: string; loadavg_end: string; cpu_summary: string | null };
  const batchedCpu = (report.throughput as { batched_cpu_summary: string | null }).batched_cpu_summary;
  const lines = [
    `# Raft driver benchmark (${String(report.host)})`,
    '',
    `${String(report.date)}; node ${process.version}; ${os.cpus().length} CPUs; load average (1/5/15 min) at start ${String(report.loadavg_start)}, at the start of (b) ${latency.loadavg_start}, at its end ${latency.loadavg_end}, at the end ${String(report.loadavg_end)}; niceness ${String(report.niceness)}; 3 node processes on loopback, fdatasync on; tick ${tick_ms} ms, election ${electionTicks} ticks, a snapshot every ${snapshotEvery} entries.`,
    '',
    `Command: \`${String(report.command)}\``,
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| commits/s, window 1 (baseline) | ${a0.commits_per_s.toFixed(0)} | |`,
    `| commits/s, window ${a.window} (batched) | ${a.commits_per_s.toFixed(0)} (${(a.commits_per_s / a0.commits_per_s).toFixed(1)}x baseline) | >= 10,000 |`,
    ...(batchedCpu === null ? [] : [`| CPU per commit, batched (user + system, all threads) | ${batchedCpu} | |`]),
    `| commit latency at ${b.offered_per_s}/s offered, ${bRuns.length} runs pooled: p50 / p90 / p99 / max | ${b.p50_ms.toFixed(2)} / ${b.p90_ms.toFixed(2)} / ${b.p99_ms.toFixed(2)} / ${b.max_ms.toFixed(2)} ms (achieved ${b.achieved_per_s.toFixed(0)}/s, ${b.errors} errors) | p99 <= 10 ms |`,
    `| p99 of each latency run | ${bRuns.map((r) => r.p99_ms.toFixed(2)).join(' / ')} ms | |`,
    ...(latency.cpu_summary !== null ? [`| CPU per commit during (b) (user + system, all threads) | ${latency.cpu_summary} | |`] : []),
    ...floorRows,
    c.length === 0
      ? '| kill -9 leader -> new leader reported | not run (--trials 0) | median <= 1000, max <= 2000 |'
      : `| kill -9 leader -> new leader reported (${c.length} trials): median / p90 / max | ${failover.median_ms!.toFixed(0)} / ${failover.p90_ms!.toFixed(0)} / ${failover.max_ms!.toFixed(0)} ms | median <= 1000, max <= 2000 |`,
    '',
    `Leader-change events naming a new leader or term during (a) and (b): ${String(report.leaderChangeEventsDuringLoad)}, of them during (b): ${String(report.leaderChangeEventsDuringLatency)} (0 means no election disturbed the load phases).`,
    '',
    `Latency method: open loop at ${b.offered_per_s}/s, each put's latency measured from its scheduled send time (a stalled client or cluster is charged to every put it delays: no coordinated omission). (b) begins ${String((report.latency as { settle_ms: number }).settle_ms)} ms after (a) ends and after 1 s of unmeasured traffic at the same rate, so it measures steady traffic, not the digestion of (a)'s 2,000-deep backlog.`,
    '',
    `Failover trials (ms): ${c.map((t) => t.failover_ms.toFixed(0)).join(', ')}`,
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const host = os.hostname();
  const loadavg_start = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  console.log(`raft bench on ${host}: ${os.cpus().length} CPUs, load average ${loadavg_start}`);
  const floors: FloorResult[] = [];
  for (const wire of floorWires) {
    console.log(`(b0) ${wire} floor at ${rate}/s offered (${FLOOR_WIRE_LABEL[wire]}): ${latencyRepeats} runs of ${latency_s} s after 1 s warm-up`);
    const floor = await measureFloor(wire);
    floors.push(floor);
    const f = floor.latency;
    const cpu = floor.cpu_us_per_commit;
    console.log(
      `    ${wire} floor pooled: p50 ${f.p50_ms.toFixed(2)} ms, p99 ${f.p99_ms.toFixed(2)} ms, max ${f.max_ms.toFixed(2)} ms${cpu === null ? '' : `; CPU per commit leader ${cpu.leader.toFixed(0)}, followers ${cpu.followers.map((x) => x.toFixed(0)).join('/')}, client ${cpu.client.toFixed(0)} us`}`,
    );
  }
  const cluster = await ProcessCluster.start({ size: 3, tick_ms, electionTicks, snapshotEvery_entries: snapshotEvery });
  try {
    const leader = await cluster.waitForLeader(10_000);
    // Follows NotLeader redirects, so an election under load costs retries, not failures.
    const client = new KvClusterClient([cluster.clientAddress(leader), ...cluster.clientAddresses().filter((a) => a !== cluster.clientAddress(leader))]);
    // Elections during the load phases: a leader-change event naming another
    // leader or a later term than the first leader's. The other nodes'
    // reports of that first leader may arrive after waitForLeader and are not
    // elections (they made the count read 2 in every run). The term comes
    // from whichever report waitForLeader saw: the leader's own can be the
    // late one (it reports after its first fdatasync), which made the count
    // read 2 again.
    const leaderTerm = Math.max(
      0,
      ...cluster.nodes
        .flatMap((n) => n.events)
        .filter((e) => e.event === 'leader-change' && e.leaderId === leader)
        .map((e) => Number(e.term)),
    );
    let leaderChanges = 0;
    const stopCounting = cluster.onEvent((_node, event) => {
      if (event.event !== 'leader-change') return;
      if (event.leaderId !== leader || Number(event.term) !== leaderTerm) leaderChanges++;
    });
    await closedLoop(client, 100, 1, 'warm-'); // warm up JIT and connections

    console.log('(a) throughput: window 1 baseline, then batched');
    const a0 = await closedLoop(client, 1, Math.min(throughput_s, 3), 'a0-');
    console.log(`    window 1: ${a0.commits_per_s.toFixed(0)} commits/s`);
    const cpuBeforeA = cpuSample(cluster);
    const a = await closedLoop(client, window, throughput_s, 'a-');
    const cpuA = cpuPerCommit(cluster, cpuBeforeA, cpuSample(cluster), a.commits, cluster.currentLeader());
    console.log(
      `    window ${window}: ${a.commits_per_s.toFixed(0)} commits/s (${(a.commits_per_s / a0.commits_per_s).toFixed(1)}x), ${a.errors} errors${cpuA === null ? '' : `; CPU per commit ${cpuA.summary}`}`,
    );

    // (b) starts after a settle pause and an unmeasured second at the offered
    // rate, so that it measures steady 1,000/s traffic rather than the nodes
    // digesting (a)'s backlog and garbage; then `latencyRepeats` measured runs.
    console.log(`(b) latency at ${rate}/s offered: ${latencyRepeats} runs of ${latency_s} s after ${settle_ms} ms settle + 1 s unmeasured warm-up`);
    await sleep(settle_ms);
    await openLoop(client, rate, 1, 'bw-');
    const leaderChangesBeforeB = leaderChanges;
    const cpuBefore = cpuSample(cluster);
    // The leader may have changed since start-up (an election during (a)); label the one serving (b).
    const leaderDuringB = cluster.currentLeader();
    const loadavg_b_start = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    const clientTrace: number[] = [];
    const pooled_ms: number[] = [];
    const bRuns: LatencyResult[] = [];
    for (let run = 0; run < latencyRepeats; run++) {
      const result = await openLoop(client, rate, latency_s, `b${run}-`, clientTrace, pooled_ms);
      bRuns.push(result);
      console.log(
        `    run ${run}: p50 ${result.p50_ms.toFixed(2)} ms, p90 ${result.p90_ms.toFixed(2)} ms, p99 ${result.p99_ms.toFixed(2)} ms, max ${result.max_ms.toFixed(2)} ms (${result.samples} samples, ${result.errors} errors)`,
      );
    }
    const b = summarizeLatencies(
      pooled_ms,
      rate,
      bRuns.reduce((sum, r) => sum + r.duration_s, 0),
      bRuns.reduce((sum, r) => sum + r.errors, 0),
    );
    const loadavg_b_end = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    const cpu = cpuPerCommit(cluster, cpuBefore, cpuSample(cluster), b.samples, leaderDuringB);
    if (cpu !== null) console.log(`    CPU per commit during (b): ${cpu.summary}`);
    const leaderChangesDuringB = leaderChanges - leaderChangesBeforeB;
    writeClientTrace(clientTrace);
    console.log(
      `    pooled: p50 ${b.p50_ms.toFixed(2)} ms, p90 ${b.p90_ms.toFixed(2)} ms, p99 ${b.p99_ms.toFixed(2)} ms, max ${b.max_ms.toFixed(2)} ms (${b.samples} samples, ${b.errors} errors); load ${loadavg_b_start} -> ${loadavg_b_end}`,
    );
    client.close();
    stopCounting();
    reportDeadNodes(cluster);
    if (leaderChanges > 0)
      console.log(`    note: ${leaderChanges} leader-change events (elections) during (a) and (b), ${leaderChangesDuringB} of them during (b)`);

    console.log(`(c) failover: ${trials} trials of kill -9 of the leader`);
    const c: FailoverTrial[] = [];
    for (let t = 0; t < trials; t++) {
      const result = await failoverTrial(cluster, t);
      c.push(result);
      console.log(`    trial ${t}: killed ${result.killed}, ${result.newLeader} reported leader after ${result.failover_ms.toFixed(0)} ms`);
    }
    const sorted = c.map((t) => t.failover_ms).sort((x, y) => x - y);
    const failover = {
      median_ms: percentile(sorted, 50),
      p90_ms: percentile(sorted, 90),
      max_ms: sorted[sorted.length - 1] ?? Number.NaN,
      min_ms: sorted[0] ?? Number.NaN,
    };

    const report = {
      host,
      date: new Date().toISOString(),
      command: `npm run bench:raft -- ${process.argv.slice(2).join(' ')}`.trim(),
      node: process.version,
      cpus: os.cpus().length,
      loadavg_start,
      loadavg_end: os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' '),
      config: {
        tick_ms,
        electionTicks,
        snapshotEvery,
        window,
        rate,
        throughput_s,
        latency_s,
        latencyRepeats,
        settle_ms,
        trials,
        fsync: 'fdatasync per persist',
      },
      niceness: os.getPriority(),
      leaderChangeEventsDuringLoad: leaderChanges,
      leaderChangeEventsDuringLatency: leaderChangesDuringB,
      throughput: {
        baseline: a0,
        batched: a,
        ratio: a.commits_per_s / a0.commits_per_s,
        batched_cpu_us_per_commit: cpuA?.perProcess_us ?? null,
        batched_cpu_summary: cpuA?.summary ?? null,
      },
      latency: {
        ...b,
        runs: bRuns,
        loadavg_start: loadavg_b_start,
        loadavg_end: loadavg_b_end,
        settle_ms,
        warmup_s: 1,
        cpu_us_per_commit: cpu?.perProcess_us ?? null,
        cpu_summary: cpu?.summary ?? null,
      },
      failover: { ...failover, trials: c },
      // One entry per wire; `floor` stays the raw TCP one, as in earlier results.
      floors: Object.fromEntries(floors.map((f) => [f.wire, { ...f.latency, runs: f.runs, cpu_us_per_commit: f.cpu_us_per_commit }])),
      floor: ((f) => (f === undefined ? null : { ...f.latency, runs: f.runs, cpu_us_per_commit: f.cpu_us_per_commit }))(floors.find((f) => f.wire === 'tcp')),
    };
    const markdown = formatMarkdown(report, a0, a, b, bRuns, c, failover, floors);
    console.log(`\n${markdown}`);
    const safeHost = `${host}${tag !== undefined ? `-${tag}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const written = writeResults(`raft-${safeHost}`, { json: `${JSON.stringify(report, null, 2)}\n`, md: markdown });
    console.log(`wrote ${written.join(', ')}`);
  } finally {
    await cluster.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
