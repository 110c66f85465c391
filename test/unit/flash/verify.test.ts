import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedReadBack, verifyTarget } from '../../../src/flash/verify.js';
import type { WritePlan } from '../../../src/flash/plan.js';
import { silentReporter } from '../../../src/log/events.js';

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('verifyTarget reads in 4096-aligned windows (as O_DIRECT needs) and hashes only each range', () => {
  // Ranges that start and end off the 4096 grid, one across a window edge, one to the file's odd end.
  const data = Buffer.from(Array.from({ length: 3 * 4096 + 123 }, (_, i) => (i * 7 + 3) & 0xff));
  const ranges = [
    [5, 4100],
    [8190, 8200],
    [9000, data.length],
  ] as const;
  const plan: WritePlan = {
    imageSize: data.length,
    checksumType: 'sha256',
    fromBmap: true,
    ranges: ranges.map(([start, end]) => ({ start, end, checksum: undefined })),
  };
  const digests = ranges.map(([s, e]) => sha(data.subarray(s, e)));

  it('accepts the bytes that were written', async () => {
    const file = join(tmp, 'good.img');
    writeFileSync(file, data);
    const handle = await open(file, 'r');
    try {
      expect(await verifyTarget(cachedReadBack(handle), file, plan, digests, silentReporter)).toEqual({
        ok: true,
        problems: [],
      });
    } finally {
      await handle.close();
    }
  });

  it('names the range that differs, and a target that ends early', async () => {
    const file = join(tmp, 'bad.img');
    const bad = Buffer.from(data);
    bad[8195] = data[8195]! ^ 0xff;
    writeFileSync(file, bad.subarray(0, 10_000));
    const handle = await open(file, 'r');
    try {
      const v = await verifyTarget(cachedReadBack(handle), file, plan, digests, silentReporter);
      expect(v.ok).toBe(false);
      expect(v.problems[0]).toMatch(/^bytes 8190-8200: read back [0-9a-f]{64}, wrote [0-9a-f]{64}$/);
      expect(v.problems[1]).toBe(`ends at 10000 bytes, before ${data.length}`);
    } finally {
      await handle.close();
    }
  });
});
