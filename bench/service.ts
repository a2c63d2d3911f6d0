/**
 * Proving service benchmark (npm run bench:service): the embedded database,
 * 3 coordinators and 2 workers as real processes on loopback proving a
 * trivial circuit, against a floor in the same run (one process serving the
 * same gRPC API from an in-memory queue, the same verifier, the same
 * workers), which shows what Raft, the store and the scheduler cost.
 *
 *   (a) submits/s accepted with many concurrent SDK clients (workers
 *       stopped, so the jobs stay queued);
 *   (b) service overhead: submit -> verified result seen by the client,
 *       less the worker's own prove_ms, p50/p99, at an open-loop rate (100
 *       jobs/s, or half the capacity measured when the workers cannot keep
 *       up with that), with a timeline of where the time goes and the CPU
 *       each process spends per job;
 *   (c) failover seen by a waiting client: kill -9 the leader while the
 *       client watches a running job, N times (the cluster only).
 *
 * Writes bench/results/service-<host>[-<tag>].json and .md (and a copy in
 * the dated folder, bench/lib/results.ts).
 *
 * Flags: npm run bench:service -- --help
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { findAddonFile } from '../src/addons/find.ts';
import { ZkpClient } from '../src/client/zkp-client.ts';
import { BenchCli } from './lib/cli.ts';
import { writeResults } from './lib/results.ts';
import { type BenchCircuit, benchInput, tinyCircuit } from './lib/service-circuit.ts';
import { FloorSystem, ServiceCluster, WorkerGroup } from './lib/service-cluster.ts';
import { failoverTrials } from './lib/service-failover.ts';
import { distribution } from './lib/service-load.ts';
import {
  flushWorkerLogs,
  idleCpu,
  loadavg,
  measureCapacity,
  measureOverhead,
  measureThroughput,
  measureThroughputSweep,
  type RateProbe,
  type SystemUnderTest,
  sustainableRate,
  type ThroughputPhase,
  throughputLevels,
  warmUp,
} from './lib/service-phases.ts';
import {
  analysisNotes,
  type FloorReport,
  formatMarkdown,
  type LabelledProfile,
  type MachineInfo,
  ratio,
  type ServiceBenchReport,
  summarizeFailover,
  type SystemReport,
  type Target,
} from './lib/service-report.ts';
import { type BenchProcess, killAllBenchProcesses } from './lib/service-procs.ts';
import { mainThreadProfiles, summarizeProfile } from './lib/service-profile.ts';
import { floorVerifyTimes } from './lib/service-timeline.ts';

const cli = new BenchCli(
  'bench:service',
  `usage: npm run bench:service -- [flags]

The proving service (embedded database, 3 coordinators, 2 workers, real
processes on loopback) against a floor (one process, in-memory queue, the same
gRPC API, verifier and workers) in the same run. Writes
bench/results/service-<host>[-<tag>].json and .md.

  --duration S          length of the overhead run (b) (default 25)
  --rate R              offered jobs/s of (b) (default 100); when the cluster
                        finishes fewer jobs/s than R / 0.5, (b) runs at half
                        the measured capacity and the report says so
  --kills N             leader kills of the failover trials (c) (default 20;
                        0 skips them)
  --submit-s S          length of each level of the submit run (a) (default 4)
  --clients N           concurrent SDK clients of (a)'s highest level (default
                        16); (a) runs a quarter, half and all of them
  --window N            submits in flight per client at (a)'s highest level
                        (default 32)
  --submit-batch N      jobs per SubmitJobs call of (a)'s batched run, 4
                        clients x 4 calls in flight (default 100; 0 skips it)
  --capacity-s S        length of the capacity probe (default 5)
  --workers N           worker processes (default 2)
  --worker-backends L   the workers' backends, best first (default native,snarkjs;
                        snarkjs when the native addon is not built)
  --database-url URL    a PostgreSQL server instead of the embedded database
  --skip-floor          leave out the floor
  --state-dir DIR       where the processes keep data and logs (default a new
                        temporary directory, removed at the end)
  --keep-state          keep the state directory (logs) at the end
  --cpu-prof            run every coordinator, worker and the floor under
                        node --cpu-prof and report where their CPU went (the
                        profiles stay in the state directory)
  --quick               a short run (for the smoke test): (a) 1 s, capacity
                        2 s, (b) 3 s, 1 kill; explicit flags still apply
  --tag NAME            write service-<host>-<NAME>.* instead
  --help                this text`,
  {
    duration: { type: 'string' },
    rate: { type: 'string' },
    kills: { type: 'string' },
    'submit-s': { type: 'string' },
    clients: { type: 'string' },
    window: { type: 'string' },
    'capacity-s': { type: 'string' },
    'submit-batch': { type: 'string' },
    workers: { type: 'string' },
    'worker-backends': { type: 'string' },
    'database-url': { type: 'string' },
    'skip-floor': { type: 'boolean' },
    'state-dir': { type: 'string' },
    'keep-state': { type: 'boolean' },
    'cpu-prof': { type: 'boolean' },
    quick: { type: 'boolean' },
    tag: { type: 'string' },
  },
);
const quick = cli.boolean('quick');
const duration_s = cli.number('duration', quick ? 3 : 25);
const rate = cli.number('rate', 100);
const kills = cli.int('kills', quick ? 1 : 20, 0, 1000);
const submit_s = cli.number('submit-s', quick ? 1 : 4);
const clients = cli.int('clients', quick ? 4 : 16, 1, 256);
const window = cli.int('window', quick ? 16 : 32, 1, 4096);
const capacity_s = cli.number('capacity-s', quick ? 2 : 5);
const submitBatch = cli.int('submit-batch', 100, 0, 1000);
const workerCount = cli.int('workers', 2, 1, 16);
// native proves the trivial circuit fastest; without the addon (not built, or being rebuilt) the workers prove with snarkjs and the report says so.
const nativeBuilt = existsSync(findAddonFile('zkp_native.node', import.meta.url));
const workerBackends = cli.list('worker-backends', nativeBuilt ? ['native', 'snarkjs'] : ['snarkjs'], ['webgpu', 'native', 'snarkjs']).join(',');
const databaseUrl = cli.string('database-url') ?? '';
if (databaseUrl !== '' && !/^postgres(ql)?:\/\//.test(databaseUrl)) cli.fail(`--database-url ${JSON.stringify(databaseUrl)} is not a postgresql:// URL`);
const skipFloor = cli.boolean('skip-floor');
const cpuProf = cli.boolean('cpu-prof');
const keepState = cli.boolean('keep-state') || cpuProf;
const tag = cli.string('tag');
if (tag !== undefined && !/^[A-Za-z0-9._-]+$/.test(tag))
  cli.fail(`--tag ${JSON.stringify(tag)}: use letters, digits, '.', '_' and '-' (it becomes part of a file name)`);
const stateDirFlag = cli.string('state-dir');

/** When the requested rate is above what the workers can prove, (b) runs at the highest of these shares of the measured capacity that the cluster sustains (service-phases.ts: sustainableRate); --quick takes the middle one without probing. */
const RATE_SHARES = [0.8, 0.65, 0.5, 0.35] as const;
const QUICK_SHARE = 0.5;
const TINY = 'tiny';
/** The trivial circuit again: the job's own remaining work after RUNNING (witness, prove, verify) is small next to a failover. */
const FAILOVER_CIRCUIT = TINY;
const OVERHEAD_CLIENTS = 4;
const RATE_PROBE_S = 4;

const started_perf = performance.now();
/** One line of progress, prefixed with the seconds since the start. */
const say = (line: string): void => console.log(`[${((performance.now() - started_perf) / 1000).toFixed(1).padStart(6)} s] ${line}`);

function machineInfo(): MachineInfo {
  return {
    host: os.hostname(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_bytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    niceness: os.getPriority(),
    loadavg_start: loadavg(),
    loadavg_end: '',
  };
}

function systemOf(
  name: 'cluster' | 'floor',
  addresses: readonly string[],
  core: () => { label: string; process: BenchProcess }[],
  workers: WorkerGroup,
  elections?: (from_perf: number, to_perf: number) => number,
): SystemUnderTest {
  return {
    name,
    addresses,
    processes: () => [...core(), ...workers.processes.map((p) => ({ label: p.spec.label, process: p }))],
    workerLogs: workers.logPaths,
    ...(elections === undefined ? {} : { elections }),
  };
}

type Phases = SystemReport;

/** warm-up, capacity, (b) at `chooseRate(capacity)`, then `whileWorkers`, then stop the workers and run (a). */
async function measureSystem(
  system: SystemUnderTest,
  workers: WorkerGroup,
  chooseRate: (capacity_per_s: number) => Promise<number>,
  whileWorkers: () => Promise<void>,
): Promise<Phases> {
  const input = benchInput();
  const idle_s = quick ? 1 : 3;
  say(`  idle for ${idle_s} s (CPU of timers, heartbeats and Raft ticks alone)`);
  const idle_cpu_ms_per_s = await idleCpu(system, idle_s);
  say(`  warm-up (circuits resident on every worker)`);
  await warmUp(system, { circuit: TINY, input, workers: workerCount, duration_s: quick ? 1 : 3 });
  say(`  capacity: closed loop of ${workerCount * 2} jobs in flight for ${capacity_s} s`);
  const capacity = await measureCapacity(system, TINY, input, workerCount * 2, capacity_s);
  say(`    ${capacity.jobs_per_s.toFixed(1)} jobs/s finished (${capacity.errors} errors), prove_ms p50 ${capacity.prove_ms_p50}`);
  const rate_per_s = await chooseRate(capacity.jobs_per_s);
  say(`  (b) overhead: open loop at ${rate_per_s} jobs/s for ${duration_s} s`);
  const overhead = await measureOverhead(system, { circuit: TINY, input, rate_per_s, duration_s, clients: OVERHEAD_CLIENTS });
  say(
    `    overhead p50 ${overhead.overhead.p50_ms.toFixed(1)} ms, p99 ${overhead.overhead.p99_ms.toFixed(1)} ms; end-to-end p50 ${overhead.end_to_end.p50_ms.toFixed(1)} ms; ${overhead.succeeded} succeeded, ${overhead.failed} failed, ${overhead.unfinished} unfinished; load ${overhead.loadavg_start} -> ${overhead.loadavg_end}`,
  );
  if (overhead.error_samples.length > 0) say(`    errors: ${overhead.error_samples.join(' | ')}`);
  await whileWorkers();
  say('  stopping the workers (the submits of (a) stay queued)');
  await workers.stop();
  const levels = quick ? [{ clients, window }] : throughputLevels(clients, window);
  say(`  (a) submits: ${levels.map((l) => `${l.clients} x ${l.window}`).join(', ')} in flight, ${submit_s} s each`);
  const sweep = await measureThroughputSweep(system, { circuit: TINY, input, levels, duration_s: submit_s, warmup_s: quick ? 0.5 : 2, say });
  let throughputBatched: ThroughputPhase | null = null;
  if (submitBatch > 0) {
    say(`  (a) batched: SubmitJobs of ${submitBatch} jobs, 4 clients x 4 calls in flight, ${submit_s} s`);
    throughputBatched = await measureThroughput(system, {
      circuit: TINY,
      input,
      clients: 4,
      window: 4,
      batch: submitBatch,
      duration_s: submit_s,
      warmup_s: quick ? 0.5 : 1,
    });
    say(
      `    ${throughputBatched.accepted_per_s.toFixed(0)} jobs/s accepted, call latency p50 ${throughputBatched.latency.p50_ms.toFixed(1)} ms p99 ${throughputBatched.latency.p99_ms.toFixed(1)} ms, refused ${JSON.stringify(throughputBatched.errors)}${throughputBatched.elections === null ? '' : `, ${throughputBatched.elections} leaders elected`}`,
    );
  }
  return { idle_cpu_ms_per_s, capacity, overhead, throughput: sweep.best, throughputLevels: sweep.levels, throughputBatched };
}

/** The main-thread CPU profile of every profiled process run that exited cleanly, labelled. */
function profileSummaries(dir: string, processes: readonly { label: string; process: BenchProcess }[]): LabelledProfile[] {
  const files = [...mainThreadProfiles(join(dir, 'cluster')), ...mainThreadProfiles(join(dir, 'floor'))];
  const summaries: LabelledProfile[] = [];
  for (const { label, process: proc } of processes) {
    proc.pids.forEach((pid, run) => {
      const file = files.find((f) => f.pid === pid);
      if (file !== undefined) summaries.push({ label: proc.pids.length > 1 ? `${label} (run ${run + 1})` : label, summary: summarizeProfile(file.path, pid) });
    });
  }
  return summaries;
}

async function registerCircuits(addresses: readonly string[], circuits: readonly BenchCircuit[]): Promise<void> {
  const client = new ZkpClient(addresses);
  try {
    for (const circuit of circuits) {
      const registered = await client.registerCircuit({
        name: circuit.built.name,
        wasm: circuit.built.wasm,
        zkey: circuit.built.zkey,
        vkey: circuit.built.vkey,
      });
      if (registered.circuit.id !== circuit.id) throw new Error(`circuit ${circuit.built.name} registered as ${registered.circuit.id}, expected ${circuit.id}`);
    }
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  say(`service bench on ${machine.host}: ${machine.cpu_model}, ${machine.cores} cores, load average ${machine.loadavg_start}`);
  const stateDir = stateDirFlag ?? mkdtempSync(join(os.tmpdir(), 'zkp-bench-service-'));
  mkdirSync(stateDir, { recursive: true });
  say(`state and logs in ${stateDir}`);
  const tiny = await tinyCircuit((line) => say(`  ${line}`));
  const circuitsFile = join(stateDir, 'circuits.json');
  writeFileSync(circuitsFile, JSON.stringify([tiny]));
  const queueMax = 200_000;
  const notes: string[] = [];
  let rate_per_s = rate;
  let rateWhy = `${rate} jobs/s as asked.`;
  let clusterCapacity = Number.NaN;
  let rateProbes: RateProbe[] = [];

  // ---------------------------------------------------------------- the cluster
  say('cluster: database, coordinators, workers');
  const profiled: { label: string; process: BenchProcess }[] = [];
  const profileArgs = (system: string): string[] => (cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(stateDir, 'profiles', system)}`] : []);
  const cluster = await ServiceCluster.start({
    stateDir: join(stateDir, 'cluster'),
    coordinators: 3,
    databaseUrl,
    queueMax,
    logLevel: 'info',
    say: (l) => say(`  ${l}`),
    nodeArgs: profileArgs('cluster'),
  });
  profiled.push(...cluster.coordinators.map((c) => ({ label: `cluster ${c.process.spec.label}`, process: c.process })));
  let clusterPhases: Phases | null = null;
  let failover: ServiceBenchReport['cluster']['failover'] = null;
  try {
    await registerCircuits(cluster.addresses, [tiny]);
    const workers = new WorkerGroup(join(stateDir, 'cluster'), 'cluster', cluster.addresses, {
      count: workerCount,
      backends: workerBackends,
      logLevel: 'info',
      nodeArgs: profileArgs('cluster'),
    });
    profiled.push(...workers.processes.map((p) => ({ label: p.spec.label, process: p })));
    say(`  starting ${workerCount} workers`);
    await workers.start();
    let leaderId = (await cluster.waitForLeader(10_000)).id;
    const core = () => cluster.processes.map((p) => (p.label === `coordinator ${leaderId}` ? { ...p, label: `${p.label} (leader)` } : p));
    const system = systemOf('cluster', cluster.addresses, core, workers, (from, to) => cluster.electionsBetween(from, to));
    try {
      clusterPhases = await measureSystem(
        system,
        workers,
        async (capacity_per_s) => {
          clusterCapacity = capacity_per_s;
          if (capacity_per_s * RATE_SHARES[0] >= rate) return rate;
          if (quick) {
            rate_per_s = Math.max(0.5, Math.floor(capacity_per_s * QUICK_SHARE * 2) / 2);
            rateWhy = `the target rate ${rate} jobs/s was NOT reached: the cluster's ${workerCount} workers finish at most ${capacity_per_s.toFixed(1)} jobs/s of the trivial circuit on this host (closed loop); --quick ran (b) at ${rate_per_s} jobs/s (${QUICK_SHARE * 100}% of that, not probed), on the cluster and on the floor alike.`;
            return rate_per_s;
          }
          say(
            `  the workers cannot prove ${rate} jobs/s: probing for the highest rate the cluster sustains (${RATE_SHARES.map((s) => `${s * 100}%`).join(', ')} of ${capacity_per_s.toFixed(1)} jobs/s, ${RATE_PROBE_S} s each)`,
          );
          const found = await sustainableRate(system, {
            circuit: TINY,
            input: benchInput(),
            capacity_per_s,
            shares: RATE_SHARES,
            probe_s: RATE_PROBE_S,
            clients: OVERHEAD_CLIENTS,
          });
          rateProbes = found.probes;
          for (const probe of found.probes)
            say(
              `    ${probe.rate_per_s} jobs/s: end-to-end p50 ${probe.firstHalf_p50_ms.toFixed(0)} ms in the first half, ${probe.secondHalf_p50_ms.toFixed(0)} ms in the second, ${probe.unfinished} unfinished: ${probe.stable ? 'sustained' : 'queue growing'}`,
            );
          rate_per_s = found.rate_per_s;
          rateWhy = `the target rate ${rate} jobs/s was NOT reached: the cluster's ${workerCount} workers finish at most ${capacity_per_s.toFixed(1)} jobs/s of the trivial circuit on this host (closed loop of ${workerCount * 2} jobs); the highest rate the cluster sustained in ${RATE_PROBE_S}-second open-loop probes (${RATE_SHARES.map((s) => `${s * 100}%`).join(', ')} of that, highest first; sustained = the queue does not grow) was ${rate_per_s} jobs/s, so (b) ran at ${rate_per_s} jobs/s on the cluster and on the floor alike.`;
          return rate_per_s;
        },
        async () => {
          if (kills === 0) return;
          say(`  (c) failover: ${kills} kills of the leader while a client waits on a ${FAILOVER_CIRCUIT} job`);
          failover = summarizeFailover(
            await failoverTrials(cluster, {
              circuit: FAILOVER_CIRCUIT,
              input: benchInput(),
              kills,
              trial_ms_max: 30_000,
              settle_ms: 500,
              workerLogs: workers.logPaths,
              flushLogs: () => flushWorkerLogs(system),
              say,
            }),
          );
          leaderId = (await cluster.waitForLeader(10_000)).id;
        },
      );
    } finally {
      await workers.stop();
    }
  } finally {
    await cluster.stop();
  }

  // ---------------------------------------------------------------- the floor
  let floorReport: FloorReport | null = null;
  if (!skipFloor) {
    say('floor: one process, in-memory queue, the same API, verifier and workers');
    const floorDir = join(stateDir, 'floor');
    const floor = new FloorSystem({ stateDir: floorDir, circuitsFile, queueMax, nodeArgs: profileArgs('floor') });
    profiled.push({ label: 'floor', process: floor.process });
    await floor.start();
    try {
      const workers = new WorkerGroup(floorDir, 'floor', [floor.address], {
        count: workerCount,
        backends: workerBackends,
        logLevel: 'info',
        nodeArgs: profileArgs('floor'),
      });
      profiled.push(...workers.processes.map((p) => ({ label: p.spec.label, process: p })));
      say(`  starting ${workerCount} workers`);
      await workers.start();
      try {
        const system = systemOf('floor', [floor.address], () => [{ label: 'floor', process: floor.process }], workers);
        const phases = await measureSystem(
          system,
          workers,
          async () => rate_per_s,
          async () => {},
        );
        floorReport = { ...phases, verify: distribution(floorVerifyTimes(floor.logPath)) };
      } finally {
        await workers.stop();
      }
    } finally {
      await floor.stop();
    }
  }

  // ---------------------------------------------------------------- the report
  machine.loadavg_end = loadavg();
  if (clusterPhases === null) throw new Error('the cluster phases did not run');
  const b = clusterPhases.overhead;
  const a = clusterPhases.throughput;
  const reached = rate_per_s >= rate;
  const fo = failover as ServiceBenchReport['cluster']['failover'];
  const targets: Target[] = [
    {
      measure: '(a) submits/s accepted',
      target: '>= 2,000',
      value: a === null ? '-' : a.accepted_per_s.toFixed(0),
      met: a === null ? null : a.accepted_per_s >= 2000,
    },
    {
      measure: `(a) jobs/s accepted through SubmitJobs, ${submitBatch} jobs per call`,
      target: '>= 2,000',
      value: clusterPhases.throughputBatched === null ? '-' : clusterPhases.throughputBatched.accepted_per_s.toFixed(0),
      met: clusterPhases.throughputBatched === null ? null : clusterPhases.throughputBatched.accepted_per_s >= 2000,
    },
    {
      measure: '(b) service overhead p50 at 100 jobs/s',
      target: '<= 20 ms',
      value: b === null ? '-' : `${b.overhead.p50_ms.toFixed(1)} ms at ${b.offered_per_s} jobs/s`,
      met: b === null ? null : reached && b.overhead.p50_ms <= 20,
    },
    {
      measure: '(b) service overhead p99 at 100 jobs/s',
      target: '<= 100 ms',
      value: b === null ? '-' : `${b.overhead.p99_ms.toFixed(1)} ms at ${b.offered_per_s} jobs/s`,
      met: b === null ? null : reached && b.overhead.p99_ms <= 100,
    },
    {
      measure: `(c) kill -9 leader -> waiting client sees the job finish, median of ${kills}`,
      target: '<= 1,000 ms',
      value: fo === null ? '-' : `${fo.finished.median_ms.toFixed(0)} ms (max ${fo.finished.max_ms.toFixed(0)})`,
      met: fo === null ? null : fo.finished.median_ms <= 1000,
    },
  ];
  if (!reached) notes.push(rateWhy);
  if (!workerBackends.startsWith('native'))
    notes.push(
      `The workers proved with ${workerBackends}, not the native addon${nativeBuilt ? '' : ' (build/Release/zkp_native.node was missing when the bench started)'}: prove_ms and the capacity are not those of a native worker.`,
    );
  const floorVerify = floorReport?.verify ?? null;
  if (b !== null && floorVerify !== null && floorVerify.samples > 0) {
    notes.push(
      `The coordinator verifies every proof before it records it (verifyProof in its crypto process: the native verifier when the addon is built, else snarkjs); on the floor, with the same verifier, one verification took ${floorVerify.p50_ms.toFixed(1)} ms at the median (p99 ${floorVerify.p99_ms.toFixed(1)} ms): that much of the overhead is the verifier, whatever the control plane does.`,
    );
  }
  notes.push(...analysisNotes({ ...clusterPhases, failover: fo }, floorReport));
  const report: ServiceBenchReport = {
    bench: 'service',
    date: new Date().toISOString(),
    command: `npm run bench:service -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    settings: {
      coordinators: 3,
      workers: workerCount,
      workerBackends,
      database: databaseUrl === '' ? 'embedded (PGlite + pglite-socket)' : 'PostgreSQL server (--database-url)',
      circuit: `${TINY} (${tiny.built.nConstraints} constraints, domain 2^${tiny.built.power})`,
      queueMax,
      duration_s,
      rate_asked_per_s: rate,
      kills,
      submit_s,
      clients,
      window,
      submitBatch,
      capacity_s,
      overheadClients: OVERHEAD_CLIENTS,
      rateShares: RATE_SHARES,
      rateProbe_s: RATE_PROBE_S,
      quick,
    },
    rate: { target_per_s: rate, measured_per_s: rate_per_s, reached, why: rateWhy, capacity_per_s: clusterCapacity, probes: rateProbes },
    cluster: { ...clusterPhases, failover: fo },
    floor: floorReport,
    ratios: {
      submits_per_s: ratio(a?.accepted_per_s, floorReport?.throughput?.accepted_per_s),
      batched_per_s: ratio(clusterPhases.throughputBatched?.accepted_per_s, floorReport?.throughputBatched?.accepted_per_s),
      overhead_p50: ratio(b?.overhead.p50_ms, floorReport?.overhead?.overhead.p50_ms),
      overhead_p99: ratio(b?.overhead.p99_ms, floorReport?.overhead?.overhead.p99_ms),
      capacity: ratio(clusterCapacity, floorReport?.capacity?.jobs_per_s),
    },
    targets,
    notes,
    profiles: cpuProf ? profileSummaries(join(stateDir, 'profiles'), profiled) : null,
  };
  const markdown = formatMarkdown(report);
  console.log(`\n${markdown}`);
  const safeHost = `${machine.host}${tag !== undefined ? `-${tag}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const written = writeResults(`service-${safeHost}`, { json: `${JSON.stringify(report, null, 2)}\n`, md: markdown });
  console.log(`wrote ${written.join(', ')}`);
  if (stateDirFlag === undefined && !keepState) rmSync(stateDir, { recursive: true, force: true });
}

// Interrupted, or ending on an error that skipped a clean stop: end every process this bench started (they would otherwise keep their ports and CPU).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllBenchProcesses();
    process.exit(130);
  });
}
process.on('exit', () => killAllBenchProcesses());

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
