/**
 * The capacity planner's model against a real local cluster (npm run
 * bench:capacity): the embedded database, 3 coordinators and N native
 * workers as processes on loopback, proving a small chain circuit with a
 * development key.
 *
 *   1. Service times, one job at a time (half before the loads, half after,
 *      so a drift in the host's speed biases the model less): each job's time from the submit's
 *      proposal to its completion's proposal on the leader (finished_ms −
 *      submitted_ms: what a worker's slot is held for, as the scheduler sees
 *      it, dispatch included) and its end-to-end time at the client.
 *   2. The model: those service times go into a prove-bench-shaped report and
 *      through the planner's own code (src/capacity/), which predicts for N
 *      workers at the chosen rate the wait, and, convolved with the
 *      one-at-a-time end-to-end times, the end-to-end p50 a client sees.
 *   3. Saturation: a closed loop of 2N jobs in flight; the model says N/E[S].
 *   4. An open-loop Poisson load (seeded) at ~65 % utilisation; measured
 *      throughput and end-to-end p50 against the prediction (target: within
 *      25 %).
 *
 * Writes bench/results/capacity-check-<host>.json and .md.
 */
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH_REPORT_SCHEMA, BENCH_REPORT_VERSION, type BenchReport, type CircuitInfo, percentile, summarizeTimings } from '../src/bench-report/schema.ts';
import type { BuiltCircuit } from '../scripts/build-circuits.ts';
import { formatPlans } from '../src/cli/capacity-format.ts';
import { planReport } from '../src/capacity/plan.ts';
import { exceedance, percentileOf, serviceTime, type WaitingTime, waitingTime } from '../src/capacity/queueing.ts';
import { workerKinds } from '../src/capacity/worker-kinds.ts';
import { ZkpClient } from '../src/client/zkp-client.ts';
import { Prng } from '../src/random/prng.ts';
import { BenchCli } from './lib/cli.ts';
import { buildDevKeyBenchCircuit } from './lib/dev-key-circuit.ts';
import { writeResults } from './lib/results.ts';
import { benchInput, describeCircuit } from './lib/service-circuit.ts';
import { ServiceCluster, WorkerGroup } from './lib/service-cluster.ts';
import { capacity, distribution, wallNow } from './lib/service-load.ts';
import { killAllBenchProcesses } from './lib/service-procs.ts';

const cli = new BenchCli(
  'bench:capacity',
  `usage: npm run bench:capacity -- [flags]

Checks zkp capacity's queueing model against a local cluster (embedded
database, 3 coordinators, native workers on loopback): service times measured
one job at a time, then an open-loop Poisson load at a set utilisation;
measured throughput and end-to-end p50 against the model's prediction.
Writes bench/results/capacity-check-<host>.json and .md.

  --workers N        worker processes (default: half the cores, at least 1)
  --log2n N          the chain circuit's domain, 2^N (default 12)
  --threads N        ZKP_NATIVE_THREADS of each worker (default 1: workers
                     that do not share threads are closer to independent
                     servers)
  --serial N         jobs measured one at a time (default 40)
  --utilisation U    target utilisation of the open-loop load (default 0.65)
  --duration S       length of the open-loop load (default 90)
  --saturation-s S   length of the closed-loop saturation run (default 20;
                     0 skips it)
  --seed N           seed of the Poisson arrivals (default: from the clock,
                     printed)
  --keep-state       keep the state directory (logs)`,
  {
    workers: { type: 'string' },
    log2n: { type: 'string' },
    threads: { type: 'string' },
    serial: { type: 'string' },
    utilisation: { type: 'string' },
    duration: { type: 'string' },
    'saturation-s': { type: 'string' },
    seed: { type: 'string' },
    'keep-state': { type: 'boolean' },
  },
);
// One core per single-threaded worker, the rest for the database, coordinators and the load: on 2 cores, 1 worker. Workers
// sharing cores slow each other down when busy together, which a model of independent servers cannot see.
const workerCount = cli.int('workers', Math.max(1, Math.floor(os.cpus().length / 2)), 1, 8);
const log2n = cli.int('log2n', 12, 6, 16);
const threads = cli.int('threads', 1, 1, 64);
const serialJobs = cli.int('serial', 40, 5, 1000);
const utilisation = cli.number('utilisation', 0.65);
if (utilisation >= 1) cli.fail(`--utilisation needs a number below 1, got ${utilisation}`);
const duration_s = cli.number('duration', 90);
const saturation_s = cli.int('saturation-s', 20, 0, 600);
const seed = cli.int('seed', Date.now() % 1_000_000_007, 0);
const keepState = cli.boolean('keep-state');

/** The first seconds of the open loop are left out of its figures (the queue starts empty). */
const SETTLE_S = 5;
const DRAIN_MS_MAX = 60_000;
const TOLERANCE = 0.25;

const started_perf = performance.now();
const say = (line: string): void => console.log(`[${((performance.now() - started_perf) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const loadavg = (): string =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

interface JobTimes {
  /** Epoch ms: when the job was due (the open loop's schedule) or sent. */
  readonly scheduled_ms: number;
  seen_ms: number;
  submitted_ms: number;
  finished_ms: number;
  prove_ms: number;
  worker_id: string;
  error: string | null;
}

/** Submits one job and watches it to the end; never rejects. */
async function runJob(client: ZkpClient, circuit: string, inputJson: string, times: JobTimes, signal: AbortSignal): Promise<void> {
  try {
    const submitted = await client.submitJob({ circuit, inputJson, signal });
    const final = await client.watchJob(submitted.job.id, () => {}, { signal });
    times.seen_ms = wallNow();
    times.submitted_ms = final.submitted_ms;
    times.finished_ms = final.finished_ms;
    times.prove_ms = final.prove_ms;
    times.worker_id = final.worker_id;
    if (final.state !== 'SUCCEEDED') times.error = `${final.state} ${final.error_code} ${final.error_message}`;
  } catch (error) {
    times.error = error instanceof Error ? error.message : String(error);
  }
}

function newTimes(scheduled_ms: number): JobTimes {
  return { scheduled_ms, seen_ms: 0, submitted_ms: 0, finished_ms: 0, prove_ms: 0, worker_id: '', error: null };
}

/** `count` jobs, each sent when the one before has ended. */
async function serialRun(addresses: readonly string[], circuit: string, count: number): Promise<JobTimes[]> {
  const client = new ZkpClient(addresses);
  const inputJson = JSON.stringify(benchInput());
  const abort = new AbortController();
  const all: JobTimes[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const times = newTimes(wallNow());
      await runJob(client, circuit, inputJson, times, abort.signal);
      all.push(times);
    }
  } finally {
    abort.abort();
    client.close();
  }
  return all;
}

/** Poisson arrivals at `rate_per_s` for `duration_s` (exponential gaps from the seeded PRNG), each job submitted at its time whatever the system does. */
async function poissonRun(
  addresses: readonly string[],
  circuit: string,
  rate_per_s: number,
  run_s: number,
  prng: Prng,
): Promise<{ start_ms: number; jobs: JobTimes[] }> {
  const clients = Array.from({ length: 4 }, () => new ZkpClient(addresses));
  const inputJson = JSON.stringify(benchInput());
  const abort = new AbortController();
  // Every job in flight listens on it.
  setMaxListeners(0, abort.signal);
  const jobs: JobTimes[] = [];
  const running: Promise<void>[] = [];
  const start_perf = performance.now() + 50;
  let at_perf = start_perf;
  try {
    for (let i = 0; ; i++) {
      at_perf += (-Math.log(1 - prng.next()) / rate_per_s) * 1000;
      if (at_perf > start_perf + run_s * 1000) break;
      const wait_ms = at_perf - performance.now();
      if (wait_ms > 1) await new Promise((r) => setTimeout(r, wait_ms));
      const times = newTimes(performance.timeOrigin + at_perf);
      jobs.push(times);
      running.push(runJob(clients[i % clients.length]!, circuit, inputJson, times, abort.signal));
    }
    await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, DRAIN_MS_MAX))]);
  } finally {
    abort.abort();
    await Promise.allSettled(running);
    for (const client of clients) client.close();
  }
  return { start_ms: performance.timeOrigin + start_perf, jobs };
}

/** A closed loop: `window` jobs in flight (submit, watch to the end, next) for `run_s`; every job's times. */
async function closedLoop(addresses: readonly string[], circuit: string, window: number, run_s: number): Promise<JobTimes[]> {
  const client = new ZkpClient(addresses);
  const inputJson = JSON.stringify(benchInput());
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const jobs: JobTimes[] = [];
  const until_ms = wallNow() + run_s * 1000;
  try {
    const loop = async (): Promise<void> => {
      while (wallNow() < until_ms) {
        const times = newTimes(wallNow());
        jobs.push(times);
        await runJob(client, circuit, inputJson, times, abort.signal);
      }
    };
    await Promise.all(Array.from({ length: window }, loop));
  } finally {
    abort.abort();
    client.close();
  }
  return jobs;
}

/**
 * Service times of a worker that is never idle: the gaps between its consecutive completions (leader's clock) in a closed
 * loop, leaving out each worker's first completion and the last `window` overall (the loop stops refilling at the end).
 */
function backToBackIntervals(done: readonly JobTimes[], window: number): number[] {
  const byFinish = [...done].sort((a, b) => a.finished_ms - b.finished_ms).slice(0, Math.max(0, done.length - window));
  const last = new Map<string, number>();
  const intervals: number[] = [];
  for (const job of byFinish) {
    const previous = last.get(job.worker_id);
    if (previous !== undefined) intervals.push(job.finished_ms - previous);
    last.set(job.worker_id, job.finished_ms);
  }
  return intervals;
}

/** Service time of a one-at-a-time job: submit proposed -> completion proposed, on the leader's clock. */
function serviceOf(t: JobTimes): number {
  return t.finished_ms - t.submitted_ms;
}

async function serialPhase(addresses: readonly string[], circuit: string, count: number, when: string): Promise<JobTimes[]> {
  say(`service times ${when}: ${count} jobs one at a time`);
  const jobs = (await serialRun(addresses, circuit, count)).filter((t) => t.error === null);
  if (jobs.length < Math.min(count, 3)) throw new Error(`only ${jobs.length} of ${count} one-at-a-time jobs succeeded`);
  say(
    `  service p50 ${percentile(jobs.map(serviceOf), 50).toFixed(1)} ms; end-to-end p50 ${percentile(
      jobs.map((t) => t.seen_ms - t.scheduled_ms),
      50,
    ).toFixed(1)} ms; prove_ms p50 ${percentile(
      jobs.map((t) => t.prove_ms),
      50,
    )}`,
  );
  return jobs;
}

function circuitInfo(built: BuiltCircuit, zkey_bytes: number): CircuitInfo {
  return {
    name: built.name,
    family: 'synthetic',
    constraints: built.nConstraints,
    domain_log2: built.power,
    public_signals: built.nPublic,
    wires: 0,
    zkey_bytes,
  };
}

/** A prove-bench-shaped report whose one native run has the cluster's service times as its warm samples. */
function reportOf(host: string, built: BuiltCircuit, zkey_bytes: number, service_ms: readonly number[]): BenchReport {
  return {
    schema: BENCH_REPORT_SCHEMA,
    version: BENCH_REPORT_VERSION,
    started_at: new Date().toISOString(),
    duration_ms: 0,
    argv: ['bench:capacity: service times of the local cluster, one job at a time; witness included in the warm samples'],
    machine: {
      hostname: host,
      os: `${os.platform()} ${os.release()}`,
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memory_bytes: os.totalmem(),
      load_average: os.loadavg() as [number, number, number],
      node_version: process.version,
      packages: {},
      gpu: null,
    },
    circuits: [circuitInfo(built, zkey_bytes)],
    runs: [
      {
        circuit: built.name,
        backend: 'native',
        status: 'ok',
        reason: '',
        // The cluster's service time already holds the witness: the warm samples are the whole job, the witness 0.
        witness: summarizeTimings([0]),
        cold: null,
        warm: summarizeTimings(service_ms),
        peak_rss_bytes: null,
        verified: true,
        speedup_vs_snarkjs: null,
        speedup_vs_native: null,
      },
    ],
  };
}

/** (predicted − measured) / measured. */
function relativeError(predicted: number, measured: number): number {
  return (predicted - measured) / measured;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function percent(value: number): string {
  return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`;
}

interface MachineSummary {
  readonly host: string;
  readonly cpu_model: string;
  readonly cores: number;
  readonly node: string;
  readonly niceness: number;
}

async function main(): Promise<void> {
  const host = os.hostname();
  const machine: MachineSummary = {
    host,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    niceness: os.getPriority(),
  };
  const loadavg_start = loadavg();
  say(`capacity check on ${host}: ${machine.cpu_model}, ${machine.cores} cores, load average ${loadavg_start}; seed ${seed}`);
  process.env.ZKP_NATIVE_THREADS = String(threads);
  const built = await buildDevKeyBenchCircuit(log2n, (line) => say(`  ${line}`));
  const circuit = describeCircuit(built);
  say(`circuit ${built.name}: ${built.nConstraints} constraints, domain 2^${built.power} (development key)`);

  const stateDir = mkdtempSync(join(os.tmpdir(), 'zkp-capacity-check-'));
  try {
    await runChecks(stateDir, built, circuit.zkey_bytes, machine, loadavg_start);
  } finally {
    if (!keepState) rmSync(stateDir, { recursive: true, force: true });
    else say(`state kept in ${stateDir}`);
  }
}

async function runChecks(stateDir: string, built: BuiltCircuit, zkey_bytes: number, machine: MachineSummary, loadavg_start: string): Promise<void> {
  const host = machine.host;
  const cluster = await ServiceCluster.start({ stateDir, coordinators: 3, databaseUrl: '', queueMax: 100_000, logLevel: 'warn', say: (l) => say(`  ${l}`) });
  const workers = new WorkerGroup(stateDir, 'cap', cluster.addresses, { count: workerCount, backends: 'native', logLevel: 'warn' });
  try {
    const client = new ZkpClient(cluster.addresses);
    try {
      await client.registerCircuit({ name: built.name, wasm: built.wasm, zkey: built.zkey, vkey: built.vkey });
    } finally {
      client.close();
    }
    say(`starting ${workerCount} native worker${workerCount === 1 ? '' : 's'} (ZKP_NATIVE_THREADS=${threads})`);
    await workers.start();
    say('warm-up: closed loop, every worker proves (key resident)');
    await capacity(cluster.addresses, built.name, benchInput(), workerCount * 2, 5);

    // ------------------------------------------------------------ 1. one at a time, before the load (and again after it)
    // Other work on this host changes how fast a worker proves from one minute to the next; half the one-at-a-time jobs run
    // before the load and half after, and the model takes them all, so a drift between the phases biases it less.
    const serialBefore = await serialPhase(cluster.addresses, built.name, Math.ceil(serialJobs / 2), 'before the load');
    const rateService = workerKinds(reportOf(host, built, zkey_bytes, serialBefore.map(serviceOf)), circuitInfo(built, zkey_bytes)).kinds[0]!.service;
    const rate_per_s = (utilisation * workerCount) / rateService.mean_s;
    say(
      `  open loop at ${rate_per_s.toFixed(2)} jobs/s: utilisation ${utilisation} of ${workerCount} worker${workerCount === 1 ? '' : 's'} at E[S] ${(rateService.mean_s * 1000).toFixed(1)} ms (the jobs so far)`,
    );

    // ------------------------------------------------------------ 2. saturation
    let backToBack_ms: number[] = [];
    let saturation: { window: number; duration_s: number; measured_per_s: number; predicted_per_s: number; errors: number; prove_ms_p50: number } | null = null;
    if (saturation_s > 0) {
      say(`saturation: closed loop of ${workerCount * 2} jobs in flight for ${saturation_s} s`);
      const started_ms = wallNow();
      const jobs = await closedLoop(cluster.addresses, built.name, workerCount * 2, saturation_s);
      const done = jobs.filter((t) => t.error === null && t.finished_ms <= started_ms + saturation_s * 1000);
      backToBack_ms = backToBackIntervals(done, workerCount * 2);
      saturation = {
        window: workerCount * 2,
        duration_s: saturation_s,
        measured_per_s: done.length / saturation_s,
        predicted_per_s: Number.NaN,
        errors: jobs.length - jobs.filter((t) => t.error === null).length,
        prove_ms_p50: percentile(
          done.map((t) => t.prove_ms),
          50,
        ),
      };
      say(
        `  ${saturation.measured_per_s.toFixed(2)} jobs/s finished, ${saturation.errors} errors, prove_ms p50 ${saturation.prove_ms_p50}; back-to-back service p50 ${percentile(backToBack_ms, 50).toFixed(1)} ms (${backToBack_ms.length} intervals)`,
      );
    }

    // ------------------------------------------------------------ 3. open loop
    say(`open loop: Poisson arrivals at ${rate_per_s.toFixed(2)} jobs/s for ${duration_s} s (seed ${seed}); load average ${loadavg()}`);
    const loadavg_openLoop_start = loadavg();
    const open = await poissonRun(cluster.addresses, built.name, rate_per_s, duration_s, new Prng(seed));
    const loadavg_openLoop_end = loadavg();
    const serialAfter = await serialPhase(cluster.addresses, built.name, Math.floor(serialJobs / 2), 'after the load');

    // ------------------------------------------------------------ 4. the model, from every one-at-a-time job
    const serial = [...serialBefore, ...serialAfter];
    const service_ms = serial.map(serviceOf);
    const serialEndToEnd_ms = serial.map((t) => t.seen_ms - t.scheduled_ms);
    const report = reportOf(host, built, zkey_bytes, service_ms);
    const service = workerKinds(report, report.circuits[0]!).kinds[0]!.service;
    const predictedCapacity_per_s = workerCount / service.mean_s;
    if (saturation !== null) saturation = { ...saturation, predicted_per_s: predictedCapacity_per_s };
    say(
      `  model: E[S] ${(service.mean_s * 1000).toFixed(1)} ms, cs² ${service.scv.toFixed(3)} over ${serial.length} jobs; ${workerCount} worker${workerCount === 1 ? '' : 's'} finish at most ${predictedCapacity_per_s.toFixed(2)} jobs/s`,
    );

    const window_start_ms = open.start_ms + SETTLE_S * 1000;
    const window_end_ms = open.start_ms + duration_s * 1000;
    const window_s = (window_end_ms - window_start_ms) / 1000;
    const inWindow = open.jobs.filter((t) => t.scheduled_ms >= window_start_ms && t.scheduled_ms < window_end_ms);
    const ok = inWindow.filter((t) => t.error === null && t.seen_ms > 0);
    const failed = inWindow.filter((t) => t.error !== null);
    const unfinished = open.jobs.filter((t) => t.seen_ms === 0 && t.error === null).length;
    const arrived_per_s = inWindow.length / window_s;
    const completed = open.jobs.filter((t) => t.error === null && t.finished_ms >= window_start_ms && t.finished_ms < window_end_ms).length;
    const throughput_per_s = completed / window_s;
    const endToEnd_ms = ok.map((t) => t.seen_ms - t.scheduled_ms);
    const measured = distribution(endToEnd_ms);
    const loadedService = distribution(ok.map((t) => t.prove_ms));

    // The model at the rate that actually arrived in the window (the Poisson draw is not exactly the nominal rate).
    // When the arrivals exceed what the model's workers finish, it predicts a queue without bound: Infinity (null in the JSON).
    const wait = arrived_per_s * service.mean_s < workerCount ? waitingTime(workerCount, arrived_per_s, service) : null;
    const serialEndToEnd_s = [...serialEndToEnd_ms].sort((a, b) => a - b).map((v) => v / 1000);
    const orInfinity = (value: (w: WaitingTime) => number): number => (wait === null ? Number.POSITIVE_INFINITY : value(wait));
    const predicted = {
      throughput_per_s: Math.min(arrived_per_s, predictedCapacity_per_s),
      utilisation: (arrived_per_s * service.mean_s) / workerCount,
      wait_probability: orInfinity((w) => w.wait_probability),
      mean_wait_ms: orInfinity((w) => w.mean_wait_s * 1000),
      end_to_end_p50_ms: orInfinity((w) => percentileOf(w, serialEndToEnd_s, 50) * 1000),
      end_to_end_p99_ms: orInfinity((w) => percentileOf(w, serialEndToEnd_s, 99) * 1000),
      queue_p50_ms: orInfinity((w) => percentileOf(w, service.samples_s, 50) * 1000),
      /** P(end-to-end > the measured p50) in the model: 0.5 if the model is right at the median. */
      exceedance_at_measured_p50: wait === null ? 1 : exceedance(wait, serialEndToEnd_s, measured.p50_ms / 1000),
    };
    // The same model with the service time the workers had under this load: each one-at-a-time job's service and end-to-end time
    // lengthened by (k − 1) × its prove_ms, k = mean prove_ms under the open loop / one at a time. Separates the queueing model's
    // error from its input's (workers sharing this host's cores with each other and everything else are slower together than alone).
    const serialProve_ms = serial.map((t) => t.prove_ms);
    const slowdown = mean(ok.map((t) => t.prove_ms)) / mean(serialProve_ms);
    const loadedService_s = service_ms.map((v, i) => (v + (slowdown - 1) * serialProve_ms[i]!) / 1000);
    const loadedEndToEnd_s = serialEndToEnd_ms.map((v, i) => (v + (slowdown - 1) * serialProve_ms[i]!) / 1000).sort((a, b) => a - b);
    const loadedModel = serviceTime(loadedService_s);
    const loadedUtilisation = (arrived_per_s * loadedModel.mean_s) / workerCount;
    const loadedWait = loadedUtilisation < 1 ? waitingTime(workerCount, arrived_per_s, loadedModel) : null;
    const withLoadedService = {
      prove_slowdown: round(slowdown, 3),
      service_mean_ms: round(loadedModel.mean_s * 1000, 1),
      utilisation: round(loadedUtilisation, 3),
      end_to_end_p50_ms: loadedWait === null ? null : percentileOf(loadedWait, loadedEndToEnd_s, 50) * 1000,
      end_to_end_p99_ms: loadedWait === null ? null : percentileOf(loadedWait, loadedEndToEnd_s, 99) * 1000,
    };
    // The model given back-to-back service times (the saturation run, before the open loop; how the prove bench times warm
    // proves too), with the client's overhead (one-at-a-time end-to-end less service) added to each: every pair of the two.
    let withBackToBack: BackToBackPrediction | null = null;
    if (backToBack_ms.length >= 5) {
      const b2b = serviceTime(backToBack_ms.map((v) => v / 1000));
      const overhead_ms = serialEndToEnd_ms.map((e, i) => e - service_ms[i]!);
      const endToEnd_s = overhead_ms.flatMap((o) => backToBack_ms.map((v) => (o + v) / 1000)).sort((a, b) => a - b);
      const b2bUtilisation = (arrived_per_s * b2b.mean_s) / workerCount;
      const b2bWait = b2bUtilisation < 1 ? waitingTime(workerCount, arrived_per_s, b2b) : null;
      withBackToBack = {
        service_mean_ms: round(b2b.mean_s * 1000, 1),
        scv: round(b2b.scv, 4),
        intervals: backToBack_ms.length,
        utilisation: round(b2bUtilisation, 3),
        end_to_end_p50_ms: b2bWait === null ? null : percentileOf(b2bWait, endToEnd_s, 50) * 1000,
        end_to_end_p99_ms: b2bWait === null ? null : percentileOf(b2bWait, endToEnd_s, 99) * 1000,
      };
    }
    const errors = {
      end_to_end_p50_with_back_to_back_service:
        withBackToBack?.end_to_end_p50_ms == null ? null : relativeError(withBackToBack.end_to_end_p50_ms, measured.p50_ms),
      end_to_end_p50_with_loaded_service:
        withLoadedService.end_to_end_p50_ms === null ? null : relativeError(withLoadedService.end_to_end_p50_ms, measured.p50_ms),
      throughput: relativeError(predicted.throughput_per_s, throughput_per_s),
      end_to_end_p50: relativeError(predicted.end_to_end_p50_ms, measured.p50_ms),
      end_to_end_p99: relativeError(predicted.end_to_end_p99_ms, measured.p99_ms),
      saturation: saturation === null ? null : relativeError(saturation.predicted_per_s, saturation.measured_per_s),
    };
    const within = {
      throughput: Math.abs(errors.throughput) <= TOLERANCE,
      end_to_end_p50: Math.abs(errors.end_to_end_p50) <= TOLERANCE,
    };
    say(
      `  arrived ${arrived_per_s.toFixed(2)}/s, completed ${throughput_per_s.toFixed(2)}/s (model ${predicted.throughput_per_s.toFixed(2)}, ${percent(errors.throughput)}); end-to-end p50 ${measured.p50_ms.toFixed(1)} ms (model ${predicted.end_to_end_p50_ms.toFixed(1)}, ${percent(errors.end_to_end_p50)}), p99 ${measured.p99_ms.toFixed(1)} ms (model ${predicted.end_to_end_p99_ms.toFixed(1)}); ${failed.length} failed, ${unfinished} unfinished`,
    );

    // What `zkp capacity` says for this report at the open loop's rate, the p99 target set to the measured end-to-end p99.
    const p99Target_s = Math.max(measured.p99_ms, percentile(service_ms, 99)) / 1000;
    const target = { rate_per_h: rate_per_s * 3600, p99_s: p99Target_s };
    const plannerText = formatPlans(planReport(report, null, target, {}, '(service times of this run)'), report, '(service times of this run)', target, {});

    const result = {
      schema: 'zkp-cluster/capacity-check',
      version: 1,
      started_at: report.started_at,
      command: process.argv.length > 2 ? `npm run bench:capacity -- ${process.argv.slice(2).join(' ')}` : 'npm run bench:capacity',
      machine: { ...machine, loadavg_start, loadavg_openLoop_start, loadavg_openLoop_end, loadavg_end: loadavg() },
      settings: {
        workers: workerCount,
        native_threads: threads,
        circuit: built.name,
        constraints: built.nConstraints,
        serial_jobs: serialJobs,
        utilisation,
        duration_s,
        settle_s: SETTLE_S,
        seed,
      },
      service: {
        definition: 'finished_ms - submitted_ms of each one-at-a-time job (leader clock: submit proposed -> completion proposed)',
        samples_ms: service_ms,
        mean_ms: round(service.mean_s * 1000, 2),
        scv: round(service.scv, 4),
        p50_ms: percentile(service_ms, 50),
        p99_ms: percentile(service_ms, 99),
        serial_end_to_end: distribution(serialEndToEnd_ms),
        serial_prove_ms: distribution(serial.map((t) => t.prove_ms)),
      },
      saturation,
      open_loop: {
        nominal_rate_per_s: round(rate_per_s, 3),
        arrived_per_s: round(arrived_per_s, 3),
        jobs: open.jobs.length,
        in_window: inWindow.length,
        succeeded_in_window: ok.length,
        failed_in_window: failed.length,
        unfinished,
        error_samples: failed.slice(0, 3).map((t) => t.error),
        throughput_per_s: round(throughput_per_s, 3),
        end_to_end: measured,
        prove_ms_under_load: loadedService,
      },
      predicted,
      predicted_with_loaded_service: withLoadedService,
      predicted_with_back_to_back_service: withBackToBack,
      relative_error: errors,
      within_25_percent: within,
      planner_output: plannerText,
    };

    const md = formatMarkdown(result);
    const written = writeResults(`capacity-check-${host}`, { json: `${JSON.stringify(result, null, 2)}\n`, md });
    say(`wrote ${written.join(', ')}`);
    console.log(plannerText);
  } finally {
    await workers.stop();
    await cluster.stop();
  }
}

type CheckResult = {
  readonly command: string;
  readonly started_at: string;
  readonly machine: {
    host: string;
    cpu_model: string;
    cores: number;
    node: string;
    niceness: number;
    loadavg_start: string;
    loadavg_openLoop_start: string;
    loadavg_openLoop_end: string;
    loadavg_end: string;
  };
  readonly settings: {
    workers: number;
    native_threads: number;
    circuit: string;
    constraints: number;
    serial_jobs: number;
    utilisation: number;
    duration_s: number;
    settle_s: number;
    seed: number;
  };
  readonly service: {
    mean_ms: number;
    scv: number;
    p50_ms: number;
    p99_ms: number;
    serial_end_to_end: ReturnType<typeof distribution>;
    serial_prove_ms: ReturnType<typeof distribution>;
  };
  readonly saturation: { window: number; duration_s: number; measured_per_s: number; predicted_per_s: number; errors: number; prove_ms_p50: number } | null;
  readonly open_loop: {
    nominal_rate_per_s: number;
    arrived_per_s: number;
    in_window: number;
    succeeded_in_window: number;
    failed_in_window: number;
    unfinished: number;
    throughput_per_s: number;
    end_to_end: ReturnType<typeof distribution>;
    prove_ms_under_load: ReturnType<typeof distribution>;
  };
  readonly predicted: {
    throughput_per_s: number;
    utilisation: number;
    wait_probability: number;
    mean_wait_ms: number;
    end_to_end_p50_ms: number;
    end_to_end_p99_ms: number;
    queue_p50_ms: number;
    exceedance_at_measured_p50: number;
  };
  readonly predicted_with_back_to_back_service: BackToBackPrediction | null;
  readonly predicted_with_loaded_service: {
    prove_slowdown: number;
    service_mean_ms: number;
    utilisation: number;
    end_to_end_p50_ms: number | null;
    end_to_end_p99_ms: number | null;
  };
  readonly relative_error: {
    throughput: number;
    end_to_end_p50: number;
    end_to_end_p99: number;
    saturation: number | null;
    end_to_end_p50_with_loaded_service: number | null;
    end_to_end_p50_with_back_to_back_service: number | null;
  };
  readonly within_25_percent: { throughput: boolean; end_to_end_p50: boolean };
  readonly planner_output: string;
};

/** The model's prediction when fed back-to-back service times (see the saturation run). */
interface BackToBackPrediction {
  service_mean_ms: number;
  scv: number;
  intervals: number;
  utilisation: number;
  end_to_end_p50_ms: number | null;
  end_to_end_p99_ms: number | null;
}

function formatMarkdown(r: CheckResult): string {
  const f = (v: number, d = 1) => v.toFixed(d);
  const yes = (b: boolean) => (b ? 'yes' : '**no**');
  const s = r.settings;
  const lines = [
    `# Capacity planner against a local cluster (${r.machine.host})`,
    '',
    `${r.started_at}; ${r.machine.cpu_model}, ${r.machine.cores} cores; node ${r.machine.node}; niceness ${r.machine.niceness}; load average (1/5/15 min) at start ${r.machine.loadavg_start}, during the open loop ${r.machine.loadavg_openLoop_start} -> ${r.machine.loadavg_openLoop_end}.`,
    `Cluster: embedded database, 3 coordinators, ${s.workers} native worker${s.workers === 1 ? '' : 's'} (ZKP_NATIVE_THREADS=${s.native_threads}, one job at a time each) on loopback; circuit ${s.circuit} (${s.constraints} constraints, development key).`,
    '',
    `Command: \`${r.command}\` (Poisson seed ${s.seed})`,
    '',
    '## Service time, one job at a time',
    '',
    `${s.serial_jobs} jobs sent one after another, half before the loads and half after them (the host's speed drifts with other work). Service time of a job = finished_ms − submitted_ms on the leader (submit proposed -> completion proposed: dispatch, witness, prove, the worker's verify, the result's report and verify): mean ${f(r.service.mean_ms)} ms, p50 ${f(r.service.p50_ms)} ms, p99 ${f(r.service.p99_ms)} ms, cs² ${r.service.scv}. End-to-end at the client p50 ${f(r.service.serial_end_to_end.p50_ms)} ms (mean ${f(r.service.serial_end_to_end.mean_ms)}); worker prove_ms p50 ${f(r.service.serial_prove_ms.p50_ms)} ms.`,
    '',
    "The model (src/capacity/, the same code as `zkp capacity`) takes those service times as the warm samples of a prove-bench-shaped report; the end-to-end prediction is the model's wait convolved with the one-at-a-time end-to-end times (so the client-side overhead is measured, not modelled).",
    '',
    '## Results',
    '',
    '| measure | model | measured | model vs measured | within 25% |',
    '| --- | --- | --- | --- | --- |',
  ];
  if (r.saturation !== null) {
    lines.push(
      `| saturation: jobs/s finished, closed loop of ${r.saturation.window} in flight, ${r.saturation.duration_s} s (model: workers / E[S]) | ${f(r.saturation.predicted_per_s, 2)} | ${f(r.saturation.measured_per_s, 2)} | ${percent(r.relative_error.saturation ?? 0)} | ${yes(Math.abs(r.relative_error.saturation ?? 0) <= TOLERANCE)} |`,
    );
  }
  lines.push(
    `| open loop: jobs/s completed (arrivals ${f(r.open_loop.arrived_per_s, 2)}/s, nominal ${f(r.open_loop.nominal_rate_per_s, 2)}/s) | ${f(r.predicted.throughput_per_s, 2)} | ${f(r.open_loop.throughput_per_s, 2)} | ${percent(r.relative_error.throughput)} | ${yes(r.within_25_percent.throughput)} |`,
    `| open loop: end-to-end p50 (ms) | ${f(r.predicted.end_to_end_p50_ms)} | ${f(r.open_loop.end_to_end.p50_ms)} | ${percent(r.relative_error.end_to_end_p50)} | ${yes(r.within_25_percent.end_to_end_p50)} |`,
    `| open loop: end-to-end p99 (ms; not a target) | ${f(r.predicted.end_to_end_p99_ms)} | ${f(r.open_loop.end_to_end.p99_ms)} | ${percent(r.relative_error.end_to_end_p99)} | |`,
    r.predicted_with_back_to_back_service === null
      ? '| open loop: end-to-end p50 (ms), the model given back-to-back service times | no saturation run | | | |'
      : `| open loop: end-to-end p50 (ms), the model given back-to-back service times (gaps between a busy worker's completions in the saturation run, before the load: mean ${f(r.predicted_with_back_to_back_service.service_mean_ms)} ms, cs² ${r.predicted_with_back_to_back_service.scv}, ${r.predicted_with_back_to_back_service.intervals} gaps; utilisation ${f(r.predicted_with_back_to_back_service.utilisation * 100)}%) | ${r.predicted_with_back_to_back_service.end_to_end_p50_ms === null ? 'unstable' : f(r.predicted_with_back_to_back_service.end_to_end_p50_ms)} | ${f(r.open_loop.end_to_end.p50_ms)} | ${r.relative_error.end_to_end_p50_with_back_to_back_service === null ? '' : percent(r.relative_error.end_to_end_p50_with_back_to_back_service)} | ${r.relative_error.end_to_end_p50_with_back_to_back_service === null ? '' : yes(Math.abs(r.relative_error.end_to_end_p50_with_back_to_back_service) <= TOLERANCE)} |`,
    `| open loop: end-to-end p50 (ms), the model given the service time under this load (prove_ms x ${f(r.predicted_with_loaded_service.prove_slowdown, 2)}: mean ${f(r.predicted_with_loaded_service.service_mean_ms)} ms, utilisation ${f(r.predicted_with_loaded_service.utilisation * 100)}%) | ${r.predicted_with_loaded_service.end_to_end_p50_ms === null ? 'unstable' : f(r.predicted_with_loaded_service.end_to_end_p50_ms)} | ${f(r.open_loop.end_to_end.p50_ms)} | ${r.relative_error.end_to_end_p50_with_loaded_service === null ? '' : percent(r.relative_error.end_to_end_p50_with_loaded_service)} | (not the check) |`,
    `| utilisation; P(wait) (model) | ${f(r.predicted.utilisation * 100)}%; ${f(r.predicted.wait_probability, 3)} | | | |`,
    `| worker prove_ms p50 (one at a time / under the open loop) | | ${f(r.service.serial_prove_ms.p50_ms)} / ${f(r.open_loop.prove_ms_under_load.p50_ms)} | | |`,
    '',
    `Open loop: ${r.open_loop.in_window} jobs arrived in the measured window (the first ${s.settle_s} s of ${s.duration_s} s left out), ${r.open_loop.succeeded_in_window} succeeded, ${r.open_loop.failed_in_window} failed, ${r.open_loop.unfinished} unfinished at the end. In the model P(end-to-end > the measured p50) = ${f(r.predicted.exceedance_at_measured_p50, 3)} (0.5 if it were exact at the median).`,
    '',
    "## What `zkp capacity` says for these service times at the open loop's rate (p99 target: the measured end-to-end p99)",
    '',
    '```',
    r.planner_output.trimEnd(),
    '```',
    '',
  );
  return `${lines.join('\n')}\n`;
}

process.on('SIGINT', () => {
  killAllBenchProcesses();
  process.exit(130);
});

main().then(
  // The development-key build leaves worker threads that would keep the process alive.
  () => process.exit(0),
  (error: unknown) => {
    killAllBenchProcesses();
    console.error(`bench:capacity: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
