import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { SparseImage, type ByteRange } from '../../../src/image/sparse.js';
import { rejection } from '../../helpers/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-sparse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const path = (): string => join(tmp, `img-${++n}.img`);
const KIB = 1024;
const MIB = 1024 * KIB;

/** Bytes of the file that the file system allocated (st_blocks is in 512-byte units). */
const allocated = (p: string): number => statSync(p).blocks * 512;

describe('SparseImage', () => {
  it('creates a file of the full size that is one hole', async () => {
    const p = path();
    const img = new SparseImage(p, 256 * MIB);
    const result = await img.finalize();
    expect(statSync(p).size).toBe(256 * MIB);
    expect(allocated(p)).toBe(0);
    expect(result).toEqual({ path: p, size: 256 * MIB, ranges: [], mappedBytes: 0 });
  });

  it('writes at offsets and keeps the written ranges sorted and merged', async () => {
    const p = path();
    const img = new SparseImage(p, 4 * MIB);
    await img.write(MIB, Buffer.alloc(100, 1));
    await img.write(0, Buffer.alloc(512, 2));
    await img.write(MIB + 100, Buffer.alloc(50, 3)); // touches the first: merged
    await img.write(2 * MIB, Buffer.alloc(10, 4));
    await img.write(2 * MIB - 5, Buffer.alloc(10, 5)); // overlaps the start of the last one
    expect(img.ranges()).toEqual([
      { start: 0, end: 512 },
      { start: MIB, end: MIB + 150 },
      { start: 2 * MIB - 5, end: 2 * MIB + 10 },
    ]);
    await img.write(500, Buffer.alloc(2 * MIB, 6)); // swallows everything up to 2 MiB + 500
    const result = await img.finalize();
    expect(result.ranges).toEqual([{ start: 0, end: 2 * MIB + 500 }]);
    expect(result.mappedBytes).toBe(2 * MIB + 500);
    const bytes = readFileSync(p);
    expect(bytes[0]).toBe(2);
    expect(bytes[500]).toBe(6);
    expect(bytes[2 * MIB + 499]).toBe(6);
    expect(bytes[2 * MIB + 500]).toBe(0);
  });

  it('runs writes to disjoint ranges concurrently', async () => {
    const p = path();
    const img = new SparseImage(p, 8 * MIB);
    await Promise.all(Array.from({ length: 64 }, (_, i) => img.write(i * 128 * KIB, Buffer.alloc(64 * KIB, i + 1))));
    const result = await img.finalize();
    expect(result.ranges).toHaveLength(64);
    const bytes = readFileSync(p);
    for (let i = 0; i < 64; i++) {
      expect(bytes[i * 128 * KIB]).toBe(i + 1);
      expect(bytes[i * 128 * KIB + 64 * KIB]).toBe(0);
    }
  });

  it('writes a stream of chunks in order', async () => {
    const p = path();
    const img = new SparseImage(p, MIB);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) => setImmediate(resolve)); // a source that makes the writer wait
        yield new Uint8Array(1000).fill(i + 1);
      }
    }
    expect(await img.writeStream(3, chunks())).toBe(10_000);
    expect(await img.writeStream(20_000, [Buffer.from('ab'), Buffer.from('cd')])).toBe(4);
    const result = await img.finalize();
    expect(result.ranges).toEqual([
      { start: 3, end: 10_003 },
      { start: 20_000, end: 20_004 },
    ]);
    const bytes = readFileSync(p);
    expect([bytes[2], bytes[3], bytes[1002], bytes[1003], bytes[10_002], bytes[10_003]]).toEqual([0, 1, 1, 2, 10, 0]);
    expect(bytes.toString('latin1', 20_000, 20_004)).toBe('abcd');
  });

  describe('zero blocks', () => {
    it('does not store 4 KiB blocks of zeros that land in holes, but maps them (a flasher must write them)', async () => {
      const p = path();
      const img = new SparseImage(p, 64 * MIB);
      // A 16 MiB "file system" that is zero but for its first sector and one block in the middle.
      const fs = Buffer.alloc(16 * MIB);
      fs.fill(0xaa, 0, 512);
      fs.fill(0xbb, 8 * MIB + 4096, 8 * MIB + 8192);
      await img.write(MIB, fs);
      expect(img.storedRanges()).toEqual([
        { start: MIB, end: MIB + 4096 }, // the whole grid block of the first sector
        { start: 9 * MIB + 4096, end: 9 * MIB + 8192 },
      ]);
      const result = await img.finalize();
      expect(result.ranges).toEqual([{ start: MIB, end: 17 * MIB }]);
      expect(result.mappedBytes).toBe(16 * MIB);
      expect(allocated(p)).toBeLessThanOrEqual(64 * KIB);
      const bytes = readFileSync(p);
      expect(bytes.subarray(MIB, 17 * MIB).equals(fs)).toBe(true);
    });

    it('writes zeros that overwrite earlier data, and keeps them mapped', async () => {
      const p = path();
      const img = new SparseImage(p, MIB);
      await img.write(8192, Buffer.alloc(8192, 0xcc));
      await img.write(4096, Buffer.alloc(3 * 4096)); // a hole block (not stored), then the two data blocks (stored)
      expect(img.storedRanges()).toEqual([{ start: 8192, end: 16384 }]);
      const result = await img.finalize();
      expect(result.ranges).toEqual([{ start: 4096, end: 16384 }]);
      expect(
        readFileSync(p)
          .subarray(0, MIB)
          .every((b) => b === 0),
      ).toBe(true);
    });

    it('stores a zero block that only partly overlaps stored data in full', async () => {
      const p = path();
      const img = new SparseImage(p, MIB);
      await img.write(100, Buffer.alloc(10, 1));
      await img.write(0, Buffer.alloc(4096)); // same grid block as the data: stored
      await img.write(4096 + 100, Buffer.alloc(200)); // a fresh block: mapped, not stored
      await img.write(4096 + 100, Buffer.alloc(200)); // again: still a hole, still not stored
      expect(img.storedRanges()).toEqual([{ start: 0, end: 4096 }]);
      expect(img.ranges()).toEqual([
        { start: 0, end: 4096 },
        { start: 4196, end: 4396 },
      ]);
      await img.close();
      expect(
        readFileSync(p)
          .subarray(0, 4096)
          .every((b) => b === 0),
      ).toBe(true);
    });

    it('stores every byte when asked not to skip zeros', async () => {
      const p = path();
      const img = new SparseImage(p, MIB, { skipZeroBlocks: false });
      await img.write(4096, Buffer.alloc(8192));
      expect(img.storedRanges()).toEqual([{ start: 4096, end: 12288 }]);
      expect((await img.finalize()).ranges).toEqual([{ start: 4096, end: 12288 }]);
      expect(allocated(p)).toBeGreaterThanOrEqual(8192);
    });
  });

  it('keeps an 8 GiB image sparse: allocation follows what was written', async () => {
    const p = path();
    const img = new SparseImage(p, 8 * 1024 * MIB);
    const ranges: ByteRange[] = [];
    for (let i = 0; i < 8; i++) {
      const at = i * 1024 * MIB + 12345;
      await img.write(at, Buffer.alloc(MIB, i + 1));
      ranges.push({ start: at, end: at + MIB });
    }
    const result = await img.finalize();
    expect(statSync(p).size).toBe(8 * 1024 * MIB);
    expect(result.ranges).toEqual(ranges);
    expect(allocated(p)).toBeLessThan(16 * MIB);
    const handle = await open(p, 'r');
    try {
      const { buffer } = await handle.read(Buffer.alloc(2), 0, 2, 7 * 1024 * MIB + 12345 + MIB - 1);
      expect([...buffer]).toEqual([8, 0]);
    } finally {
      await handle.close();
    }
  });

  it('refuses writes outside the image and after close as bugs (BF_INTERNAL)', async () => {
    const img = new SparseImage(path(), 1000);
    expect((await rejection(img.write(990, Buffer.alloc(11)))).message).toMatch(
      /: a write of 11 bytes at 990 does not fit in 1000 bytes$/,
    );
    expect((await rejection(img.write(-1, Buffer.alloc(1)))).code).toBe('BF_INTERNAL');
    await img.close();
    await img.close(); // twice is fine
    expect((await rejection(img.write(0, Buffer.alloc(1)))).message).toMatch(/: write after close$/);
    expect((await rejection(img.finalize())).code).toBe('BF_INTERNAL');
  });

  it('reports a file that cannot be created as BF_IO', () => {
    const p = join(tmp, 'no-such-dir', 'x.img');
    let error: unknown;
    try {
      new SparseImage(p, MIB);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BootforgeError);
    expect((error as BootforgeError).code).toBe('BF_IO');
    expect((error as BootforgeError).message).toMatch(new RegExp(`^${p}: cannot create the image: ENOENT`));
  });
});
