/** Initrds: cpio newc archives, alone and in gzip, zstd and xz segments, as inspect reads them. */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import type { TreeEntry } from '../../src/fstree/types.js';
import { gzip, zstd } from '../../src/initrd/compress.js';
import { generatedFile, writeCpio } from '../../src/initrd/cpio.js';
import { inspectInitrd } from '../../src/initrd/inspect.js';
import { fuzz } from './harness.js';
import { mutate, mutations, type HotRanges } from './mutate.js';

const LINKS: TreeEntry[] = [
  { type: 'dir', path: '/usr', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
  { type: 'symlink', path: '/bin', target: 'usr/bin', mode: 0o777, uid: 0, gid: 0, mtime: 0 },
  { type: 'chardev', path: '/dev/console', major: 5, minor: 1, mode: 0o600, uid: 0, gid: 0, mtime: 0 },
  { type: 'hardlink', path: '/usr/bin/b', target: '/usr/bin/a', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
];

async function cpioOf(files: Record<string, string>): Promise<Buffer> {
  const contents = new Map<string, Buffer>();
  const entries = [...LINKS];
  for (const [path, text] of Object.entries(files)) {
    contents.set(path, Buffer.from(text));
    entries.push(generatedFile(path, Buffer.from(text), { mode: 0o755 }));
  }
  return writeCpio(entries, contents, { mtime: 1_600_000_000 });
}

const xz = (data: Buffer): Buffer => execFileSync('xz', ['--check=crc32', '--lzma2=dict=1MiB', '-c'], { input: data });
const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

/** Every cpio header (magic 070701) and the first and last bytes of every segment. */
function hotRanges(data: Buffer, segmentStarts: readonly number[]): HotRanges {
  const hot: [number, number][] = segmentStarts.map((s) => [s, s + 64]);
  for (let at = data.indexOf('070701'); at >= 0; at = data.indexOf('070701', at + 1)) hot.push([at, at + 110]);
  hot.push([Math.max(0, data.length - 32), data.length]);
  return hot;
}

interface Sample {
  readonly name: string;
  readonly bytes: Buffer;
  readonly hot: HotRanges;
}

describe('initrd', () => {
  let archive: Buffer;
  const samples: Sample[] = [];
  beforeAll(async () => {
    archive = await cpioOf({ '/usr/bin/a': 'aaa', '/etc/motd': 'hi\n', '/init': '#!/bin/sh\nexec /bin/sh\n' });
    const parts = [archive, pad4(await gzip(archive)), pad4(await zstd(archive, 3)), pad4(xz(archive))];
    const starts = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.length, 0));
    const names = ['cpio', 'gzip', 'zstd', 'xz'];
    parts.forEach((bytes, i) => samples.push({ name: names[i] ?? '', bytes, hot: hotRanges(bytes, [0]) }));
    const all = Buffer.concat(parts);
    samples.push({ name: 'cpio+gzip+zstd+xz', bytes: all, hot: hotRanges(all, starts) });
  });

  it('inspectInitrd: each compression, and all four in a row, mutated', () =>
    fuzz({
      parser: 'initrd (cpio, gzip, zstd, xz)',
      input: 'mutated sample',
      arbitrary: fc.constant(null).chain(() =>
        fc.nat({ max: samples.length - 1 }).chain((i) => {
          const s = samples[i] as Sample;
          return fc.tuple(fc.constant(i), mutations(s.bytes.length, { hot: s.hot, text: true }));
        }),
      ),
      run: ([i, list]) => inspectInitrd(mutate((samples[i] as Sample).bytes, list)),
      runs: 3000,
      timeLimitMs: 5000,
    }));

  it('inspectInitrd: a mutated archive, compressed intact (the cpio reader behind each decompressor)', () =>
    fuzz({
      parser: 'initrd (cpio, gzip, zstd, xz)',
      input: 'mutated cpio, then compressed',
      arbitrary: fc.tuple(
        fc.constantFrom('gzip', 'zstd'),
        fc.constant(null).chain(() => mutations(archive.length, { hot: hotRanges(archive, [0]), text: true })),
      ),
      run: async ([how, list]) => {
        const cpio = mutate(archive, list);
        return inspectInitrd(how === 'gzip' ? await gzip(cpio) : await zstd(cpio, 1));
      },
      runs: 1000,
      timeLimitMs: 4000,
    }));

  it('inspectInitrd: random bytes behind each magic number', () =>
    fuzz({
      parser: 'initrd (cpio, gzip, zstd, xz)',
      input: 'random bytes',
      arbitrary: fc.tuple(
        fc.constantFrom([], [0x1f, 0x8b, 8], [0x28, 0xb5, 0x2f, 0xfd], [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0], [0x30, 0x37]),
        fc.uint8Array({ maxLength: 600 }),
      ),
      run: ([magic, rest]) => inspectInitrd(Buffer.concat([Buffer.from(magic), rest])),
      runs: 1500,
      timeLimitMs: 3000,
    }));
});

/** A zstd frame of RLE blocks: 4 bytes per 128 KiB of zeros, so 32 kB make 1 GiB. */
function zstdBomb(bytes: number): Buffer {
  const block = 128 * 1024;
  const count = Math.ceil(bytes / block);
  // Magic, a frame header without content size (window 128 KiB), then the blocks.
  const out = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  for (let i = 0; i < count; i++) {
    const header = (block << 3) | (1 << 1) | (i === count - 1 ? 1 : 0);
    out.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, header >> 16, 0]));
  }
  return Buffer.concat(out);
}

/** A gzip member of one fixed-Huffman deflate block: a zero, then matches of 258 bytes at distance 1 (13 bits each). */
function gzipBomb(bytes: number): Buffer {
  const matches = Math.floor((bytes - 1) / 258);
  const out = Buffer.alloc(10 + Math.ceil((3 + 8 + matches * 13 + 7) / 8) + 8);
  Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]).copy(out);
  let bit = 80;
  const bits = (value: number, n: number): void => {
    for (let i = 0; i < n; i++, bit++) if ((value >> i) & 1) out[bit >> 3] = (out[bit >> 3] ?? 0) | (1 << (bit & 7));
  };
  // Huffman codes go most significant bit first.
  const code = (value: number, n: number): void => {
    for (let i = n - 1; i >= 0; i--, bit++)
      if ((value >> i) & 1) out[bit >> 3] = (out[bit >> 3] ?? 0) | (1 << (bit & 7));
  };
  bits(1, 1); // last block
  bits(1, 2); // fixed Huffman codes
  code(0x30, 8); // literal 0
  for (let i = 0; i < matches; i++) {
    code(0xc5, 8); // length 258
    code(0, 5); // distance 1
  }
  code(0, 7); // end of block
  out.writeUInt32LE((1 + matches * 258) % 2 ** 32, out.length - 4);
  return out;
}

describe('initrd segments that expand far', () => {
  it('inspectInitrd: a small gzip or zstd segment that inflates to 0.6-1 GiB', () =>
    fuzz({
      parser: 'initrd (cpio, gzip, zstd, xz)',
      input: 'decompression bomb',
      arbitrary: fc.tuple(fc.constantFrom('zstd', 'gzip'), fc.integer({ min: 600, max: 1024 })),
      run: ([how, mib]) => inspectInitrd((how === 'zstd' ? zstdBomb : gzipBomb)(mib * 2 ** 20)),
      runs: 4,
      timeLimitMs: 10_000,
      shrink: false,
    }));
});
