import { defineConfig } from 'vitest/config';

// The default run: unit and integration tests. QEMU boot tests live in their own
// config (vitest.e2e.config.ts) so a developer can run the fast tier alone.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
