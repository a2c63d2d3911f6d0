/**
 * The queueing arithmetic against cases worked by hand (the numbers in the
 * comments are the hand calculation, not output of the code under test).
 */
import { describe, expect, it } from 'vitest';
import { erlangB, erlangC, exceedance, noWait, percentileOf, type ServiceTime, serviceTime, waitingTime } from '../../src/capacity/queueing.ts';

/** Erlang C straight from its definition, in logs: C = (a^c/c!)/(1-ρ) / (Σ_{k<c} a^k/k! + (a^c/c!)/(1-ρ)). */
function erlangCByDefinition(c: number, a: number): number {
  const logTerm = (k: number) => {
    let log = k * Math.log(a);
    for (let i = 2; i <= k; i++) log -= Math.log(i);
    return log;
  };
  const logLast = logTerm(c) - Math.log(1 - a / c);
  const logs = [...Array.from({ length: c }, (_, k) => logTerm(k)), logLast];
  const top = Math.max(...logs);
  const sum = logs.reduce((s, l) => s + Math.exp(l - top), 0);
  return Math.exp(logLast - top) / sum;
}

describe('Erlang B and C', () => {
  it('M/M/1: C(1, ρ) = ρ', () => {
    expect(erlangC(1, 0.6)).toBeCloseTo(0.6, 12);
    expect(erlangC(1, 0.95)).toBeCloseTo(0.95, 12);
  });

  it('c = 2, a = 1: B = (1/2)/(1 + 1 + 1/2) = 0.2, C = 1/(2 + 1) = 1/3', () => {
    expect(erlangB(2, 1)).toBeCloseTo(0.2, 12);
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
  });

  it('c = 3, a = 2: a³/3!/(1 - 2/3) = 4, Σ_{k<3} = 1 + 2 + 2 = 5, C = 4/9', () => {
    expect(erlangC(3, 2)).toBeCloseTo(4 / 9, 12);
  });

  it('c = 5, a = 4 (ρ = 0.8): 42.667 / (34.333 + 42.667) = 0.5541, as in the standard tables', () => {
    expect(erlangC(5, 4)).toBeCloseTo(0.55411, 5);
  });

  it('stays exact for thousands of servers (against the definition computed in logs)', () => {
    for (const [c, a] of [
      [100, 90],
      [1000, 950],
      [5000, 4990],
      [10_000, 9000],
    ] as const) {
      const value = erlangC(c, a);
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeCloseTo(erlangCByDefinition(c, a), 10);
    }
  });

  it('refuses an unstable load', () => {
    expect(() => erlangC(2, 2)).toThrow(/not below 2 servers/);
  });
});

describe('service-time statistics', () => {
  it('mean and squared coefficient of variation (sample variance)', () => {
    // mean 1, variance ((0.5)² + (0.5)²)/(2 - 1) = 0.5, cs² = 0.5
    const service = serviceTime([1.5, 0.5]);
    expect(service.samples_s).toEqual([0.5, 1.5]);
    expect(service.mean_s).toBe(1);
    expect(service.scv).toBeCloseTo(0.5, 12);
    expect(serviceTime([0.2, 0.2, 0.2]).scv).toBeCloseTo(0, 12);
  });

  it('refuses no samples, negative samples and an all-zero mean', () => {
    expect(() => serviceTime([])).toThrow(/no samples/);
    expect(() => serviceTime([1, -1])).toThrow(/not a non-negative number/);
    expect(() => serviceTime([0, 0])).toThrow(/mean of the samples is 0/);
  });
});

/** n quantiles of the exponential distribution with rate mu: an empirical exponential without randomness. */
function exponentialQuantiles(n: number, mu: number): number[] {
  return Array.from({ length: n }, (_, i) => -Math.log(1 - (i + 0.5) / n) / mu);
}

describe('M/M/1 (λ = 3/s, μ = 5/s, ρ = 0.6)', () => {
  // Exponential service: the true mean 0.2 s and cs² = 1, with samples at the quantiles for P(S > t).
  const exact: ServiceTime = { samples_s: exponentialQuantiles(20_000, 5), mean_s: 0.2, scv: 1 };
  const wait = waitingTime(1, 3, exact);

  it('mean wait ρ/(μ - λ) = 0.6/2 = 0.3 s; P(W > 0) = ρ', () => {
    expect(wait.utilisation).toBeCloseTo(0.6, 12);
    expect(wait.wait_probability).toBeCloseTo(0.6, 12);
    expect(wait.mean_wait_s).toBeCloseTo(0.3, 12);
  });

  it('P(T > t) = e^{-(μ - λ) t} = e^{-2t}', () => {
    for (const t of [0.05, 0.2, 0.5, 1, 2]) expect(exceedance(wait, exact.samples_s, t)).toBeCloseTo(Math.exp(-2 * t), 3);
  });

  it('p50 = ln 2 / 2 = 0.3466 s, p99 = ln 100 / 2 = 2.3026 s', () => {
    expect(percentileOf(wait, exact.samples_s, 50)).toBeCloseTo(Math.LN2 / 2, 3);
    expect(percentileOf(wait, exact.samples_s, 99)).toBeCloseTo(Math.LN10, 2);
  });

  it('from the samples alone (cs² measured, about 1) the same within 2%', () => {
    const measured = serviceTime(exponentialQuantiles(20_000, 5));
    expect(measured.scv).toBeGreaterThan(0.97);
    const fromSamples = waitingTime(1, 3, measured);
    expect(fromSamples.mean_wait_s / 0.3).toBeGreaterThan(0.98);
    expect(fromSamples.mean_wait_s / 0.3).toBeLessThan(1.02);
    expect(percentileOf(fromSamples, measured.samples_s, 99) / Math.LN10).toBeCloseTo(1, 1);
  });
});

describe('M/D/1 (deterministic 0.2 s, λ = 3/s, ρ = 0.6)', () => {
  const service = serviceTime([0.2, 0.2, 0.2, 0.2]);
  const wait = waitingTime(1, 3, service);

  it('mean wait by Pollaczek–Khinchine: ρ/(2μ(1 - ρ)) = 0.6/(2·5·0.4) = 0.15 s', () => {
    expect(service.scv).toBeCloseTo(0, 12);
    expect(wait.mean_wait_s).toBeCloseTo(0.15, 12);
  });

  it('percentiles: P(T > t) = 0.6·e^{-4(t - 0.2)} above 0.2 s, so p50 = 0.2 + ln(1.2)/4, p99 = 0.2 + ln(60)/4', () => {
    expect(percentileOf(wait, service.samples_s, 50)).toBeCloseTo(0.24558, 5);
    expect(percentileOf(wait, service.samples_s, 99)).toBeCloseTo(1.22359, 5);
    // below the service time nothing has finished
    expect(exceedance(wait, service.samples_s, 0.19)).toBe(1);
  });
});

describe('M/G/2 (Allen–Cunneen)', () => {
  it('c = 2, λ = 1/s, samples 0.5 and 1.5 s (mean 1, cs² 0.5): E[W] = C(2,1)/(2 - 1)·(1 + 0.5)/2 = (1/3)(0.75) = 0.25 s', () => {
    const wait = waitingTime(2, 1, serviceTime([0.5, 1.5]));
    expect(wait.utilisation).toBeCloseTo(0.5, 12);
    expect(wait.wait_probability).toBeCloseTo(1 / 3, 12);
    expect(wait.mean_wait_s).toBeCloseTo(0.25, 12);
  });

  it('with no wait the percentiles are those of the samples (lower empirical quantile)', () => {
    const samples = [0.1, 0.2, 0.3, 0.4];
    expect(percentileOf(noWait(1), samples, 50)).toBeCloseTo(0.2, 8);
    expect(percentileOf(noWait(1), samples, 99)).toBeCloseTo(0.4, 8);
  });
});
