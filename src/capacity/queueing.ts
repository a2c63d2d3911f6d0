/**
 * Queueing arithmetic of the capacity planner: c identical workers, Poisson
 * arrivals (rate λ), one job per worker at a time, service times drawn from a
 * measured distribution (M/G/c). Times are seconds, rates per second.
 *
 * - The probability that a job waits is Erlang C, P(W > 0) = C(c, a) with
 *   a = λ·E[S] (exact for M/M/c, used as is for M/G/c).
 * - Given that it waits, the wait is taken as exponential with mean
 *   (1 + cs²)/2 / (cμ − λ), cs² the squared coefficient of variation of the
 *   service time. Its mean E[W] = C(c, a)/(cμ − λ) · (1 + cs²)/2 is the
 *   Allen–Cunneen approximation; exact for M/M/c (cs² = 1) and for M/G/1
 *   (Pollaczek–Khinchine).
 * - The time in the system is T = W + S with W independent of S, S from the
 *   empirical distribution of the samples (a step function, no smoothing):
 *   P(T > t) = (1 − P(W>0))·P(S > t) + P(W>0)·mean over samples s of P(W' > t − s).
 */
import { InvalidArgumentError } from '../errors/index.ts';

/** Erlang B blocking probability for `servers` servers and `offered_load` Erlangs (any load; stable recursion). */
export function erlangB(servers: number, offered_load: number): number {
  assertServers(servers);
  let blocking = 1;
  for (let k = 1; k <= servers; k++) blocking = nextErlangB(blocking, k, offered_load);
  return blocking;
}

/** B(k, a) from B(k − 1, a): the step of the recursion, so a search over k need not start again. */
export function nextErlangB(previous: number, servers: number, offered_load: number): number {
  return (offered_load * previous) / (servers + offered_load * previous);
}

/** Erlang C from Erlang B of the same count: the probability an arrival waits in M/M/c; needs offered_load < servers. */
export function erlangCFromB(blocking: number, servers: number, offered_load: number): number {
  if (!(offered_load < servers)) throw new RangeError(`erlangC: offered load ${offered_load} is not below ${servers} servers (unstable)`);
  return (servers * blocking) / (servers - offered_load * (1 - blocking));
}

/** Erlang C: the probability that an arrival waits in M/M/c with `servers` servers and `offered_load` = λ/μ Erlangs (< servers). */
export function erlangC(servers: number, offered_load: number): number {
  return erlangCFromB(erlangB(servers, offered_load), servers, offered_load);
}

function assertServers(servers: number): void {
  if (!Number.isInteger(servers) || servers < 1) throw new RangeError(`servers must be an integer >= 1, got ${servers}`);
}

/** Mean and squared coefficient of variation of the service times, with the samples sorted. */
export interface ServiceTime {
  /** Ascending. */
  readonly samples_s: readonly number[];
  readonly mean_s: number;
  /** Variance over mean squared (sample variance, n − 1; 0 for a single sample). */
  readonly scv: number;
}

export function serviceTime(samples_s: readonly number[]): ServiceTime {
  if (samples_s.length === 0) throw new InvalidArgumentError('service time: no samples');
  for (const s of samples_s) {
    if (!Number.isFinite(s) || s < 0) throw new InvalidArgumentError(`service time: sample ${s} is not a non-negative number`);
  }
  const sorted = [...samples_s].sort((a, b) => a - b);
  const mean_s = sorted.reduce((sum, s) => sum + s, 0) / sorted.length;
  if (!(mean_s > 0)) throw new InvalidArgumentError('service time: the mean of the samples is 0');
  const variance = sorted.length < 2 ? 0 : sorted.reduce((sum, s) => sum + (s - mean_s) ** 2, 0) / (sorted.length - 1);
  return { samples_s: sorted, mean_s, scv: variance / (mean_s * mean_s) };
}

/** The waiting time before service starts, in the model above. */
export interface WaitingTime {
  readonly servers: number;
  readonly arrival_rate_per_s: number;
  /** ρ = λ·E[S]/c, the share of time a worker is busy. */
  readonly utilisation: number;
  /** P(W > 0): Erlang C. */
  readonly wait_probability: number;
  /** Given W > 0, W is exponential with this rate (1/s). */
  readonly conditional_wait_rate_per_s: number;
  /** E[W] = P(W > 0) / rate (Allen–Cunneen). */
  readonly mean_wait_s: number;
}

/** M/G/c waiting time for `servers` workers at `arrival_rate_per_s`; needs utilisation < 1. `erlang_b`: B(servers, a) when the caller has it. */
export function waitingTime(servers: number, arrival_rate_per_s: number, service: ServiceTime, erlang_b?: number): WaitingTime {
  assertServers(servers);
  if (!(arrival_rate_per_s > 0) || !Number.isFinite(arrival_rate_per_s)) throw new RangeError(`arrival rate must be above 0, got ${arrival_rate_per_s}`);
  const offered_load = arrival_rate_per_s * service.mean_s;
  const wait_probability = erlangCFromB(erlang_b ?? erlangB(servers, offered_load), servers, offered_load);
  const spare_rate_per_s = servers / service.mean_s - arrival_rate_per_s;
  const conditional_wait_rate_per_s = (spare_rate_per_s * 2) / (1 + service.scv);
  return {
    servers,
    arrival_rate_per_s,
    utilisation: offered_load / servers,
    wait_probability,
    conditional_wait_rate_per_s,
    mean_wait_s: wait_probability / conditional_wait_rate_per_s,
  };
}

/**
 * P(W + X > t) for the waiting time `wait` and X drawn uniformly from
 * `samples_s` (ascending): the service times for the sojourn time, or any
 * other additive samples (the capacity check passes end-to-end times).
 */
export function exceedance(wait: WaitingTime, samples_s: readonly number[], t_s: number): number {
  const theta = wait.conditional_wait_rate_per_s;
  let above = 0;
  let waitTail = 0;
  for (const s of samples_s) {
    if (s > t_s) {
      above++;
      waitTail++;
    } else {
      waitTail += Math.exp(-theta * (t_s - s));
    }
  }
  const n = samples_s.length;
  return (1 - wait.wait_probability) * (above / n) + wait.wait_probability * (waitTail / n);
}

/** The smallest t with P(W + X > t) <= 1 − p/100 (p in (0, 100)), found by bisection to 1e-9 relative. */
export function percentileOf(wait: WaitingTime, samples_s: readonly number[], p: number): number {
  if (!(p > 0 && p < 100)) throw new RangeError(`percentile must be in (0, 100), got ${p}`);
  if (samples_s.length === 0) throw new RangeError('percentileOf: no samples');
  const tail = 1 - p / 100;
  const largest = samples_s[samples_s.length - 1]!;
  // Above the largest sample P(W + X > t) <= e^(-θ(t - largest)), so this bound is always enough.
  let high = largest + (wait.wait_probability > 0 ? Math.log(1 / tail) / wait.conditional_wait_rate_per_s : 0);
  let low = 0;
  if (exceedance(wait, samples_s, low) <= tail) return low;
  for (let step = 0; step < 200 && high - low > 1e-9 * Math.max(high, 1e-12); step++) {
    const middle = (low + high) / 2;
    if (exceedance(wait, samples_s, middle) <= tail) high = middle;
    else low = middle;
  }
  return high;
}

/** No queue at all (P(W > 0) = 0): the percentiles of the samples alone, as the model sees them. */
export function noWait(servers: number): WaitingTime {
  return { servers, arrival_rate_per_s: 0, utilisation: 0, wait_probability: 0, conditional_wait_rate_per_s: 1, mean_wait_s: 0 };
}
