import { defineConfig } from 'vitest/config';

// Tests too slow for `npm test` on a CPU-only machine (see each file's header):
// `npm run test:slow`.
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    setupFiles: ['test/setup/env.ts'],
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
