/** bmap files: mutated (and re-sealed with their own checksum, so the parser reads past it) and pathological. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createBmap, readBmap } from '../../src/image/bmap.js';
import { SparseImage } from '../../src/image/sparse.js';
import { fuzz } from './harness.js';
import { mutate, mutations } from './mutate.js';

const MIB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'bootforge-fuzz-bmap-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Sets BmapFileChecksum to the digest of the text as it stands: a hostile bmap can be
 * consistent with itself, so the checks after the checksum must hold on their own.
 */
function reseal(text: string): string {
  const field = /(<BmapFileChecksum>\s*)([0-9a-f]{64}|[0-9a-f]{40})(\s*<\/BmapFileChecksum>)/.exec(text);
  if (!field) return text;
  const [, open = '', digest = ''] = field;
  const at = field.index + open.length;
  const zeroed = text.slice(0, at) + '0'.repeat(digest.length) + text.slice(at + digest.length);
  const own = createHash(digest.length === 64 ? 'sha256' : 'sha1')
    .update(zeroed)
    .digest('hex');
  return text.slice(0, at) + own + text.slice(at + digest.length);
}

/** The sample with `junk` inserted, re-sealed. */
function repeated(sample: string, junk: string, where: string): string {
  if (where === 'before the root') return reseal(sample.replace('<bmap', `${junk}<bmap`));
  const close = where === 'in the block map' ? '</BlockMap>' : '';
  return reseal(sample.replace('    </BlockMap>', `${junk}${close}`));
}

describe('bmap', () => {
  let sample: Buffer;
  beforeAll(async () => {
    const img = new SparseImage(join(work, 'a.img'), 4 * MIB);
    await img.write(0, Buffer.alloc(512, 1));
    await img.write(MIB + 10, Buffer.alloc(3 * 4096, 3));
    await img.write(4 * MIB - 700, Buffer.alloc(700, 4));
    const { ranges } = await img.finalize();
    sample = Buffer.from(await createBmap(join(work, 'a.img'), ranges));
  });

  it('readBmap: mutated sample, re-sealed', () =>
    fuzz({
      parser: 'bmap',
      input: 'mutated sample',
      arbitrary: fc.constant(null).chain(() => mutations(sample.length, { text: true })),
      run: (list) => readBmap(reseal(mutate(sample, list).toString('utf8'))),
      runs: 3000,
      timeLimitMs: 4000,
    }));

  it('readBmap: repeated markup (regular expressions that backtrack)', () =>
    fuzz({
      parser: 'bmap',
      input: 'repeated markup',
      arbitrary: fc.tuple(
        fc.constantFrom('<!--', '<Range', '<Range chksum="', '<BlockMap>', '</Range>', ' ', '-', '1 '),
        fc.integer({ min: 1000, max: 50_000 }),
        fc.constantFrom('before the root', 'in the block map', 'in an unclosed block map'),
      ),
      // Up to 750 kB of a valid, re-sealed bmap (the bound is 64 MiB): a quadratic scan takes minutes.
      run: ([unit, n, where]) => readBmap(repeated(sample.toString('utf8'), unit.repeat(n), where)),
      runs: 40,
      timeLimitMs: 6000,
    }));
});
