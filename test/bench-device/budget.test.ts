/**
 * The device ladder's deadline logic (bench/device/budget.ts) on a fake
 * clock, and its configuration from the environment
 * (bench/device/ladder-config.ts): bad values give one clear line each.
 */
import { describe, expect, it } from 'vitest';
import { Budget } from '../../bench/device/budget.ts';
import { ladderConfig } from '../../bench/device/ladder-config.ts';

describe('the ladder budget', () => {
  it('runs the first size of a kind, then estimates each next size from the last one', () => {
    let now_ms = 0;
    const budget = new Budget(100_000, 10_000, 2, () => now_ms);
    expect(budget.admit('msm-g1', 16)).toEqual({ run: true, estimate_ms: null });
    now_ms = 5_000;
    budget.record('msm-g1', 16, 5_000);
    expect(budget.admit('msm-g1', 17)).toEqual({ run: true, estimate_ms: 10_000 });
    now_ms = 15_000;
    budget.record('msm-g1', 17, 10_000);
    // 2^19 would take 40 s; 75 s remain less the 10 s reserve: admitted. Another kind is unaffected.
    expect(budget.admit('msm-g1', 19)).toEqual({ run: true, estimate_ms: 40_000 });
    expect(budget.admit('ntt', 22).run).toBe(true);
  });

  it('skips a stage that would overrun, with the reason, and every larger size of its kind', () => {
    let now_ms = 0;
    const budget = new Budget(60_000, 5_000, 2.2, () => now_ms);
    budget.record('prove', 18, 20_000);
    now_ms = 20_000;
    const refused = budget.admit('prove', 19);
    expect(refused.run).toBe(false);
    expect(refused.estimate_ms).toBeCloseTo(44_000);
    expect(refused.reason).toBe('out of time: estimated 44.0 s from the last size, 35.0 s left before the deadline less the reserve');
    expect(budget.admit('prove', 20)).toMatchObject({ run: false, reason: 'prove at 2^19 was already skipped for time' });
    expect(budget.admit('ntt', 10).run).toBe(true);
    now_ms = 56_000;
    expect(budget.admit('ntt', 10)).toMatchObject({ run: false, reason: 'out of time: no estimate yet, 0.0 s left before the deadline less the reserve' });
  });
});

describe('the ladder configuration', () => {
  it('climbs 2^16..2^22 with proves at 2^16..2^20 by default, and the small ladder for lavapipe', () => {
    const full = ladderConfig({}, 1_000);
    expect(full).toMatchObject({ ladder: 'full', kernelSizes: [16, 17, 18, 19, 20, 21, 22], proveSizes: [16, 17, 18, 19, 20], outDir: 'out' });
    expect(full.deadline_epoch_ms).toBe(1_000 + 450_000);
    const small = ladderConfig({ DEVICE_LADDER: 'small', OUT: '/tmp/x', DEVICE_DEADLINE_EPOCH_MS: '5000' });
    expect(small).toMatchObject({ ladder: 'small', outDir: '/tmp/x', deadline_epoch_ms: 5000 });
    expect(ladderConfig({ DEVICE_KERNEL_LOG2N: '12', DEVICE_PROVE_LOG2N: 'none' })).toMatchObject({ kernelSizes: [12], proveSizes: [] });
  });

  it('refuses bad values with one line naming the variable', () => {
    expect(() => ladderConfig({ DEVICE_LADDER: 'huge' })).toThrow("DEVICE_LADDER must be 'full' or 'small', got 'huge'");
    expect(() => ladderConfig({ DEVICE_KERNEL_LOG2N: '20-16' })).toThrow(/^DEVICE_KERNEL_LOG2N must be 'lo-hi'.*got '20-16'$/);
    expect(() => ladderConfig({ DEVICE_PROVE_LOG2N: '4' })).toThrow(/^DEVICE_PROVE_LOG2N must be/);
    expect(() => ladderConfig({ DEVICE_BUDGET_S: '-1' })).toThrow("DEVICE_BUDGET_S must be a positive number of seconds, got '-1'");
    expect(() => ladderConfig({ DEVICE_DEADLINE_EPOCH_MS: 'soon' })).toThrow(/^DEVICE_DEADLINE_EPOCH_MS must be an integer/);
  });
});
