import { defineConfig } from 'vitest/config';

// The QEMU tier: boots real kernels under TCG. Slow (seconds to minutes per test), so it runs
// apart from the fast tier. Two files at a time: each guest has one virtual CPU and a CI
// runner has two cores, so two guests share the machine without starving each other.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    // Fails the tier when a guest outlives its test (and ends it).
    globalSetup: ['test/e2e/guest-guard.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 15 * 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
