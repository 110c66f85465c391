import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockRanges, createBmap, readBmap, verifyBmap, writeBmap } from '../../../src/image/bmap.js';
import { SparseImage, type SparseImageResult } from '../../../src/image/sparse.js';
import { thrown } from '../../helpers/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-bmap-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const MIB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const bmapError = thrown;

/** A 10 MiB image with data in a few places, one of them not block-aligned. */
async function makeImage(name: string, size = 10 * MIB): Promise<SparseImageResult> {
  const img = new SparseImage(join(tmp, name), size);
  await img.write(0, Buffer.alloc(512, 1));
  await img.write(4096, Buffer.alloc(100, 2)); // touches block 1: merges with block 0
  await img.write(MIB + 10, Buffer.alloc(3 * 4096, 3)); // blocks 256..259
  await img.write(size - 700, Buffer.alloc(700, 4)); // the image's last block
  return img.finalize();
}

describe('blockRanges', () => {
  it('widens byte ranges to whole blocks and merges runs that touch', () => {
    expect(
      blockRanges([
        { start: 0, end: 512 },
        { start: 4096, end: 4196 },
        { start: 3 * 4096, end: 3 * 4096 + 1 },
        { start: 10 * 4096 - 1, end: 10 * 4096 + 1 },
        { start: 5, end: 5 },
      ]),
    ).toEqual([
      { first: 0, last: 1 },
      { first: 3, last: 3 },
      { first: 9, last: 10 },
    ]);
  });
});

describe('createBmap and readBmap', () => {
  it('lists exactly the written blocks with the SHA-256 of each run', async () => {
    const image = await makeImage('a.img');
    const text = await createBmap(image.path, image.ranges);
    const bmap = readBmap(text, 'a.bmap');
    const last = (10 * MIB) / 4096 - 1;
    expect(bmap).toMatchObject({
      version: '2.0',
      imageSize: 10 * MIB,
      blockSize: 4096,
      blocksCount: 2560,
      mappedBlocksCount: 2 + 4 + 1,
      checksumType: 'sha256',
    });
    const bytes = readFileSync(image.path);
    const digest = (first: number, lastBlock: number): string =>
      sha256(bytes.subarray(first * 4096, (lastBlock + 1) * 4096));
    expect(bmap.ranges).toEqual([
      { first: 0, last: 1, checksum: digest(0, 1) },
      { first: 256, last: 259, checksum: digest(256, 259) },
      { first: last, last, checksum: digest(last, last) },
    ]);
    expect(text).toContain(`<Range chksum="${digest(last, last)}"> ${last} </Range>`);
    expect(text).toContain('<Range chksum="' + digest(0, 1) + '"> 0-1 </Range>');
    expect((await verifyBmap(image.path, bmap)).ok).toBe(true);
  });

  it("computes its own checksum over the text with that field's value set to zeros, as bmaptool does", async () => {
    const image = await makeImage('b.img');
    const text = await createBmap(image.path, image.ranges);
    const own = /<BmapFileChecksum> ([0-9a-f]{64}) <\/BmapFileChecksum>/.exec(text)![1]!;
    expect(sha256(Buffer.from(text.replace(own, '0'.repeat(64))))).toBe(own);
  });

  it('is reproducible: the same image content gives the same text', async () => {
    const a = await makeImage('c1.img');
    const b = await makeImage('c2.img');
    expect(await createBmap(a.path, a.ranges)).toBe(await createBmap(b.path, b.ranges));
  });

  it('handles an image whose size is not a whole number of blocks (a partial last block)', async () => {
    const image = await makeImage('odd.img', 10 * MIB + 1536);
    const bmap = readBmap(await createBmap(image.path, image.ranges));
    expect(bmap.blocksCount).toBe(2561);
    const lastRange = bmap.ranges[bmap.ranges.length - 1]!;
    expect(lastRange.first).toBe(2560);
    expect(lastRange.checksum).toBe(sha256(readFileSync(image.path).subarray(2560 * 4096)));
    expect((await verifyBmap(image.path, bmap)).ok).toBe(true);
  });

  it('writes a .bmap file and returns it parsed', async () => {
    const image = await makeImage('d.img');
    const bmap = await writeBmap(image.path, image.ranges, join(tmp, 'd.bmap'));
    expect(readBmap(readFileSync(join(tmp, 'd.bmap'), 'utf8'))).toEqual(bmap);
  });

  it('refuses ranges past the end of the image as a bug', async () => {
    const image = await makeImage('e.img');
    await expect(createBmap(image.path, [{ start: 20 * MIB, end: 20 * MIB + 1 }])).rejects.toMatchObject({
      code: 'BF_INTERNAL',
    });
  });
});

describe('verifyBmap', () => {
  it('finds a changed byte in a mapped range, and a changed size', async () => {
    const image = await makeImage('v.img');
    const bmap = readBmap(await createBmap(image.path, image.ranges));
    const bytes = readFileSync(image.path);
    bytes[MIB + 5000]! ^= 1;
    writeFileSync(image.path, bytes);
    const result = await verifyBmap(image.path, bmap);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/^blocks 256-259: sha256 is [0-9a-f]{64}, the bmap says/)]);
    truncateSync(image.path, 9 * MIB);
    const shorter = await verifyBmap(image.path, bmap);
    expect(shorter.problems[0]).toBe(`the image has ${9 * MIB} bytes, the bmap describes ${10 * MIB}`);
    expect(shorter.problems.length).toBe(3); // the size, the changed range, the last block now past the end
  });
});

describe('readBmap rejects what it cannot trust (BF_BMAP)', () => {
  let text = '';
  beforeAll(async () => {
    const image = await makeImage('r.img');
    text = await createBmap(image.path, image.ranges);
  });

  it('a changed character', () => {
    const e = bmapError(() => readBmap(text.replace('<BlockSize> 4096', '<BlockSize> 8192'), 'x.bmap'));
    expect(e.code).toBe('BF_BMAP');
    expect(e.message).toMatch(
      /^x\.bmap: the file's checksum is [0-9a-f]{64}, but it says [0-9a-f]{64}: the block map was changed or truncated$/,
    );
  });

  it('a truncated file', () => {
    expect(bmapError(() => readBmap(text.slice(0, text.length - 20), 'x.bmap')).message).toBe(
      'x.bmap: not a block map (no <bmap version="..."> ... </bmap>)',
    );
  });

  it('another format version', () => {
    expect(bmapError(() => readBmap(text.replace('version="2.0"', 'version="1.3"'), 'x.bmap')).message).toBe(
      'x.bmap: format version 1.3 is not supported; bootforge reads version 2.x (bmaptool 3.0 and later write it)',
    );
  });

  /** A bmap with its own checksum recomputed after an edit: the checks after the checksum must catch it. */
  const resigned = (edited: string): string => {
    const own = /<BmapFileChecksum> ([0-9a-f]{64}) </.exec(edited)![1]!;
    const zeroed = edited.replace(own, '0'.repeat(64));
    return zeroed.replace('0'.repeat(64), sha256(Buffer.from(zeroed)));
  };

  it('counts that do not add up', () => {
    expect(
      bmapError(() => readBmap(resigned(text.replace('<MappedBlocksCount> 7', '<MappedBlocksCount> 8')))).message,
    ).toBe('block map: the ranges hold 7 blocks, but MappedBlocksCount says 8');
    expect(bmapError(() => readBmap(resigned(text.replace('<BlocksCount> 2560', '<BlocksCount> 2561')))).message).toBe(
      'block map: 2561 blocks of 4096 bytes do not make an image of 10485760 bytes',
    );
  });

  it('ranges out of order', () => {
    const swapped = text.replace(/(<Range[^\n]*> 0-1 <\/Range>)\n(\s*)(<Range[^\n]*> 256-259 <\/Range>)/, '$3\n$2$1');
    expect(swapped).not.toBe(text);
    expect(bmapError(() => readBmap(resigned(swapped))).message).toBe(
      'block map: range 0-1 is out of order or overlaps the one before',
    );
  });

  it('accepts what it wrote', () => {
    expect(readBmap(resigned(text))).toEqual(readBmap(text));
  });

  // Found by the fuzz tier (test/fuzz/bmap.fuzz.ts): each of these took seconds to
  // minutes at 200 kB (quadratic), hours at the 64 MiB a bmap may have.
  const junk = 40_000;
  it.each([
    [
      'unclosed comments',
      () => resigned(text.replace('    </BlockMap>', `${'<!--'.repeat(junk)}</BlockMap>`)),
      /^block map: <BlockMap> holds something other than <Range> elements: <!--<!--/,
    ],
    [
      'unclosed ranges',
      () => resigned(text.replace('    </BlockMap>', `${'<Range'.repeat(junk)}</BlockMap>`)),
      /^block map: <BlockMap> holds something other than <Range> elements: <Range<Range/,
    ],
    [
      'a block map that never closes',
      () => resigned(text.replace('    </BlockMap>', '<BlockMap>'.repeat(junk))),
      /^block map: <BlockMap> is missing$/,
    ],
  ] as const)('refuses a bmap with %s in linear time', (_what, make, refusal) => {
    const hostile = make();
    const started = performance.now();
    expect(bmapError(() => readBmap(hostile)).message).toMatch(refusal);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
