/**
 * Load generators for bench/raft.ts: a closed loop (a fixed window of puts in
 * flight, for throughput) and an open loop (puts at a fixed offered rate, with
 * latency measured from each put's scheduled time so that a stall counts
 * against every put it delays: no coordinated omission).
 */
/** Anything that can put (a KvClient, or a KvClusterClient that follows redirects). */
export interface Putter {
  put(key: string, value: Uint8Array): Promise<number>;
}

export interface ThroughputResult {
  readonly window: number;
  readonly duration_s: number;
  readonly commits: number;
  readonly errors: number;
  readonly commits_per_s: number;
}

export async function closedLoop(client: Putter, window: number, duration_s: number, keyPrefix: string): Promise<ThroughputResult> {
  const value = new Uint8Array(64).fill(7);
  let commits = 0;
  let errors = 0;
  let next = 0;
  const started_ms = performance.now();
  const end_ms = started_ms + duration_s * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end_ms) {
      try {
        await client.put(`${keyPrefix}${next++ % 10_000}`, value);
        commits++;
      } catch (error) {
        if (errors++ === 0) console.warn(`    first error: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const elapsed_s = (performance.now() - started_ms) / 1000;
  return { window, duration_s: elapsed_s, commits, errors, commits_per_s: commits / elapsed_s };
}

export interface LatencyResult {
  readonly offered_per_s: number;
  readonly duration_s: number;
  readonly samples: number;
  readonly errors: number;
  readonly achieved_per_s: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * `trace`, when given, receives four numbers per committed put: scheduled,
 * called and answered times (performance.timeOrigin-based wall ms, comparable
 * with the nodes' RAFT_TRACE_DIR traces) and the log index it was applied at.
 */
export async function openLoop(
  client: Putter,
  offered_per_s: number,
  duration_s: number,
  keyPrefix: string,
  trace?: number[],
  samples_ms?: number[],
): Promise<LatencyResult> {
  const value = new Uint8Array(64).fill(9);
  const latencies_ms: number[] = [];
  const inFlight: Promise<void>[] = [];
  let errors = 0;
  let issued = 0;
  const total = Math.round(offered_per_s * duration_s);
  const started_ms = performance.now();
  while (issued < total) {
    const now_ms = performance.now();
    const due = Math.min(total, Math.floor(((now_ms - started_ms) / 1000) * offered_per_s) + 1);
    for (; issued < due; issued++) {
      const scheduled_ms = started_ms + (issued / offered_per_s) * 1000;
      const called_ms = performance.now();
      inFlight.push(
        client.put(`${keyPrefix}${issued % 10_000}`, value).then(
          (index) => {
            const done_ms = performance.now();
            latencies_ms.push(done_ms - scheduled_ms);
            trace?.push(performance.timeOrigin + scheduled_ms, performance.timeOrigin + called_ms, performance.timeOrigin + done_ms, index);
          },
          (error: unknown) => {
            if (errors++ === 0) console.warn(`    first error: ${(error as Error).message}`);
          },
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  const elapsed_s = (performance.now() - started_ms) / 1000;
  samples_ms?.push(...latencies_ms);
  return summarizeLatencies(latencies_ms, offered_per_s, elapsed_s, errors);
}

/** Percentiles of latencies measured over `duration_s` at `offered_per_s` (also used to pool several runs). */
export function summarizeLatencies(latencies_ms: readonly number[], offered_per_s: number, duration_s: number, errors: number): LatencyResult {
  const elapsed_s = duration_s;
  const sorted = [...latencies_ms].sort((a, b) => a - b);
  return {
    offered_per_s,
    duration_s: elapsed_s,
    samples: sorted.length,
    errors,
    achieved_per_s: sorted.length / elapsed_s,
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted[sorted.length - 1] ?? Number.NaN,
  };
}
