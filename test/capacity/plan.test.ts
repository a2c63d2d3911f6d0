/** The planner choosing the worker count, on service times worked by hand, and reading worker kinds from a report. */
import { describe, expect, it } from 'vitest';
import { parseCost } from '../../src/capacity/cost.ts';
import { costPerThousand, planReport, planWorkers } from '../../src/capacity/plan.ts';
import { serviceTime } from '../../src/capacity/queueing.ts';
import { checkBenchReport } from '../../src/capacity/report.ts';
import { workerKinds } from '../../src/capacity/worker-kinds.ts';
import { circuit, gpu, report, run } from './fake-report.ts';

// Deterministic 1 s service, λ = 3600/h = 1/s (a = 1 Erlang), p99 target 2 s:
//  c = 2: C(2,1) = 1/3, wait rate θ = 2(2 - 1)/(1 + 0) = 2, P(T > 2) = (1/3)e^{-2} = 0.0451 > 0.01: not met
//  c = 3: C(3,1) = (1/6)/(2/3) / (1 + 1 + 1/2 + 1/4) = 1/11, θ = 2(3 - 1) = 4, P(T > 2) = (1/11)e^{-4} = 0.0017: met
//  at c = 3: p50 = 1 s (P(T > 1) = 1/11 < 0.5), p99 = 1 + ln(100/11)/4 = 1.5518 s, utilisation 1/3
const ONE_SECOND = serviceTime([1, 1, 1]);

describe('planWorkers', () => {
  it('takes the smallest count whose predicted p99 meets the target', () => {
    const plan = planWorkers(ONE_SECOND, { rate_per_h: 3600, p99_s: 2 });
    expect(plan.outcome).toBe('met');
    if (plan.outcome !== 'met') return;
    expect(plan.workers).toBe(3);
    expect(plan.wait.utilisation).toBeCloseTo(1 / 3, 12);
    expect(plan.wait.wait_probability).toBeCloseTo(1 / 11, 12);
    expect(plan.p50_s).toBeCloseTo(1, 6);
    expect(plan.p99_s).toBeCloseTo(1.55182, 4);
    expect(plan.mean_s).toBeCloseTo(1 + 1 / 11 / 4, 12);
  });

  it('a looser p99 (3 s) is met by 2 workers: P(T > 3) = (1/3)e^{-4} = 0.0061', () => {
    const plan = planWorkers(ONE_SECOND, { rate_per_h: 3600, p99_s: 3 });
    expect(plan.outcome === 'met' && plan.workers).toBe(2);
  });

  it('utilisation binds when the p99 is loose: a = 2.5 Erlangs needs 3 workers', () => {
    const plan = planWorkers(ONE_SECOND, { rate_per_h: 2.5 * 3600, p99_s: 1000 });
    expect(plan.outcome === 'met' && plan.workers).toBe(3);
    expect(plan.outcome === 'met' && plan.wait.utilisation).toBeCloseTo(2.5 / 3, 12);
  });

  it('says so when one proof alone is slower than the p99', () => {
    const plan = planWorkers(serviceTime([1, 1, 1.2]), { rate_per_h: 10, p99_s: 1.1 });
    expect(plan).toEqual({ outcome: 'too-slow', alone_p99_s: expect.closeTo(1.2, 6) });
  });

  it('a p99 target equal to the slowest sample is met (P(S > target) = 0)', () => {
    const plan = planWorkers(serviceTime([1, 1, 1.2]), { rate_per_h: 10, p99_s: 1.2 });
    expect(plan.outcome).toBe('met');
  });

  it('says so when more than the maximum count would be needed', () => {
    const plan = planWorkers(ONE_SECOND, { rate_per_h: 20_000 * 3600, p99_s: 5 });
    expect(plan).toEqual({ outcome: 'too-many', workers_max: 10_000, stable_workers: 20_001 });
    expect(planWorkers(ONE_SECOND, { rate_per_h: 3600, p99_s: 2 }, 2)).toEqual({ outcome: 'too-many', workers_max: 2, stable_workers: 2 });
  });

  it('plans thousands of workers (a = 5000 Erlangs) in one search', () => {
    const plan = planWorkers(ONE_SECOND, { rate_per_h: 5000 * 3600, p99_s: 1.5 });
    expect(plan.outcome).toBe('met');
    if (plan.outcome !== 'met') return;
    expect(plan.workers).toBeGreaterThan(5000);
    expect(plan.wait.utilisation).toBeLessThan(1);
    expect(plan.p99_s).toBeLessThanOrEqual(1.5);
  });
});

describe('cost', () => {
  it('workers x USD/h x 1000 / proofs per hour: 3 x 0.4 x 1000 / 3600 = 0.3333', () => {
    expect(costPerThousand(3, 0.4, 3600)).toBeCloseTo(1 / 3, 12);
  });

  it('parses gpu and cpu prices and names what is malformed', () => {
    expect(parseCost('gpu=2.5,cpu=0.4')).toEqual({ gpu: 2.5, cpu: 0.4 });
    expect(parseCost('cpu=1')).toEqual({ cpu: 1 });
    expect(() => parseCost('gpu')).toThrow('--cost: "gpu" is not DEVICE=USD/h');
    expect(() => parseCost('tpu=1')).toThrow('--cost: unknown device "tpu"');
    expect(() => parseCost('gpu=1,gpu=2')).toThrow('--cost: gpu is given twice');
    expect(() => parseCost('gpu=-1')).toThrow('--cost: gpu=-1: the price must be a number');
    expect(() => parseCost('gpu=cheap')).toThrow('--cost: gpu=cheap: the price must be a number');
  });
});

describe('worker kinds of a report', () => {
  const c = circuit('synthetic-12', 12);

  it('service time = witness median + each warm prove; native, snarkjs and peers are CPU workers', () => {
    const r = report(
      [c],
      [run(c.name, 'native', [100, 300, 200], [800, 900]), run(c.name, 'peer:rapidsnark', null, [500]), run(c.name, 'snarkjs', [200], [5000])],
    );
    const { kinds } = workerKinds(r, c);
    expect(kinds.map((k) => [k.backend, k.device, k.witness_ms])).toEqual([
      ['native', 'cpu', 200],
      // the peer's run has no witness timing: the circuit's other runs measured it
      ['peer:rapidsnark', 'cpu', 200],
      ['snarkjs', 'cpu', 200],
    ]);
    expect(kinds[0]!.service.samples_s).toEqual([1, 1.1]);
  });

  it('webgpu is a GPU worker on a hardware adapter and a CPU worker on a software one', () => {
    const runs = [run(c.name, 'webgpu', [10], [90])];
    expect(workerKinds(report([c], runs, gpu(false)), c).kinds[0]!.device).toBe('gpu');
    const software = workerKinds(report([c], runs, gpu(true)), c).kinds[0]!;
    expect(software.device).toBe('cpu');
    expect(software.notes.join()).toContain('software adapter');
  });

  it('leaves out failed and skipped runs and those without warm samples, saying why', () => {
    const r = report([c], [run(c.name, 'webgpu', null, null, 'skipped', 'no adapter'), run(c.name, 'native', [1], null)]);
    const kinds = workerKinds(r, c);
    expect(kinds.kinds).toEqual([]);
    expect(kinds.unplanned).toEqual([
      { backend: 'webgpu', reason: 'skipped: no adapter' },
      { backend: 'native', reason: 'no warm prove samples in the report' },
    ]);
  });

  it('plans every circuit when none is named, and prices each kind by its device', () => {
    const a = circuit('a', 10);
    const b = circuit('b', 11);
    const r = report([a, b], [run('a', 'native', [200], [800, 800]), run('b', 'webgpu', [200], [800]), run('b', 'snarkjs', [200], [3000])], gpu(false));
    const plans = planReport(r, null, { rate_per_h: 3600, p99_s: 2 }, { gpu: 2, cpu: 0.4 }, 'r.json');
    expect(plans.map((p) => p.circuit.name)).toEqual(['a', 'b']);
    const [native] = plans[0]!.kinds;
    expect(native!.plan.outcome === 'met' && native!.plan.workers).toBe(3);
    expect(native!.usd_per_1000).toBeCloseTo((3 * 0.4 * 1000) / 3600, 12);
    const [webgpu, snarkjs] = plans[1]!.kinds;
    expect(webgpu!.usd_per_1000).toBeCloseTo((3 * 2 * 1000) / 3600, 12);
    expect(snarkjs!.plan.outcome).toBe('too-slow');
    expect(snarkjs!.usd_per_1000).toBeNull();
    expect(() => planReport(r, 'c', { rate_per_h: 1, p99_s: 1 }, {}, 'r.json')).toThrow('r.json: no circuit "c" in the report (it holds a, b)');
  });
});

describe('report checks', () => {
  const good = report([circuit('a', 10)], [run('a', 'native', [1], [2])]);

  it('accepts a report of the schema and version', () => {
    expect(checkBenchReport(JSON.parse(JSON.stringify(good)), 'r.json')).toEqual(good);
  });

  it.each([
    [{ ...good, schema: 'zkp-cluster/service-bench' }, 'r.json: schema is "zkp-cluster/service-bench", not "zkp-cluster/prove-bench"'],
    [{ ...good, version: 2 }, 'r.json: zkp-cluster/prove-bench version 2 is not supported (this build reads version 1)'],
    [{ ...good, circuits: {} }, 'r.json: circuits is not an array'],
    [{ ...good, runs: [{ ...good.runs[0], circuit: 'b' }] }, 'r.json: runs[0].circuit "b" is not one of the report\'s circuits'],
    [{ ...good, runs: [{ ...good.runs[0], backend: 'cuda' }] }, 'r.json: runs[0].backend "cuda" is not snarkjs, native, webgpu or peer:NAME'],
    [{ ...good, runs: [{ ...good.runs[0], warm: { samples_ms: [1, 0] } }] }, 'r.json: runs[0].warm.samples_ms[1] is 0, not a number above 0'],
    [{ ...good, runs: [{ ...good.runs[0], witness: { samples_ms: ['1'] } }] }, 'r.json: runs[0].witness.samples_ms[0] is "1", not a number >= 0'],
    [[], 'r.json: not a bench report (the JSON is not an object)'],
  ])('names what is wrong: %#', (value, message) => {
    expect(() => checkBenchReport(value, 'r.json')).toThrow(message);
  });
});
