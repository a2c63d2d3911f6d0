/**
 * The measured phases of the service bench, the same for the cluster and the
 * floor (a system is its client addresses and its processes):
 *
 * - warm-up: jobs until every worker has the circuit resident and the JIT is
 *   warm (unmeasured);
 * - capacity: a closed loop of jobs (service-load.ts);
 * - overhead (b): an open loop at a fixed rate; end-to-end and overhead
 *   (end-to-end less the worker's prove_ms) per job, the timeline of where
 *   it went (service-timeline.ts), and the CPU each process spent per job;
 * - throughput (a): submits only (the caller stops the workers first, so the
 *   jobs stay queued).
 */
import os from 'node:os';
import { type CapacityResult, capacity, type Distribution, distribution, openLoop, submitThroughput, type ThroughputResult } from './service-load.ts';
import type { BenchProcess } from './service-procs.ts';
import { type TimelineSummary, timeline, workerTimes } from './service-timeline.ts';

export interface SystemUnderTest {
  readonly name: 'cluster' | 'floor';
  readonly addresses: readonly string[];
  /** Its processes (workers included), labelled, for CPU per job. */
  processes(): { readonly label: string; readonly process: BenchProcess }[];
  readonly workerLogs: readonly string[];
  /** Leaders elected between two performance.now() times (the cluster; absent for the floor). */
  readonly elections?: (from_perf: number, to_perf: number) => number;
}

export function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function cpuSample(system: SystemUnderTest): Map<string, number> {
  const sample = new Map<string, number>();
  for (const { label, process: proc } of system.processes()) {
    const cpu = proc.cpu_ms();
    if (cpu !== null) sample.set(label, cpu);
  }
  const own = process.cpuUsage();
  sample.set('bench client', (own.user + own.system) / 1000);
  return sample;
}

/** CPU ms per job of each process between two samples (a process restarted in between is left out). */
function cpuPerJob(before: Map<string, number>, after: Map<string, number>, jobs: number): Record<string, number> {
  const perJob: Record<string, number> = {};
  if (jobs === 0) return perJob;
  for (const [label, end] of after) {
    const start = before.get(label);
    if (start !== undefined && end >= start) perJob[label] = (end - start) / jobs;
  }
  return perJob;
}

/** CPU ms per second of each process while the system idles (workers connected, no jobs): timers, heartbeats, Raft ticks. */
export async function idleCpu(system: SystemUnderTest, duration_s: number): Promise<Record<string, number>> {
  const before = cpuSample(system);
  await new Promise((resolve) => setTimeout(resolve, duration_s * 1000));
  return cpuPerJob(before, cpuSample(system), duration_s);
}

/** The workers log a job's lines before they report it; give this process a moment to read the last ones from their pipes, then flush the files. */
export async function flushWorkerLogs(system: SystemUnderTest): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  await Promise.all(system.processes().map(({ process: proc }) => proc.flushLog()));
}

export interface WarmupOptions {
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly workers: number;
  readonly duration_s: number;
}

/** Jobs in parallel (two per worker) for a while: circuits resident on every worker, code warm. */
export async function warmUp(system: SystemUnderTest, options: WarmupOptions): Promise<void> {
  await capacity(system.addresses, options.circuit, options.input, options.workers * 2, options.duration_s);
}

export async function measureCapacity(
  system: SystemUnderTest,
  circuit: string,
  input: Record<string, string>,
  window: number,
  duration_s: number,
): Promise<CapacityResult> {
  return capacity(system.addresses, circuit, input, window, duration_s);
}

export interface OverheadResult {
  readonly offered_per_s: number;
  readonly duration_s: number;
  readonly jobs: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly unfinished: number;
  /** First few errors, for the reader. */
  readonly error_samples: string[];
  /** Succeeded jobs per second of the run. */
  readonly achieved_per_s: number;
  readonly end_to_end: Distribution;
  /** End-to-end less the worker's prove_ms. */
  readonly overhead: Distribution;
  readonly prove: Distribution;
  readonly timeline: TimelineSummary;
  /** CPU ms per succeeded job, by process. */
  readonly cpu_ms_per_job: Record<string, number>;
  readonly loadavg_start: string;
  readonly loadavg_end: string;
  /** Leaders elected during the run (null: not a cluster). */
  readonly elections: number | null;
}

export interface OverheadOptions {
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly rate_per_s: number;
  readonly duration_s: number;
  readonly clients: number;
}

export async function measureOverhead(system: SystemUnderTest, options: OverheadOptions): Promise<OverheadResult> {
  const loadavg_start = loadavg();
  const before = cpuSample(system);
  const started_perf = performance.now();
  const run = await openLoop({
    addresses: system.addresses,
    circuit: options.circuit,
    input: options.input,
    rate_per_s: options.rate_per_s,
    duration_s: options.duration_s,
    clients: options.clients,
    drain_ms_max: 30_000,
  });
  const after = cpuSample(system);
  await flushWorkerLogs(system);
  const ok = run.traces.filter((t) => t.error === null && t.job !== null);
  const failed = run.traces.filter((t) => t.error !== null && t.seen_ms > 0);
  return {
    offered_per_s: options.rate_per_s,
    duration_s: options.duration_s,
    jobs: run.traces.length,
    succeeded: ok.length,
    failed: failed.length,
    unfinished: run.unfinished,
    error_samples: [...new Set(run.traces.filter((t) => t.error !== null).map((t) => t.error!))].slice(0, 5),
    achieved_per_s: ok.length / options.duration_s,
    end_to_end: distribution(ok.map((t) => t.seen_ms - t.scheduled_ms)),
    overhead: distribution(ok.map((t) => t.seen_ms - t.scheduled_ms - t.job!.prove_ms)),
    prove: distribution(ok.map((t) => t.job!.prove_ms)),
    timeline: timeline(run.traces, workerTimes(system.workerLogs)),
    cpu_ms_per_job: cpuPerJob(before, after, ok.length),
    loadavg_start,
    loadavg_end: loadavg(),
    elections: system.elections?.(started_perf, performance.now()) ?? null,
  };
}

export interface ThroughputOptions {
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly clients: number;
  readonly window: number;
  readonly duration_s: number;
  readonly warmup_s: number;
  /** Jobs per call: 1 (default) = SubmitJob, more = SubmitJobs. */
  readonly batch?: number;
}

export interface ThroughputLevel {
  readonly clients: number;
  /** Submits in flight per client. */
  readonly window: number;
}

/** The concurrency levels of (a): a quarter, half and all of clients x window (each at least 1), lowest first, without repeats. */
export function throughputLevels(clients: number, window: number): ThroughputLevel[] {
  const levels: ThroughputLevel[] = [];
  for (const divisor of [4, 2, 1]) {
    const level = { clients: Math.max(1, Math.round(clients / divisor)), window: Math.max(1, Math.round(window / divisor)) };
    if (!levels.some((l) => l.clients === level.clients && l.window === level.window)) levels.push(level);
  }
  return levels;
}

export interface ThroughputPhase extends ThroughputResult {
  readonly cpu_ms_per_submit: Record<string, number>;
  readonly loadavg_start: string;
  readonly loadavg_end: string;
  /** Leaders elected during the run, warm-up included (null: not a cluster). */
  readonly elections: number | null;
}

export async function measureThroughput(system: SystemUnderTest, options: ThroughputOptions): Promise<ThroughputPhase> {
  const loadavg_start = loadavg();
  const before = cpuSample(system);
  const started_perf = performance.now();
  const result = await submitThroughput({ addresses: system.addresses, ...options });
  const after = cpuSample(system);
  // The sample spans the warm-up too: CPU per submit counts its submits as well (at the measured rate).
  const submits = result.accepted_per_s * (options.duration_s + options.warmup_s);
  return {
    ...result,
    cpu_ms_per_submit: cpuPerJob(before, after, submits),
    loadavg_start,
    loadavg_end: loadavg(),
    elections: system.elections?.(started_perf, performance.now()) ?? null,
  };
}

export interface RateProbe {
  readonly rate_per_s: number;
  /** Median end-to-end of the jobs scheduled in the first and in the second half of the probe. */
  readonly firstHalf_p50_ms: number;
  readonly secondHalf_p50_ms: number;
  readonly unfinished: number;
  readonly stable: boolean;
}

export interface SustainableRate {
  readonly rate_per_s: number;
  readonly probes: RateProbe[];
}

export interface RateSearchOptions {
  readonly circuit: string;
  readonly input: Record<string, string>;
  /** Jobs/s the closed loop finished. */
  readonly capacity_per_s: number;
  /** Shares of the capacity to try, highest first. */
  readonly shares: readonly number[];
  readonly probe_s: number;
  readonly clients: number;
}

/** Rates are kept to half a job per second. */
function roundRate(rate: number): number {
  return Math.max(0.5, Math.floor(rate * 2) / 2);
}

/**
 * The highest rate the system keeps up with: open-loop probes at shares of
 * the closed-loop capacity, highest first; a rate is sustainable when its
 * queue does not grow (the jobs of the probe's second half wait no longer
 * than those of its first half, within 50% + 20 ms, and none is left
 * unfinished a second after the schedule ends). Falls back to the lowest share.
 */
export async function sustainableRate(system: SystemUnderTest, options: RateSearchOptions): Promise<SustainableRate> {
  const probes: RateProbe[] = [];
  for (const share of options.shares) {
    const rate_per_s = roundRate(options.capacity_per_s * share);
    if (probes.some((p) => p.rate_per_s === rate_per_s)) continue;
    const run = await openLoop({
      addresses: system.addresses,
      circuit: options.circuit,
      input: options.input,
      rate_per_s,
      duration_s: options.probe_s,
      clients: options.clients,
      drain_ms_max: 1_000,
    });
    const half = run.traces[0]!.scheduled_ms + (options.probe_s * 1000) / 2;
    const e2e = (first: boolean) =>
      distribution(run.traces.filter((t) => t.error === null && t.job !== null && t.scheduled_ms < half === first).map((t) => t.seen_ms - t.scheduled_ms))
        .p50_ms;
    const firstHalf_p50_ms = e2e(true);
    const secondHalf_p50_ms = e2e(false);
    const stable = run.unfinished === 0 && secondHalf_p50_ms <= firstHalf_p50_ms * 1.5 + 20;
    probes.push({ rate_per_s, firstHalf_p50_ms, secondHalf_p50_ms, unfinished: run.unfinished, stable });
    if (stable) return { rate_per_s, probes };
  }
  return { rate_per_s: roundRate(options.capacity_per_s * options.shares.at(-1)!), probes };
}

export interface ThroughputSweepOptions {
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly levels: readonly ThroughputLevel[];
  /** Length of each level. */
  readonly duration_s: number;
  /** Unmeasured submits at the first (lowest) level before the sweep: warms the code gently (a restarted coordinator's JIT is cold). */
  readonly warmup_s: number;
  readonly say: (line: string) => void;
}

export interface ThroughputSweep {
  readonly levels: ThroughputPhase[];
  /** The level with the most accepted submits per second. */
  readonly best: ThroughputPhase;
}

/** (a) at rising concurrency: where the submit rate peaks, and what happens past it. */
export async function measureThroughputSweep(system: SystemUnderTest, options: ThroughputSweepOptions): Promise<ThroughputSweep> {
  const levels: ThroughputPhase[] = [];
  for (const [i, level] of options.levels.entries()) {
    const result = await measureThroughput(system, {
      circuit: options.circuit,
      input: options.input,
      clients: level.clients,
      window: level.window,
      duration_s: options.duration_s,
      warmup_s: i === 0 ? options.warmup_s : 0,
    });
    levels.push(result);
    options.say(
      `    ${level.clients} clients x ${level.window} in flight: ${result.accepted_per_s.toFixed(0)} submits/s accepted, latency p50 ${result.latency.p50_ms.toFixed(1)} ms p99 ${result.latency.p99_ms.toFixed(1)} ms, refused ${JSON.stringify(result.errors)}${result.elections === null ? '' : `, ${result.elections} leaders elected`}`,
    );
  }
  const best = levels.reduce((a, b) => (b.accepted_per_s > a.accepted_per_s ? b : a));
  return { levels, best };
}
