/** The harness itself: what it must let pass and what it must fail (a property that cannot fail is worthless). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../src/errors/index.js';
import { check, type FuzzSpec } from './harness.js';
import { mutate, overlayReader } from './mutate.js';

const spec = (run: (n: number) => unknown, caseLimitMs?: number): FuzzSpec<number> => ({
  parser: 'self-test',
  input: 'numbers',
  arbitrary: fc.nat({ max: 100 }),
  run,
  runs: 50,
  timeLimitMs: 2000,
  ...(caseLimitMs !== undefined ? { caseLimitMs } : {}),
});

describe('the fuzz harness', () => {
  it('passes a parser that returns or throws BootforgeError', async () => {
    const details = await check(
      spec((n) => {
        if (n % 2) throw new BootforgeError('BF_USAGE', 'odd');
        return n;
      }),
    );
    expect([details.failed, details.numRuns]).toEqual([false, 50]);
  });

  it('fails a parser that throws anything else, and replays the counterexample', async () => {
    const details = await check(
      spec((n) => {
        if (n > 40) throw new RangeError('offset out of range');
      }),
    );
    expect(details.failed).toBe(true);
    expect(details.counterexample).toEqual([41]);
    expect(details.errorInstance).toBeInstanceOf(RangeError);
  });

  it('fails a case slower than its limit', async () => {
    const details = await check(spec((n) => (n > 90 ? new Promise((r) => setTimeout(r, 60)) : n), 30));
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(/one case took \d+ ms \(limit 30 ms\)/);
  });

  it('mutates a copy and reads an image overlay as a file', async () => {
    const sample = Buffer.from('0123456789');
    const list = [
      { op: 'flip', at: 0, bit: 0 },
      { op: 'set', at: 8, bytes: [0x41, 0x42, 0x43] },
      { op: 'truncate', length: 9 },
    ] as const;
    expect(mutate(sample, list).toString('latin1')).toBe('11234567A');
    expect(sample.toString()).toBe('0123456789');
    const reader = overlayReader(sample, list);
    expect(reader.size).toBe(9);
    expect(await reader.read(6, 5)).toEqual(Buffer.from([0x36, 0x37, 0x41, 0, 0]));
    await expect(reader.read(0, 2 ** 31)).rejects.toThrow(/a read larger than the image/);
  });
});
