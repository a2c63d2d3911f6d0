/**
 * The loads of the service bench, all through the client SDK (ZkpClient: a
 * generated idempotency key per submit, redirects followed), the same code
 * against the cluster and against the floor:
 *
 * - submitThroughput: many clients (each its own channel) keeping a window of
 *   submits in flight each, for a while; answers accepted submits per second.
 * - capacity: a closed loop of submit + watch to the end with a window of
 *   jobs in flight: how many jobs per second the system and its workers
 *   finish at most.
 * - openLoop: one job every 1/rate s at its scheduled time, whatever the
 *   system does (no coordinated omission), each submitted and watched until
 *   it is terminal; every job's times are kept for the timeline.
 */
import { setMaxListeners } from 'node:events';
import { CancelledError, ResourceExhaustedError, ZkpError } from '../../src/errors/index.ts';
import type { JobMessage } from '../../src/api/types.ts';
import { ZkpClient } from '../../src/client/zkp-client.ts';
import { percentile } from './raft-load.ts';

/** performance.now() as epoch ms (comparable with Date.now() in the other processes of this host). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Distribution {
  readonly samples: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly mean_ms: number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return {
    samples: sorted.length,
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    mean_ms: mean,
  };
}

function errorCode(error: unknown): string {
  return error instanceof ZkpError ? error.code : error instanceof Error ? error.name : 'UNKNOWN';
}

// ---------------------------------------------------------------- (a)

export interface ThroughputOptions {
  readonly addresses: readonly string[];
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly clients: number;
  /** Submits in flight per client. */
  readonly window: number;
  readonly duration_s: number;
  /** Unmeasured traffic first (connections, JIT). */
  readonly warmup_s: number;
  /** Jobs per call: 1 = SubmitJob, more = SubmitJobs with this many jobs (default 1). */
  readonly batch?: number;
}

export interface ThroughputResult {
  /** Jobs per call (1: SubmitJob). */
  readonly batch: number;
  readonly clients: number;
  readonly window: number;
  readonly duration_s: number;
  readonly accepted: number;
  readonly accepted_per_s: number;
  /** Errors by code (RESOURCE_EXHAUSTED = a full queue). */
  readonly errors: Record<string, number>;
  readonly latency: Distribution;
}

export async function submitThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const clients = Array.from({ length: options.clients }, () => new ZkpClient(options.addresses));
  const inputJson = JSON.stringify(options.input);
  const batch = options.batch ?? 1;
  try {
    const run = async (duration_s: number, measure: boolean) => {
      const errors: Record<string, number> = {};
      const latencies: number[] = [];
      let accepted = 0;
      const started = performance.now();
      const until = started + duration_s * 1000;
      const loop = async (client: ZkpClient): Promise<void> => {
        while (performance.now() < until) {
          const sent = performance.now();
          try {
            if (batch > 1) {
              const outcomes = await client.submitJobs(Array.from({ length: batch }, () => ({ circuit: options.circuit, inputJson })));
              let full: ResourceExhaustedError | null = null;
              for (const outcome of outcomes) {
                if (outcome.ok) {
                  if (performance.now() <= until) accepted++;
                  continue;
                }
                errors[outcome.error.code] = (errors[outcome.error.code] ?? 0) + 1;
                if (outcome.error instanceof ResourceExhaustedError) full = outcome.error;
              }
              if (measure && performance.now() <= until) latencies.push(performance.now() - sent);
              if (full !== null) await sleep(full.retryAfter_ms ?? 10);
              continue;
            }
            // retryWhenFull false: a full queue is counted, not waited out.
            await client.submitJob({ circuit: options.circuit, inputJson, retryWhenFull: false });
            if (performance.now() <= until) {
              accepted++;
              if (measure) latencies.push(performance.now() - sent);
            }
          } catch (error) {
            const code = errorCode(error);
            errors[code] = (errors[code] ?? 0) + 1;
            if (error instanceof ResourceExhaustedError) await sleep(error.retryAfter_ms ?? 10);
          }
        }
      };
      await Promise.all(clients.flatMap((client) => Array.from({ length: options.window }, () => loop(client))));
      return { accepted, errors, latencies, elapsed_s: Math.min(duration_s, (performance.now() - started) / 1000) };
    };
    if (options.warmup_s > 0) await run(options.warmup_s, false);
    const measured = await run(options.duration_s, true);
    return {
      batch,
      clients: options.clients,
      window: options.window,
      duration_s: options.duration_s,
      accepted: measured.accepted,
      accepted_per_s: measured.accepted / options.duration_s,
      errors: measured.errors,
      latency: distribution(measured.latencies),
    };
  } finally {
    for (const client of clients) client.close();
  }
}

// ---------------------------------------------------------------- jobs to the end

/** One job of the open loop or the capacity probe, times in epoch ms. */
export interface JobTrace {
  readonly scheduled_ms: number;
  /** Submit answered (the job accepted). */
  acked_ms: number;
  /** The client saw the terminal state. */
  seen_ms: number;
  job: JobMessage | null;
  error: string | null;
}

/** Submits one job and watches it to its end; never rejects. */
async function runJob(client: ZkpClient, circuit: string, inputJson: string, trace: JobTrace, signal: AbortSignal): Promise<void> {
  try {
    const submitted = await client.submitJob({ circuit, inputJson, signal });
    trace.acked_ms = wallNow();
    const final = await client.watchJob(submitted.job.id, () => {}, { signal });
    trace.seen_ms = wallNow();
    trace.job = final;
    if (final.state !== 'SUCCEEDED') trace.error = `${final.state} ${final.error_code} ${final.error_message}`;
  } catch (error) {
    trace.error = error instanceof CancelledError ? 'CANCELLED (run ended)' : `${errorCode(error)}: ${(error as Error).message}`;
  }
}

export interface CapacityResult {
  readonly window: number;
  readonly duration_s: number;
  readonly finished: number;
  readonly jobs_per_s: number;
  readonly errors: number;
  /** Median prove_ms the workers reported. */
  readonly prove_ms_p50: number;
}

/** A closed loop: `window` jobs in flight (submit, watch to the end, next), for duration_s. */
export async function capacity(
  addresses: readonly string[],
  circuit: string,
  input: Record<string, string>,
  window: number,
  duration_s: number,
): Promise<CapacityResult> {
  const client = new ZkpClient(addresses);
  const inputJson = JSON.stringify(input);
  const abort = new AbortController();
  // Every job in flight listens on it.
  setMaxListeners(0, abort.signal);
  const traces: JobTrace[] = [];
  const until = performance.now() + duration_s * 1000;
  try {
    const loop = async (): Promise<void> => {
      while (performance.now() < until) {
        const trace: JobTrace = { scheduled_ms: wallNow(), acked_ms: 0, seen_ms: 0, job: null, error: null };
        await runJob(client, circuit, inputJson, trace, abort.signal);
        if (trace.seen_ms > 0 && trace.seen_ms - performance.timeOrigin <= until) traces.push(trace);
      }
    };
    await Promise.all(Array.from({ length: window }, loop));
  } finally {
    abort.abort();
    client.close();
  }
  const ok = traces.filter((t) => t.error === null);
  const prove = ok.map((t) => t.job!.prove_ms).sort((a, b) => a - b);
  return {
    window,
    duration_s,
    finished: ok.length,
    jobs_per_s: ok.length / duration_s,
    errors: traces.length - ok.length,
    prove_ms_p50: percentile(prove, 50),
  };
}

export interface OpenLoopOptions {
  readonly addresses: readonly string[];
  readonly circuit: string;
  readonly input: Record<string, string>;
  readonly rate_per_s: number;
  readonly duration_s: number;
  /** Clients the jobs are spread over (round robin), each its own channel. */
  readonly clients: number;
  /** How long to wait for the last jobs after the schedule ends. */
  readonly drain_ms_max: number;
}

export interface OpenLoopResult {
  readonly offered_per_s: number;
  readonly duration_s: number;
  readonly traces: JobTrace[];
  /** Jobs still unfinished when the drain ended. */
  readonly unfinished: number;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const clients = Array.from({ length: options.clients }, () => new ZkpClient(options.addresses));
  const inputJson = JSON.stringify(options.input);
  const abort = new AbortController();
  // Every job in flight listens on it.
  setMaxListeners(0, abort.signal);
  const traces: JobTrace[] = [];
  const running: Promise<void>[] = [];
  const interval_ms = 1000 / options.rate_per_s;
  const count = Math.max(1, Math.round(options.rate_per_s * options.duration_s));
  const start = performance.now() + 20;
  try {
    for (let i = 0; i < count; i++) {
      const at = start + i * interval_ms;
      const wait = at - performance.now();
      if (wait > 1) await sleep(wait);
      const trace: JobTrace = { scheduled_ms: performance.timeOrigin + at, acked_ms: 0, seen_ms: 0, job: null, error: null };
      traces.push(trace);
      running.push(runJob(clients[i % clients.length]!, options.circuit, inputJson, trace, abort.signal));
    }
    const drained = Promise.all(running).then(() => true);
    const timedOut = sleep(options.drain_ms_max).then(() => false);
    await Promise.race([drained, timedOut]);
  } finally {
    abort.abort();
    await Promise.allSettled(running);
    for (const client of clients) client.close();
  }
  return { offered_per_s: options.rate_per_s, duration_s: options.duration_s, traces, unfinished: traces.filter((t) => t.seen_ms === 0).length };
}
