import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Too slow for every run on a CPU-only machine: `npm run test:slow`.
    exclude: ['test/slow/**', '**/node_modules/**'],
    setupFiles: ['test/setup/env.ts'],
    globalSetup: ['test/setup/build.ts', 'test/setup/circuits.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
