/** The planner's answer as text: one block per circuit, a table of worker kinds, then plain sentences for every kind no count satisfies. */
import type { BenchReport } from '../bench-report/schema.ts';
import type { HourlyCost } from '../capacity/cost.ts';
import { type CircuitPlan, type KindPlan, SECONDS_PER_HOUR, type Target, WORKERS_MAX } from '../capacity/plan.ts';
import { table } from './tables.ts';

/** 0.0123 -> "12.3 ms", 1.5 -> "1.50 s", 250 -> "250 s". */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Number((seconds * 1000).toPrecision(3))} ms`;
  if (seconds < 100) return `${seconds.toFixed(2)} s`;
  return `${seconds.toFixed(0)} s`;
}

function formatUsd(usd: number): string {
  if (usd >= 100) return usd.toFixed(0);
  if (usd >= 1) return usd.toFixed(2);
  return Number(usd.toPrecision(3)).toString();
}

function formatRate(rate_per_h: number): string {
  return `${Number(rate_per_h.toPrecision(6))} proofs/h (${Number((rate_per_h / SECONDS_PER_HOUR).toPrecision(3))}/s)`;
}

function kindRow(row: KindPlan): string[] {
  const { kind, plan } = row;
  const service = [kind.backend, kind.device, formatSeconds(kind.service.mean_s), kind.service.scv.toFixed(3), String(kind.service.samples_s.length)];
  if (plan.outcome !== 'met') return [...service, 'none', '-', '-', '-', '-'];
  return [
    ...service,
    String(plan.workers),
    `${(plan.wait.utilisation * 100).toFixed(1)}%`,
    formatSeconds(plan.p50_s),
    formatSeconds(plan.p99_s),
    row.usd_per_1000 === null ? '-' : formatUsd(row.usd_per_1000),
  ];
}

function unmetSentence(row: KindPlan, target: Target): string | null {
  const { kind, plan } = row;
  if (plan.outcome === 'too-slow') {
    return `${kind.backend}: no number of workers meets p99 <= ${formatSeconds(target.p99_s)}: one proof alone takes ${formatSeconds(plan.alone_p99_s)} at p99 (witness ${formatSeconds(kind.witness_ms / 1000)} + prove)`;
  }
  if (plan.outcome === 'too-many') {
    return `${kind.backend}: no count up to ${plan.workers_max} workers meets the target (${plan.stable_workers} are needed for utilisation below 1 alone)`;
  }
  return null;
}

export function formatCircuitPlan(plan: CircuitPlan, cost: HourlyCost): string {
  const { circuit, target } = plan;
  const lines: string[] = [`circuit ${circuit.name} (${circuit.constraints} constraints, domain 2^${circuit.domain_log2})`];
  if (plan.kinds.length === 0) {
    lines.push(plan.unplanned.length === 0 ? '  no runs of this circuit in the report' : '  no worker kind with warm prove samples for this circuit');
  } else {
    const header = ['worker', 'device', 'service mean', 'cs²', 'samples', 'workers', 'utilisation', 'p50', 'p99', 'USD/1000 proofs'];
    const rendered = table(header, plan.kinds.map(kindRow));
    lines.push(
      ...rendered
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  for (const row of plan.kinds) {
    const sentence = unmetSentence(row, target);
    if (sentence !== null) lines.push(`  ${sentence}`);
    for (const note of row.kind.notes) lines.push(`  ${row.kind.backend}: ${note}`);
    if (row.plan.outcome === 'met' && cost[row.kind.device] === undefined && Object.keys(cost).length > 0) {
      lines.push(`  ${row.kind.backend}: no ${row.kind.device} price in --cost`);
    }
  }
  for (const skipped of plan.unplanned) lines.push(`  ${skipped.backend}: not planned (${skipped.reason})`);
  return `${lines.join('\n')}\n`;
}

export function formatPlans(plans: readonly CircuitPlan[], report: BenchReport, path: string, target: Target, cost: HourlyCost): string {
  const machine = report.machine;
  const head = [
    `report ${path}: ${machine.hostname}, ${machine.cpu_model}, ${machine.cores} cores${machine.gpu === null ? '' : `, GPU ${machine.gpu.description || machine.gpu.device}`}; run ${report.started_at}`,
    `target ${formatRate(target.rate_per_h)}, p99 <= ${formatSeconds(target.p99_s)}; Poisson arrivals, one job per worker at a time (M/G/c, docs/capacity.md), up to ${WORKERS_MAX} workers`,
    'service time = witness median + warm prove (key resident), every sample of the report; p50/p99 = wait + service',
  ];
  if (Object.keys(cost).length === 0) head.push('cost: give --cost gpu=USD/h,cpu=USD/h for the cost per thousand proofs');
  else
    head.push(
      `cost per thousand proofs = workers x ${Object.entries(cost)
        .map(([device, usd]) => `${device} ${usd} USD/h`)
        .join(', ')} / rate`,
    );
  return `${head.join('\n')}\n\n${plans.map((plan) => formatCircuitPlan(plan, cost)).join('\n')}`;
}
