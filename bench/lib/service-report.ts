/**
 * The service bench's report: one JSON object (everything measured, with the
 * machine it ran on) and its Markdown rendering, with the cluster's figures
 * beside the floor's from the same run and their ratios.
 */
import type { FailoverTrial } from './service-failover.ts';
import type { ProfileSummary } from './service-profile.ts';
import type { CapacityResult, Distribution } from './service-load.ts';
import type { OverheadResult, RateProbe, ThroughputPhase } from './service-phases.ts';
import { SEGMENTS, type Segment } from './service-timeline.ts';
import { percentile } from './raft-load.ts';

export interface MachineInfo {
  readonly host: string;
  readonly cpu_model: string;
  readonly cores: number;
  readonly memory_bytes: number;
  readonly node: string;
  readonly platform: string;
  readonly niceness: number;
  readonly loadavg_start: string;
  loadavg_end: string;
}

export interface SystemReport {
  /** CPU ms per second of each process at idle (workers connected, no jobs). */
  readonly idle_cpu_ms_per_s: Record<string, number> | null;
  readonly capacity: CapacityResult | null;
  readonly overhead: OverheadResult | null;
  /** (a)'s best level. */
  readonly throughput: ThroughputPhase | null;
  /** (a) at each concurrency level, lowest first. */
  readonly throughputLevels: ThroughputPhase[];
  /** (a) through SubmitJobs, many jobs per call; null when skipped. */
  readonly throughputBatched: ThroughputPhase | null;
}

export interface FloorReport extends SystemReport {
  /** The floor's verifications (snarkjs in the crypto process), ms each. */
  readonly verify: Distribution | null;
}

export interface FailoverSummary {
  readonly trials: FailoverTrial[];
  readonly finished: { readonly median_ms: number; readonly p90_ms: number; readonly max_ms: number };
  readonly election: { readonly median_ms: number; readonly max_ms: number };
  readonly workerDone: { readonly median_ms: number; readonly max_ms: number };
  readonly recorded: { readonly median_ms: number; readonly max_ms: number };
}

export interface Target {
  readonly measure: string;
  readonly target: string;
  readonly value: string;
  readonly met: boolean | null;
}

export interface ServiceBenchReport {
  readonly bench: 'service';
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly settings: Record<string, unknown>;
  readonly rate: {
    readonly target_per_s: number;
    readonly measured_per_s: number;
    readonly reached: boolean;
    readonly why: string;
    /** The cluster's closed-loop capacity, jobs/s. */
    readonly capacity_per_s: number;
    /** The probes that chose the rate (empty when the asked rate was sustainable or --quick). */
    readonly probes: RateProbe[];
  };
  readonly cluster: SystemReport & { readonly failover: FailoverSummary | null };
  readonly floor: FloorReport | null;
  readonly ratios: Record<string, number | null>;
  readonly targets: Target[];
  readonly notes: string[];
  /** With --cpu-prof: each process's main thread over its whole life. */
  readonly profiles: LabelledProfile[] | null;
}

export interface LabelledProfile {
  readonly label: string;
  readonly summary: ProfileSummary;
}

export function summarizeFailover(trials: FailoverTrial[]): FailoverSummary {
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const finished = sorted(trials.map((t) => t.finished_ms));
  const election = sorted(trials.flatMap((t) => (t.election_ms === null ? [] : [t.election_ms])));
  const workerDone = sorted(trials.flatMap((t) => (t.workerDone_ms === null ? [] : [t.workerDone_ms])));
  const recorded = sorted(trials.flatMap((t) => (t.recorded_ms === null ? [] : [t.recorded_ms])));
  return {
    workerDone: { median_ms: percentile(workerDone, 50), max_ms: workerDone.at(-1) ?? Number.NaN },
    recorded: { median_ms: percentile(recorded, 50), max_ms: recorded.at(-1) ?? Number.NaN },
    trials,
    finished: { median_ms: percentile(finished, 50), p90_ms: percentile(finished, 90), max_ms: finished.at(-1) ?? Number.NaN },
    election: { median_ms: percentile(election, 50), max_ms: election.at(-1) ?? Number.NaN },
  };
}

export function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

const n0 = (x: number | undefined | null): string => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toFixed(0));
const n1 = (x: number | undefined | null): string => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toFixed(1));
const times = (x: number | null | undefined): string => (x === undefined || x === null ? '-' : `${x.toFixed(2)}x`);

function dist(d: Distribution | undefined): string {
  return d === undefined || d.samples === 0 ? '-' : `${n1(d.p50_ms)} / ${n1(d.p99_ms)} / ${n1(d.max_ms)}`;
}

const SEGMENT_LABEL: Record<Segment, string> = {
  submit: 'submit: scheduled send -> submit proposed',
  to_worker: 'to worker: proposed -> worker has the assignment',
  worker_outside_prove: 'worker, outside prove_ms',
  verify_and_record: 'worker done -> completion proposed (Complete call + verify)',
  notify: 'completion proposed -> client sees it (commit + watch)',
};

function cpuRows(cluster: Record<string, number> | undefined, floor: Record<string, number> | undefined): string[] {
  const rows: string[] = [];
  const labels = [...new Set([...Object.keys(cluster ?? {}), ...Object.keys(floor ?? {})])];
  for (const label of labels) rows.push(`| ${label} | ${n1(cluster?.[label])} | ${n1(floor?.[label])} |`);
  const sum = (r: Record<string, number> | undefined) => (r === undefined ? undefined : Object.values(r).reduce((s, v) => s + v, 0));
  rows.push(`| **all processes** | ${n1(sum(cluster))} | ${n1(sum(floor))} |`);
  return rows;
}

export function formatMarkdown(report: ServiceBenchReport): string {
  const { machine, cluster, floor } = report;
  const b = cluster.overhead;
  const fb = floor?.overhead ?? null;
  const a = cluster.throughput;
  const fa = floor?.throughput ?? null;
  const failover = cluster.failover;
  const lines: string[] = [
    `# Proving service benchmark (${machine.host})`,
    '',
    `${report.date}; ${machine.cpu_model}, ${machine.cores} cores, ${(machine.memory_bytes / 2 ** 30).toFixed(1)} GiB; node ${machine.node}; load average (1/5/15 min) at start ${machine.loadavg_start}, at the end ${machine.loadavg_end}; niceness ${machine.niceness}.`,
    `Cluster: embedded database + ${String(report.settings.coordinators)} coordinators + ${String(report.settings.workers)} workers (\`zkp coordinator\` / \`zkp worker\`, backends ${String(report.settings.workerBackends)}), separate processes on loopback, Raft fdatasync on. Floor: one process serving the same gRPC API from an in-memory queue (no Raft, no store, no scheduler), the same verifier and the same workers.`,
    '',
    `Command: \`${report.command}\``,
    '',
    '| measure | cluster | floor | cluster / floor | target |',
    '| --- | --- | --- | --- | --- |',
    `| (a) submits/s accepted, the best concurrency level (clients x in flight each: cluster ${a === null ? '-' : `${a.clients} x ${a.window}`}, floor ${fa === null ? '-' : `${fa.clients} x ${fa.window}`}) | ${n0(a?.accepted_per_s)} | ${n0(fa?.accepted_per_s)} | ${times(report.ratios.submits_per_s)} | >= 2,000 |`,
    `| (a) at that level: submit latency p50 / p99 / max (ms) | ${dist(a?.latency)} | ${dist(fa?.latency)} | | |`,
    `| (a) jobs/s accepted through SubmitJobs, ${cluster.throughputBatched?.batch ?? '-'} jobs per call, 4 clients x 4 calls in flight | ${n0(cluster.throughputBatched?.accepted_per_s)} | ${n0(floor?.throughputBatched?.accepted_per_s)} | ${times(report.ratios.batched_per_s)} | >= 2,000 |`,
    `| (a) batched: call latency p50 / p99 / max (ms) | ${dist(cluster.throughputBatched?.latency)} | ${dist(floor?.throughputBatched?.latency)} | | |`,
    `| capacity: jobs/s finished, closed loop of ${cluster.capacity?.window ?? '-'} in flight | ${n1(cluster.capacity?.jobs_per_s)} | ${n1(floor?.capacity?.jobs_per_s)} | ${times(report.ratios.capacity)} | |`,
    `| (b) offered rate (jobs/s) | ${n1(b?.offered_per_s)} | ${n1(fb?.offered_per_s)} | | 100 |`,
    `| (b) jobs succeeded / failed / unfinished | ${b === null ? '-' : `${b.succeeded} / ${b.failed} / ${b.unfinished}`} | ${fb === null ? '-' : `${fb.succeeded} / ${fb.failed} / ${fb.unfinished}`} | | |`,
    `| leaders elected during (b) (0: no election disturbed it) | ${b?.elections ?? '-'} | | | |`,
    `| (b) **service overhead** (end-to-end less prove_ms) p50 / p99 / max (ms) | ${dist(b?.overhead)} | ${dist(fb?.overhead)} | p50 ${times(report.ratios.overhead_p50)}, p99 ${times(report.ratios.overhead_p99)} | p50 <= 20, p99 <= 100 |`,
    `| (b) end-to-end (submit -> verified result seen) p50 / p99 / max (ms) | ${dist(b?.end_to_end)} | ${dist(fb?.end_to_end)} | | |`,
    `| (b) worker prove_ms (witness + prove + the worker's verify) p50 / p99 / max | ${dist(b?.prove)} | ${dist(fb?.prove)} | | |`,
    `| floor's verify of each proof (verifyProof in the crypto process: native when the addon is built) p50 / p99 / max (ms) | | ${dist(floor?.verify ?? undefined)} | | |`,
    failover === null
      ? '| (c) kill -9 leader -> waiting client sees the job finish | not run | | | median <= 1,000 |'
      : `| (c) kill -9 leader -> waiting client sees the job finish (${failover.trials.length} kills): median / p90 / max (ms) | ${n0(failover.finished.median_ms)} / ${n0(failover.finished.p90_ms)} / ${n0(failover.finished.max_ms)} | | | median <= 1,000 |`,
    ...(failover === null
      ? []
      : [
          `| (c) kill -> a new leader elected: median / max (ms) | ${n0(failover.election.median_ms)} / ${n0(failover.election.max_ms)} | | | |`,
          `| (c) kill -> the worker done proving the job (its remaining prove): median / max (ms) | ${n0(failover.workerDone.median_ms)} / ${n0(failover.workerDone.max_ms)} | | | |`,
          `| (c) kill -> the new leader records the result: median / max (ms) | ${n0(failover.recorded.median_ms)} / ${n0(failover.recorded.max_ms)} | | | |`,
        ]),
    '',
    '## Targets',
    '',
    '| measure | target | value | met |',
    '| --- | --- | --- | --- |',
    ...report.targets.map((t) => `| ${t.measure} | ${t.target} | ${t.value} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} |`),
    '',
    `Rate of (b): ${report.rate.why}`,
    '',
    ...(report.rate.probes.length === 0
      ? []
      : [
          '| probe rate (jobs/s) | end-to-end p50, first half (ms) | second half (ms) | unfinished | |',
          '| --- | --- | --- | --- | --- |',
          ...report.rate.probes.map(
            (p) =>
              `| ${p.rate_per_s} | ${n0(p.firstHalf_p50_ms)} | ${n0(p.secondHalf_p50_ms)} | ${p.unfinished} | ${p.stable ? 'sustained' : 'queue growing'} |`,
          ),
          '',
        ]),
    "## Where a job's time goes in (b) (p50 / p99 / max, ms)",
    '',
    "From the client's clock, the job's submitted_ms and finished_ms (stamped by the leader or the floor when it proposes) and the workers' log lines, all on this host's clock (bench/lib/service-timeline.ts).",
    '',
    '| segment | cluster | floor |',
    '| --- | --- | --- |',
    ...SEGMENTS.map((segment) => `| ${SEGMENT_LABEL[segment]} | ${dist(b?.timeline.segments[segment])} | ${dist(fb?.timeline.segments[segment])} |`),
    `| prove_ms (inside the worker) | ${dist(b?.timeline.prove)} | ${dist(fb?.timeline.prove)} |`,
    '',
    '## CPU per job in (b), ms (user + system, children included)',
    '',
    '| process | cluster | floor |',
    '| --- | --- | --- |',
    ...cpuRows(b?.cpu_ms_per_job, fb?.cpu_ms_per_job),
    '',
    '## CPU at idle (workers connected, no jobs), ms per second',
    '',
    'What each process spends on timers, heartbeats and Raft ticks alone; at a low job rate this is a large part of the CPU per job above.',
    '',
    '| process | cluster | floor |',
    '| --- | --- | --- |',
    ...cpuRows(cluster.idle_cpu_ms_per_s ?? undefined, floor?.idle_cpu_ms_per_s ?? undefined),
    '',
  ];
  if (cluster.throughputLevels.length > 0) {
    const level = (phase: ThroughputPhase | undefined): string =>
      phase === undefined
        ? '- | - | -'
        : `${n0(phase.accepted_per_s)} | ${n1(phase.latency.p50_ms)} / ${n1(phase.latency.p99_ms)} | ${Object.keys(phase.errors).length === 0 ? '-' : JSON.stringify(phase.errors)}`;
    lines.push(
      '## (a) submits by concurrency',
      '',
      `Each level ${cluster.throughputLevels[0]!.duration_s} s, lowest first, the first after unmeasured submits at the same level. Leaders elected: during the level, on the cluster (an overloaded leader misses heartbeats; the followers elect another).`,
      '',
      '| clients x in flight each | cluster submits/s | cluster latency p50 / p99 (ms) | cluster refused | leaders elected | floor submits/s | floor latency p50 / p99 (ms) | floor refused |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...cluster.throughputLevels.map(
        (phase, i) => `| ${phase.clients} x ${phase.window} | ${level(phase)} | ${phase.elections ?? '-'} | ${level(floor?.throughputLevels[i])} |`,
      ),
      '',
    );
  }
  if (a !== null) {
    lines.push(
      '## CPU per accepted submit in (a) at its best level, ms',
      '',
      '| process | cluster | floor |',
      '| --- | --- | --- |',
      ...cpuRows(a.cpu_ms_per_submit, fa?.cpu_ms_per_submit),
      '',
    );
  }
  if (failover !== null) {
    lines.push(
      '## Failover trials',
      '',
      "Milliseconds from the kill: a new leader elected; the worker done proving (the job's own remaining prove); the new leader proposing the completion (after verifying); the client seeing the job finish.",
      '',
      '| trial | killed | new leader | election | worker done | recorded | client saw it | state |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...failover.trials.map(
        (t) =>
          `| ${t.trial} | ${t.killed} | ${t.newLeader ?? '-'} | ${n0(t.election_ms)} | ${n0(t.workerDone_ms)} | ${n0(t.recorded_ms)} | ${n0(t.finished_ms)} | ${t.state}${t.redone > 0 ? ` (${t.redone} redone)` : ''} |`,
      ),
      '',
    );
  }
  if (report.profiles !== null && report.profiles.length > 0) {
    lines.push(
      '## CPU profiles (--cpu-prof; main thread, whole life of each process, self time)',
      '',
      '| process | busy s | by file (share of busy) | top functions |',
      '| --- | --- | --- | --- |',
      ...report.profiles.map(
        ({ label, summary }) =>
          `| ${label} | ${(summary.busy_ms / 1000).toFixed(1)} | ${summary.byFile
            .slice(0, 6)
            .map((f) => `${f.name} ${(f.share * 100).toFixed(0)}%`)
            .join(', ')} | ${summary.byFunction
            .slice(0, 4)
            .map((f) => `${f.name} ${(f.share * 100).toFixed(0)}%`)
            .join(', ')} |`,
      ),
      '',
    );
  }
  if (report.notes.length > 0) lines.push('## Notes', '', ...report.notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

/** Facts the figures show, for the Notes: where the cluster's time and CPU went beyond the floor's. */
export function analysisNotes(cluster: ServiceBenchReport['cluster'], floor: FloorReport | null): string[] {
  const notes: string[] = [];
  const collapsed = cluster.throughputLevels.filter((level) => (level.elections ?? 0) > 0);
  if (collapsed.length > 0) {
    const best = cluster.throughput;
    notes.push(
      `(a): at ${collapsed.map((l) => `${l.clients} x ${l.window}`).join(', ')} submits in flight the cluster elected new leaders during the level (${collapsed.map((l) => l.elections).join(', ')}) and accepted ${collapsed.map((l) => l.accepted_per_s.toFixed(0)).join(', ')} submits/s${best === null ? '' : `, against ${best.accepted_per_s.toFixed(0)}/s at ${best.clients} x ${best.window}`}: past its peak an overloaded leader misses its heartbeats and the load turns into elections and redirects.`,
    );
  }
  const fo = cluster.failover;
  if (fo !== null) {
    const gaps = fo.trials.flatMap((t) => (t.recorded_ms === null ? [] : [t.finished_ms - t.recorded_ms])).sort((x, y) => x - y);
    if (gaps.length > 0) {
      notes.push(
        `(c): the waiting client saw the job finish a median ${percentile(gaps, 50).toFixed(0)} ms (max ${gaps.at(-1)!.toFixed(0)} ms) after the new leader had recorded it, and the new leader recorded it a median ${fo.recorded.median_ms.toFixed(0)} ms after the kill (a new leader was elected after ${fo.election.median_ms.toFixed(0)} ms, the worker was done after ${fo.workerDone.median_ms.toFixed(0)} ms).`,
      );
    }
  }
  const idle = cluster.idle_cpu_ms_per_s;
  if (idle !== null) {
    const coordinators = Object.entries(idle).filter(([label]) => label.startsWith('coordinator'));
    const total = coordinators.reduce((sum, [, ms]) => sum + ms, 0);
    if (coordinators.length > 0) {
      notes.push(
        `At idle the ${coordinators.length} coordinators use ${total.toFixed(0)} ms of CPU per second together (${coordinators.map(([label, ms]) => `${label} ${ms.toFixed(0)}`).join(', ')}), the floor ${floor?.idle_cpu_ms_per_s?.floor?.toFixed(0) ?? '-'}: Raft ticks and heartbeats, and the leader's periodic entries, before any job.`,
      );
    }
  }
  return notes;
}
