import { defineConfig } from 'vitest/config';

// The QEMU tier: boots real kernels under TCG. Slow (seconds to minutes per test),
// so it runs one file at a time and apart from the fast tier.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
