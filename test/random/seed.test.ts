import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { parseSeed, testSeed } from '../../src/random/seed.ts';

describe('ZKP_TEST_SEED', () => {
  it('is read as a decimal or 0x-hex integer below 2^53, and a bad one is refused by name', () => {
    expect(parseSeed('42')).toBe(42);
    expect(parseSeed(' 0x2a ')).toBe(42);
    expect(parseSeed(String(2 ** 53 - 1))).toBe(2 ** 53 - 1);
    for (const bad of ['', '-1', '1.5', 'seven', String(2 ** 53)]) {
      expect(() => parseSeed(bad)).toThrow(InvalidArgumentError);
      expect(() => parseSeed(bad)).toThrow(/ZKP_TEST_SEED must be a non-negative integer/);
    }
  });

  it('wins over the fallback, the fallback wins over a drawn seed, and the seed is logged with its replay command', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(testSeed('a', { env: { ZKP_TEST_SEED: '7' }, fallback: 1 })).toBe(7);
      expect(testSeed('b', { env: {}, fallback: 1 })).toBe(1);
      const drawn = testSeed('c', { env: { ZKP_TEST_SEED: '' } });
      expect(Number.isSafeInteger(drawn) && drawn >= 0).toBe(true);
      expect(log.mock.calls.map((call) => String(call[0]))).toEqual([
        '[a] seed 7 (replay with ZKP_TEST_SEED=7)',
        '[b] seed 1 (replay with ZKP_TEST_SEED=1)',
        `[c] seed ${drawn} (replay with ZKP_TEST_SEED=${drawn})`,
      ]);
    } finally {
      log.mockRestore();
    }
  });
});
