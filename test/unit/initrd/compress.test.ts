import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { Decoder } from '@toondepauw/node-zstd';
import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { compress, compressorId, DEFAULT_LEVEL, gzip, resolveLevel, zstd } from '../../../src/initrd/compress.js';
import { zstdFrame } from '../../../src/initrd/inspect.js';
import { toolRuns } from '../../helpers/tools.js';

/** Compressible, not trivially so: words from a small vocabulary picked by an LCG. */
function sample(bytes: number): Buffer {
  const words = ['initramfs', 'kernel', 'module', 'firmware', 'busybox', 'udev', 'mount', '/usr/lib', '0x1f8b', '\n'];
  let state = 12345;
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const word = words[state % words.length] ?? '';
    parts.push(word, ' ');
    length += word.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

const hasZstdCli = (): boolean => toolRuns('zstd');

const data = sample(1 << 20);

describe('gzip', () => {
  it('writes one member with mtime 0, no file name, and the level in XFL', async () => {
    const out = await gzip(data);
    expect(out.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
    expect(out[3]).toBe(0); // FLG: no FNAME, FCOMMENT, FEXTRA, FHCRC
    expect(out.readUInt32LE(4)).toBe(0); // MTIME
    expect((await gzip(data, 9))[8]).toBe(2); // XFL: maximum compression
    expect(gunzipSync(out).equals(data)).toBe(true);
    expect(execFileSync('gzip', ['-dc'], { input: out }).equals(data)).toBe(true);
  });

  it('honours the level and is deterministic', async () => {
    const fast = await gzip(data, 1);
    const best = await gzip(data, 9);
    expect(fast.length).toBeGreaterThan(best.length);
    expect((await gzip(data, 9)).equals(best)).toBe(true);
    expect((await gzip(data)).equals(await gzip(data, DEFAULT_LEVEL.gzip))).toBe(true);
  });
});

describe('zstd', () => {
  it('writes exactly one standard frame: no dictionary, no skippable frame', async () => {
    const out = await zstd(data);
    expect(out.readUInt32LE(0)).toBe(0xfd2fb528);
    const frame = zstdFrame(out, 0);
    expect(frame.size).toBe(out.length);
    expect(frame.dictionaryId).toBe(0);
    expect(new Decoder().decodeSync(out).equals(data)).toBe(true);
  });

  it.each([1, 3, 9, 19])('keeps the window within 8 MiB at level %i (the kernel streams it)', async (level) => {
    const out = await zstd(data, level);
    expect(zstdFrame(out, 0).windowSize).toBeLessThanOrEqual(8 << 20);
    expect(new Decoder().decodeSync(out).equals(data)).toBe(true);
  });

  it('honours the level and is deterministic', async () => {
    const fast = await zstd(data, 1);
    const best = await zstd(data, 19);
    expect(fast.length).toBeGreaterThan(best.length);
    expect((await zstd(data, 19)).equals(best)).toBe(true);
    expect((await zstd(data)).equals(await zstd(data, DEFAULT_LEVEL.zstd))).toBe(true);
  });

  it.skipIf(!hasZstdCli())('is read by the zstd CLI', async () => {
    const out = await zstd(data, 9);
    expect(execFileSync('zstd', ['-dc'], { input: out, maxBuffer: 1 << 26 }).equals(data)).toBe(true);
  });

  it('compresses an empty input to a valid frame', async () => {
    const out = await zstd(Buffer.alloc(0));
    expect(zstdFrame(out, 0).size).toBe(out.length);
    expect(new Decoder().decodeSync(out).length).toBe(0);
  });
});

describe('levels', () => {
  it.each([
    ['zstd', 20, 'zstd level 20 is out of range: use 1 to 19'],
    ['zstd', 0, 'zstd level 0 is out of range: use 1 to 19'],
    ['zstd', 1.5, 'zstd level 1.5 is out of range: use 1 to 19'],
    ['gzip', 10, 'gzip level 10 is out of range: use 1 to 9'],
    ['none', 3, 'none level 3 is out of range: an uncompressed segment has no level'],
  ] as const)('refuses %s level %s', (compression, level, message) => {
    try {
      resolveLevel(compression, level);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BootforgeError);
      expect((e as BootforgeError).code).toBe('BF_INVALID_VALUE');
      expect((e as BootforgeError).message).toBe(message);
    }
  });

  it('explains the zstd limit in the hint', () => {
    expect(() => resolveLevel('zstd', 22)).toThrow(BootforgeError);
    try {
      resolveLevel('zstd', 22);
    } catch (e) {
      expect((e as BootforgeError).hint).toMatch(/128 MiB/);
    }
  });

  it('compress() dispatches and leaves "none" alone', async () => {
    expect(await compress(data, 'none')).toBe(data);
    expect((await compress(data, 'gzip', 6)).equals(await gzip(data, 6))).toBe(true);
    expect((await compress(data, 'zstd', 3)).equals(await zstd(data, 3))).toBe(true);
  });

  it('names the compressor version for cache keys', () => {
    expect(compressorId('gzip')).toBe(`zlib ${process.versions.zlib}`);
    expect(compressorId('zstd')).toMatch(/^@toondepauw\/node-zstd \d+\.\d+\.\d+$/);
    expect(compressorId('none')).toBe('none');
  });
});
