/**
 * Where a job's time goes between the client's submit and the client seeing
 * it verified, from four clocks of the same host (epoch ms): the client's
 * own times, the job's submitted_ms and finished_ms (stamped by the leader,
 * or the floor, when it proposed the submit and the completion; the
 * completion after verifying the proof), and the worker's log lines "job
 * started" (the assignment arrived) and "job proven and verified" (its
 * Complete leaves next), whose prove_ms is the witness, the prove and the
 * worker's own verification.
 *
 *   submit       scheduled -> submitted_ms        client send, gRPC, to the proposal
 *   to worker    submitted_ms -> worker start     Raft commit of the submit, the scheduler, the assign commit, the push
 *   worker idle  worker start -> done, less prove_ms   the worker's own handling outside the prove
 *   verify+record  worker done -> finished_ms     the Complete call, the verifier, to the proposal
 *   notify       finished_ms -> seen              Raft commit of the completion, apply, the watch stream
 *
 * The segments add up to the end-to-end time; `overhead` is end-to-end less
 * prove_ms.
 */
import { readFileSync } from 'node:fs';
import { distribution, type Distribution, type JobTrace } from './service-load.ts';

export interface WorkerJobTimes {
  /** "job started" (epoch ms). */
  readonly started_ms: number;
  /** "job proven and verified" (epoch ms). */
  readonly done_ms: number;
  readonly worker: string;
}

interface LogLine {
  readonly msg?: unknown;
  readonly job?: unknown;
  readonly attempt?: unknown;
  readonly time?: unknown;
  readonly verify_ms?: unknown;
}

function lines(path: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const parsed: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      parsed.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by a kill
    }
  }
  return parsed;
}

/** "<job>/<attempt>" -> the worker's times, from the workers' pino logs. */
export function workerTimes(logPaths: readonly string[]): Map<string, WorkerJobTimes> {
  const started = new Map<string, { at: number; worker: string }>();
  const times = new Map<string, WorkerJobTimes>();
  for (const path of logPaths) {
    for (const line of lines(path)) {
      if (typeof line.job !== 'string' || typeof line.time !== 'number') continue;
      const key = `${line.job}/${String(line.attempt)}`;
      if (line.msg === 'job started') started.set(key, { at: line.time, worker: path });
      else if (line.msg === 'job proven and verified') {
        const start = started.get(key);
        if (start !== undefined) times.set(key, { started_ms: start.at, done_ms: line.time, worker: start.worker });
      }
    }
  }
  return times;
}

/** verify_ms of each verification the floor logged. */
export function floorVerifyTimes(logPath: string): number[] {
  return lines(logPath)
    .filter((line) => line.msg === 'verified' && typeof line.verify_ms === 'number')
    .map((line) => line.verify_ms as number);
}

export const SEGMENTS = ['submit', 'to_worker', 'worker_outside_prove', 'verify_and_record', 'notify'] as const;
export type Segment = (typeof SEGMENTS)[number];

export interface TimelineSummary {
  /** Jobs with every time known. */
  readonly jobs: number;
  readonly segments: Record<Segment, Distribution>;
  readonly prove: Distribution;
}

export function timeline(traces: readonly JobTrace[], worker: ReadonlyMap<string, WorkerJobTimes>): TimelineSummary {
  const values: Record<Segment, number[]> = { submit: [], to_worker: [], worker_outside_prove: [], verify_and_record: [], notify: [] };
  const prove: number[] = [];
  let jobs = 0;
  for (const trace of traces) {
    const job = trace.job;
    if (job === null || trace.error !== null || job.state !== 'SUCCEEDED') continue;
    const times = worker.get(`${job.id}/${job.attempts}`);
    if (times === undefined) continue;
    jobs++;
    values.submit.push(job.submitted_ms - trace.scheduled_ms);
    values.to_worker.push(times.started_ms - job.submitted_ms);
    values.worker_outside_prove.push(times.done_ms - times.started_ms - job.prove_ms);
    values.verify_and_record.push(job.finished_ms - times.done_ms);
    values.notify.push(trace.seen_ms - job.finished_ms);
    prove.push(job.prove_ms);
  }
  const segments = Object.fromEntries(SEGMENTS.map((segment) => [segment, distribution(values[segment])])) as Record<Segment, Distribution>;
  return { jobs, segments, prove: distribution(prove) };
}
