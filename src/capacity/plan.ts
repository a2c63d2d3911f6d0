/**
 * Choosing the worker count: the smallest c with utilisation below 1 whose
 * predicted p99 time in the system (wait + service) is within the target,
 * searched from the least stable count up to WORKERS_MAX. Since a wait is
 * never negative, no count beats the p99 of one job alone; a target below
 * that is answered as such, without a search.
 */
import type { BenchReport, CircuitInfo } from '../bench-report/schema.ts';
import type { HourlyCost } from './cost.ts';
import { erlangB, nextErlangB, noWait, percentileOf, type ServiceTime, type WaitingTime, waitingTime, exceedance } from './queueing.ts';
import { type CircuitKinds, circuitsToPlan, type WorkerKind, workerKinds } from './worker-kinds.ts';

export const WORKERS_MAX = 10_000;
export const SECONDS_PER_HOUR = 3600;
/** P(T > target) allowed for a p99 target. */
const P99_TAIL = 0.01;

export interface Target {
  readonly rate_per_h: number;
  readonly p99_s: number;
}

export type WorkerPlan =
  | {
      readonly outcome: 'met';
      readonly workers: number;
      readonly wait: WaitingTime;
      readonly p50_s: number;
      readonly p99_s: number;
      /** E[W] + E[S]. */
      readonly mean_s: number;
    }
  /** One job alone (no wait at all) is slower than the p99 target at its own p99. */
  | { readonly outcome: 'too-slow'; readonly alone_p99_s: number }
  /** More than `workers_max` workers would be needed; `stable_workers` is the least count with utilisation below 1. */
  | { readonly outcome: 'too-many'; readonly workers_max: number; readonly stable_workers: number };

/** The smallest count meeting `target` for this service time (see the module comment). */
export function planWorkers(service: ServiceTime, target: Target, workers_max: number = WORKERS_MAX): WorkerPlan {
  // The same test as for a count below (at most 1 % above the target), so a target equal to the slowest sample is met.
  if (exceedance(noWait(1), service.samples_s, target.p99_s) > P99_TAIL)
    return { outcome: 'too-slow', alone_p99_s: percentileOf(noWait(1), service.samples_s, 99) };
  const arrival_rate_per_s = target.rate_per_h / SECONDS_PER_HOUR;
  const offered_load = arrival_rate_per_s * service.mean_s;
  const stable_workers = Math.floor(offered_load) + 1;
  if (stable_workers > workers_max) return { outcome: 'too-many', workers_max, stable_workers };
  let blocking = erlangB(stable_workers, offered_load);
  for (let workers = stable_workers; workers <= workers_max; workers++) {
    if (workers > stable_workers) blocking = nextErlangB(blocking, workers, offered_load);
    const wait = waitingTime(workers, arrival_rate_per_s, service, blocking);
    if (exceedance(wait, service.samples_s, target.p99_s) <= P99_TAIL) {
      return {
        outcome: 'met',
        workers,
        wait,
        p50_s: percentileOf(wait, service.samples_s, 50),
        p99_s: percentileOf(wait, service.samples_s, 99),
        mean_s: wait.mean_wait_s + service.mean_s,
      };
    }
  }
  return { outcome: 'too-many', workers_max, stable_workers };
}

/** USD per thousand proofs for `workers` hosts at `usd_per_h` each, busy or not, at the target rate. */
export function costPerThousand(workers: number, usd_per_h: number, rate_per_h: number): number {
  return (workers * usd_per_h * 1000) / rate_per_h;
}

export interface KindPlan {
  readonly kind: WorkerKind;
  readonly plan: WorkerPlan;
  /** null when the plan was not met or --cost gave no price for the kind's device. */
  readonly usd_per_1000: number | null;
}

export interface CircuitPlan extends Omit<CircuitKinds, 'kinds'> {
  readonly target: Target;
  readonly kinds: readonly KindPlan[];
}

export function planCircuit(kinds: CircuitKinds, target: Target, cost: HourlyCost): CircuitPlan {
  return {
    ...kinds,
    target,
    kinds: kinds.kinds.map((kind) => {
      const plan = planWorkers(kind.service, target);
      const price = cost[kind.device];
      return { kind, plan, usd_per_1000: plan.outcome === 'met' && price !== undefined ? costPerThousand(plan.workers, price, target.rate_per_h) : null };
    }),
  };
}

/** One plan per circuit: the one named, or every circuit of the report. */
export function planReport(report: BenchReport, circuit: string | null, target: Target, cost: HourlyCost, label: string): CircuitPlan[] {
  return circuitsToPlan(report, circuit, label).map((info: CircuitInfo) => planCircuit(workerKinds(report, info), target, cost));
}
