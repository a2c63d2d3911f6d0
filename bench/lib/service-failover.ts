/**
 * (c) of the service bench: failover as a waiting client sees it. Each trial
 * submits a job, watches it with the SDK's watchJob, and the moment the
 * watch shows the job RUNNING (the worker has started it: its witness, prove
 * and verification still lie ahead), kills the leader with SIGKILL. Measured
 * from the kill: a new leader elected (the first leader-change line of a
 * surviving coordinator naming another leader), the worker done proving (its
 * log), the new leader recording the result (the job's finished_ms), and the
 * client seeing the job terminal, the figure that counts. A trial counts
 * only when the job was finished by the new leader (finished_ms after the
 * kill; otherwise the result was already on its way and the trial is run
 * again). Then the killed coordinator is restarted and waited for until it
 * has caught up, so every trial starts from a whole cluster.
 */
import { ZkpClient } from '../../src/client/zkp-client.ts';
import type { JobMessage } from '../../src/api/types.ts';
import type { ServiceCluster } from './service-cluster.ts';
import type { ProcEvent } from './service-procs.ts';
import { wallNow } from './service-load.ts';
import { workerTimes } from './service-timeline.ts';

export interface FailoverTrial {
  readonly trial: number;
  readonly killed: string;
  readonly newLeader: string | null;
  /** Kill -> a surviving coordinator reports a new leader. */
  readonly election_ms: number | null;
  /** Kill -> the worker finished proving (its log line; null when not found): the part of the wait that is the prove itself. */
  readonly workerDone_ms: number | null;
  /** Kill -> the new leader proposed the completion (the job's finished_ms, after verifying the proof). */
  readonly recorded_ms: number | null;
  /** Kill -> the client sees the job terminal. */
  readonly finished_ms: number;
  readonly jobId: string;
  readonly state: string;
  /** Runs of this trial thrown away because the job finished before the kill took effect. */
  readonly redone: number;
}

export interface FailoverOptions {
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly kills: number;
  /** Bound on one trial (the job finishing after the kill). */
  readonly trial_ms_max: number;
  /** Pause after the killed coordinator caught up, before the next trial. */
  readonly settle_ms: number;
  /** The workers' logs, for when each finished proving the trial's job. */
  readonly workerLogs: readonly string[];
  /** Makes the workers' logs complete up to now. */
  readonly flushLogs: () => Promise<void>;
  readonly say: (line: string) => void;
}

const REDO_MAX = 5;
/** Diagnostics: with BENCH_FAILOVER_TRACE=1, the waiting client's events and failed call attempts are printed with their times (epoch ms). */
const TRACE = process.env.BENCH_FAILOVER_TRACE === '1';

function trace(line: string): void {
  console.log(`      ${wallNow().toFixed(0)} ${line}`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function failoverTrials(cluster: ServiceCluster, options: FailoverOptions): Promise<FailoverTrial[]> {
  const trials: FailoverTrial[] = [];
  const client = new ZkpClient(
    cluster.addresses,
    TRACE ? { logger: { debug: (fields, message) => trace(`client router: ${message} ${JSON.stringify(fields)}`) } } : {},
  );
  try {
    for (let trial = 0; trial < options.kills; trial++) {
      let redone = 0;
      for (;;) {
        const result = await oneTrial(cluster, client, options, trial, redone);
        if (result !== 'redo') {
          trials.push(result);
          options.say(
            `    trial ${trial}: killed ${result.killed}; new leader ${result.newLeader ?? '?'} after ${fmt(result.election_ms)} ms; the worker finished proving after ${fmt(result.workerDone_ms)} ms, the new leader recorded the result after ${fmt(result.recorded_ms)} ms, the client saw the job ${result.state} after ${result.finished_ms.toFixed(0)} ms${redone > 0 ? ` (${redone} runs redone: the job finished before the kill)` : ''}`,
          );
          break;
        }
        redone++;
        if (redone > REDO_MAX) throw new Error(`failover trial ${trial}: the job finished before the kill ${redone} times in a row; use a slower circuit`);
      }
    }
  } finally {
    client.close();
  }
  return trials;
}

function fmt(value: number | null): string {
  return value === null ? '?' : value.toFixed(0);
}

async function oneTrial(cluster: ServiceCluster, client: ZkpClient, options: FailoverOptions, trial: number, redone: number): Promise<FailoverTrial | 'redo'> {
  const leader = await cluster.waitForLeader(15_000);
  const victim = cluster.coordinator(leader.id);
  // Written by the callbacks below (an object, so the compiler does not narrow the fields to their first values).
  const seen: {
    killed_perf: number | null;
    killed_wall: number;
    killing: Promise<void> | null;
    election_perf: number | null;
    newLeader: string | null;
  } = { killed_perf: null, killed_wall: 0, killing: null, election_perf: null, newLeader: null };
  const stops = cluster.coordinators
    .filter((c) => c.id !== leader.id)
    .map((c) =>
      c.process.onEvent((event: ProcEvent) => {
        if (seen.killed_perf === null || seen.election_perf !== null || event.event !== 'leader-change') return;
        const leaderId = event.leaderId;
        if (typeof leaderId === 'string' && leaderId !== leader.id) {
          seen.election_perf = event.seen_ms;
          seen.newLeader = leaderId;
        }
      }),
    );
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.trial_ms_max);
  let final: JobMessage | null = null;
  try {
    const submitted = await client.submitJob({
      circuit: options.circuit,
      inputJson: options.input,
      idempotencyKey: `failover-${trial}-${redone}-${process.pid}`,
    });
    final = await client.watchJob(
      submitted.job.id,
      (job) => {
        if (TRACE) trace(`client event: ${job.state} ${job.progress?.stage ?? ''}`);
        if (seen.killed_perf === null && job.state === 'RUNNING') {
          seen.killed_perf = performance.now();
          seen.killed_wall = wallNow();
          seen.killing = victim.process.kill9();
          if (TRACE) trace(`killed ${leader.id}`);
        }
      },
      { signal: abort.signal },
    );
  } catch (error) {
    // Not finished within trial_ms_max: recorded as such (after the restart below), not thrown.
    if (!abort.signal.aborted || seen.killed_perf === null) throw error;
  } finally {
    clearTimeout(timer);
    for (const stop of stops) stop();
  }
  const finished_perf = performance.now();
  if (seen.killing !== null) await seen.killing;
  const killed_perf = seen.killed_perf;
  if (killed_perf === null) return 'redo';
  // The leader's clock stamps finished_ms when it proposes the completion: at or before the kill, the old leader recorded it.
  const finishedBeforeKill = final !== null && final.finished_ms > 0 && final.finished_ms <= seen.killed_wall;
  const newLeaderId = await cluster.waitForLeader(15_000);
  await cluster.restartAndCatchUp(leader.id, newLeaderId.id, 60_000);
  await sleep(options.settle_ms);
  if (finishedBeforeKill) return 'redo';
  await options.flushLogs();
  const done = final === null ? undefined : workerTimes(options.workerLogs).get(`${final.id}/${final.attempts}`);
  return {
    trial,
    killed: leader.id,
    newLeader: seen.newLeader,
    election_ms: seen.election_perf === null ? null : seen.election_perf - killed_perf,
    workerDone_ms: done === undefined ? null : done.done_ms - seen.killed_wall,
    recorded_ms: final === null || final.finished_ms === 0 ? null : final.finished_ms - seen.killed_wall,
    finished_ms: finished_perf - killed_perf,
    jobId: final?.id ?? '',
    state: final === null ? `not finished within ${options.trial_ms_max} ms` : final.state,
    redone,
  };
}
