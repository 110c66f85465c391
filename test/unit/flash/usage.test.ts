import { describe, expect, it } from 'vitest';
import { parseMountinfo, parseSwaps } from '../../../src/flash/usage.js';
import { chunksOf, HEAD_BYTES, isHeld, TAIL_BYTES, wholeImagePlan } from '../../../src/flash/plan.js';
import { devString } from '../../../src/flash/device.js';

describe('mountinfo and swaps', () => {
  it('reads device numbers, mount points (unescaped) and sources, with and without optional fields', () => {
    const text = [
      '36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
      '40 27 8:17 / /media/my\\040stick rw,nosuid shared:2 master:3 - vfat /dev/sdb1 rw',
      '41 27 0:45 / /data rw - btrfs /dev/sdc2 rw',
      '',
    ].join('\n');
    expect(parseMountinfo(text)).toEqual([
      { dev: '98:0', mountPoint: '/mnt/parent', source: '/dev/root' },
      { dev: '8:17', mountPoint: '/media/my stick', source: '/dev/sdb1' },
      { dev: '0:45', mountPoint: '/data', source: '/dev/sdc2' },
    ]);
  });

  it('reads swap file names after the header', () => {
    const text =
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sdb2  partition\t1048572\t0\t-2\n/swap\\040file file 10 0 -3\n';
    expect(parseSwaps(text)).toEqual(['/dev/sdb2', '/swap file']);
  });
});

describe('device numbers and the write plan', () => {
  it('splits dev_t like glibc (12+20 bits)', () => {
    expect(devString(0x0811)).toBe('8:17');
    expect(devString(259 * 256 + 3)).toBe('259:3');
    // major 259, minor 0x12345: low 8 bits of the minor, then the major, then the rest of the minor.
    const big = 0x45 | (259 << 8) | (0x123 << 20);
    expect(devString(big)).toBe(`259:${0x12345}`);
  });

  it('never lets a chunk straddle the first MiB or the last TAIL_BYTES, which are written last', () => {
    const size = 9 * 1024 * 1024 + 7;
    const chunks = chunksOf({ start: 4096, end: size, checksum: undefined }, size);
    expect(chunks[0]).toEqual({ start: 4096, end: HEAD_BYTES });
    expect(chunks.every((c) => c.end <= HEAD_BYTES || c.start >= HEAD_BYTES)).toBe(true);
    expect(chunks.every((c) => c.end <= size - TAIL_BYTES || c.start >= size - TAIL_BYTES)).toBe(true);
    expect(chunks.at(-1)).toEqual({ start: size - TAIL_BYTES, end: size });
    expect(chunks.filter((c) => isHeld(c.start, size)).map((c) => [c.start, c.end])).toEqual([
      [4096, HEAD_BYTES],
      [size - TAIL_BYTES, size],
    ]);
    expect(wholeImagePlan(3 * HEAD_BYTES).ranges.map((r) => [r.start, r.end])).toEqual([
      [0, HEAD_BYTES],
      [HEAD_BYTES, 3 * HEAD_BYTES],
    ]);
  });
});
