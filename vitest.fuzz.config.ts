import { defineConfig } from 'vitest/config';

// The fuzz tier: every parser against random and mutated inputs (test/fuzz/harness.ts).
// Seeded and bounded in time (under 90 s on a 2-core runner); each file runs in a
// forked worker whose V8 heap is capped, so a parser that allocates without bound
// fails the run instead of swapping. BOOTFORGE_FUZZ_RUNS multiplies runs and time.
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    globalSetup: ['test/fuzz/global-setup.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    execArgv: ['--max-old-space-size=1024'],
    maxWorkers: 2,
  },
});
