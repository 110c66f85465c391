/**
 * The fuzz tier's one property: for any input, a parser returns a value or throws
 * a BootforgeError, within a time and memory bound. Anything else (a TypeError, a
 * RangeError, ERR_BUFFER_TOO_LARGE, a stack overflow, a slow or greedy case) fails,
 * with the seed and path that replay it.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { inject } from 'vitest';
import { BootforgeError } from '../../src/errors/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder where each fuzz file records its properties' run counts (see global-setup.ts). */
    fuzzStatsDir: string;
  }
}

const MiB = 1024 * 1024;

/** A fixed seed keeps CI reproducible; BOOTFORGE_FUZZ_SEED explores (or replays) another sequence. */
export const SEED = seedFromEnv(process.env.BOOTFORGE_FUZZ_SEED);
/** BOOTFORGE_FUZZ_RUNS=10 runs ten times the cases, with ten times the time, for a longer local session. */
export const RUNS_FACTOR = factorFromEnv(process.env.BOOTFORGE_FUZZ_RUNS);
/**
 * Peak resident memory of a fuzz worker (about 250 MiB at rest); buffers live outside
 * the V8 heap, whose own cap is in vitest.fuzz.config.ts.
 */
export const RSS_LIMIT = 1024 * MiB;

function seedFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return 15;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`BOOTFORGE_FUZZ_SEED must be an integer, not ${text}`);
  return seed;
}

function factorFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const factor = Number(text);
  if (!(factor > 0)) throw new Error(`BOOTFORGE_FUZZ_RUNS must be a positive number, not ${text}`);
  return factor;
}

export interface FuzzSpec<T> {
  /** The parser, as the summary names it ("GPT", "cpio/initrd"). */
  readonly parser: string;
  /** Which input this property feeds it ("mutated sample", "random bytes"). */
  readonly input: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs the parser on one case; its result is ignored, only how it ends matters. */
  readonly run: (value: T) => unknown;
  /** Cases in CI (times RUNS_FACTOR). */
  readonly runs: number;
  /** The property stops after this long even short of `runs` (times RUNS_FACTOR); the cases run so far are counted. */
  readonly timeLimitMs: number;
  /** One case longer than this fails (a super-linear path); default 2 s. */
  readonly caseLimitMs?: number;
  /** False for cases that take seconds each when they fail: report the first, do not shrink it. */
  readonly shrink?: boolean;
}

/** Runs one property, counts its cases in the tier's summary, and throws a replayable report when it fails. */
export async function fuzz<T>(spec: FuzzSpec<T>): Promise<void> {
  const started = performance.now();
  const details = await check(spec);
  record(spec, details.numRuns, performance.now() - started);
  if (details.failed) throw new Error(report(spec, details));
}

/** The property over `spec`, as fast-check's check() reports it. */
export function check<T>(spec: FuzzSpec<T>): Promise<fc.RunDetails<[T]>> {
  const caseLimitMs = spec.caseLimitMs ?? 2000;
  // Peak, not current, memory: a buffer allocated and dropped within a case counts too.
  const peakBefore = peakRss();
  const property = fc.asyncProperty(spec.arbitrary, async (value) => {
    const t0 = performance.now();
    await expectBootforgeErrorOrValue(() => spec.run(value));
    const ms = performance.now() - t0;
    if (ms > caseLimitMs) throw new Error(`one case took ${Math.round(ms)} ms (limit ${caseLimitMs} ms)`);
    const peak = peakRss();
    if (peak > RSS_LIMIT && peakBefore <= RSS_LIMIT)
      throw new Error(`resident memory peaked at ${Math.round(peak / MiB)} MiB (limit ${RSS_LIMIT / MiB} MiB)`);
  });
  return fc.check(property, {
    seed: SEED,
    numRuns: Math.ceil(spec.runs * RUNS_FACTOR),
    endOnFailure: spec.shrink === false,
    // Cannot stop a synchronous loop, but lets an async parser that never settles fail instead of hang.
    plugins: [fc.interruptAfterTimeLimit(spec.timeLimitMs * RUNS_FACTOR), fc.timeout(caseLimitMs * 4)],
  }) as Promise<fc.RunDetails<[T]>>;
}

export function report<T>(spec: FuzzSpec<T>, details: fc.RunDetails<[T]>): string {
  return (
    `${spec.parser} (${spec.input}): ${String(details.errorInstance)}\n${fc.defaultReportMessage(details) ?? ''}\n` +
    `Replay: BOOTFORGE_FUZZ_SEED=${details.seed}, fast-check path "${details.counterexamplePath ?? ''}"`
  );
}

/** A BootforgeError is the parser refusing the input, as it should; anything else propagates. */
async function expectBootforgeErrorOrValue(run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof BootforgeError) return;
    throw e;
  }
}

export const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

function record(spec: { parser: string; input: string }, runs: number, ms: number): void {
  const line = JSON.stringify({ parser: spec.parser, input: spec.input, runs, ms: Math.round(ms), peakRss: peakRss() });
  appendFileSync(join(inject('fuzzStatsDir'), `${process.pid}.jsonl`), `${line}\n`);
}
