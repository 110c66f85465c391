/**
 * Compression of initramfs segments: gzip (node:zlib) and zstd
 * (@toondepauw/node-zstd).
 *
 * Choosing the zstd package (measured on this project's build machines: 2 cores,
 * AMD EPYC, Node 20.20; sample = the first 6 MiB of /usr/lib/x86_64-linux-gnu,
 * files in name order; median of 3-7 runs, one thread):
 *
 *   package                       level   bytes     ratio   time     MB/s
 *   @toondepauw/node-zstd 2.0.0     3    1630953   3.86     33 ms   190
 *                                   9    1464613   4.30    122 ms    52
 *                                  19    1334934   4.71   2970 ms   2.1
 *   zstd-napi 0.0.13                3    1613403   3.90     37 ms   170
 *                                   9    1450706   4.34    128 ms    49
 *                                  19    1335285   4.71   2466 ms   2.6
 *   @bokuweb/zstd-wasm 0.0.27       3    1613403   3.90     51 ms   122
 *                                   9    1450706   4.34    295 ms    21
 *                                  19    1335285   4.71   3243 ms   1.9
 *   zstd CLI 1.5.4 (Debian)         3    1648220   3.82     86 ms    73
 *                                   9    1478245   4.26    211 ms    30
 *                                  19    1361382   4.62   2695 ms   2.3
 *   gzip, node:zlib                 1    2078175   3.03     76 ms    83
 *                                   6    1909601   3.30    190 ms    33
 *                                   9    1893037   3.32   1128 ms   5.6
 *
 * - @toondepauw/node-zstd: installs in ~2 s from the npm registry alone (the
 *   native addon is an optional dependency per platform: linux x64/arm64 glibc
 *   and musl, macOS, Windows), no install script, no compiler; honours the
 *   level; async `encode` runs off the main thread (two segments compress in
 *   parallel). Its frames carry no content size and no checksum (it streams
 *   through the Rust zstd crate): the kernel needs neither (it decompresses an
 *   initramfs in streaming mode; gzip's CRC still guards gzip segments, and
 *   the initrd file as a whole has a SHA-256 in the artifact).
 * - zstd-napi: same speed, but its install fetches a prebuilt binary from
 *   GitHub (unreachable here) and falls back to node-gyp: 47 s and a C++
 *   compiler on every fresh machine; npm 11 also warns that its install script
 *   is not allowed by default.
 * - @mongodb-js/zstd 7.0.0: install fails here (prebuild from GitHub, then a
 *   build script missing from the package); 1.x ignored the level.
 * - @bokuweb/zstd-wasm: portable (no native code), but 2.4x slower at level 9
 *   and 0.0.x.
 *
 * What the kernel's zstd decompressor (lib/decompress_unzstd.c, streaming mode
 * for initramfs) needs: one standard frame per segment (init/initramfs.c
 * requires each compressed stream to end at a cpio trailer, so a cpio split
 * across frames fails), no dictionary, no skippable frame, and a window it can
 * allocate in early boot. Levels 1-19 use windows of at most 8 MiB (measured:
 * 2 MiB at 3, 4 MiB at 9, 8 MiB at 19); the --ultra levels 20-22 go up to
 * 128 MiB, which kbuild's own Makefile.lib says not to use for initramfs. So
 * levels are limited to 1-19. Every compression of a whole buffer here makes
 * exactly one frame (gzip: one member).
 *
 * Determinism: node:zlib's gzip header has mtime 0, no file name, OS 3 (unix):
 * the output depends only on the input, the level and the zlib build (Node
 * bundles Chromium's zlib; a different Node version may compress differently).
 * zstd output depends on the input, the level and the libzstd version. The
 * segment cache keys on both versions (see `compressorId`).
 */
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gzip as zlibGzip } from 'node:zlib';
import { Encoder } from '@toondepauw/node-zstd';
import { BootforgeError } from '../errors/index.js';

export type SegmentCompression = 'none' | 'gzip' | 'zstd';

/** The default level of each compression: zstd 9 and gzip 6 are where more effort stops paying (table above). */
export const DEFAULT_LEVEL: Readonly<Record<SegmentCompression, number>> = { none: 0, gzip: 6, zstd: 9 };

/** Allowed levels: zstd stops at 19 so the kernel's streaming decoder needs at most an 8 MiB window. */
export const LEVEL_RANGE: Readonly<Record<SegmentCompression, readonly [number, number]>> = {
  none: [0, 0],
  gzip: [1, 9],
  zstd: [1, 19],
};

const gzipAsync = promisify(zlibGzip);

/** The level to use: the given one after checking it, or the default. */
export function resolveLevel(compression: SegmentCompression, level?: number): number {
  if (level === undefined) return DEFAULT_LEVEL[compression];
  const [min, max] = LEVEL_RANGE[compression];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      `${compression} level ${level} is out of range: ${compression === 'none' ? 'an uncompressed segment has no level' : `use ${min} to ${max}`}`,
      {
        hint:
          compression === 'zstd'
            ? 'zstd levels above 19 (--ultra) need windows of up to 128 MiB, which the kernel would allocate while unpacking the initramfs'
            : undefined,
      },
    );
  }
  return level;
}

/** gzip as one member with no name and mtime 0 (zlib writes that header). */
export async function gzip(data: Buffer, level?: number): Promise<Buffer> {
  return gzipAsync(data, { level: resolveLevel('gzip', level) });
}

/** zstd as one frame (no dictionary, no checksum, window at most 8 MiB). */
export async function zstd(data: Buffer, level?: number): Promise<Buffer> {
  return new Encoder(resolveLevel('zstd', level)).encode(data);
}

export async function compress(data: Buffer, compression: SegmentCompression, level?: number): Promise<Buffer> {
  switch (compression) {
    case 'none':
      resolveLevel('none', level);
      return data;
    case 'gzip':
      return gzip(data, level);
    case 'zstd':
      return zstd(data, level);
  }
}

/**
 * What produced a compression's bytes: a cache key part, so that upgrading
 * Node (zlib) or the zstd package rebuilds cached segments instead of mixing
 * bytes from two compressor versions into one build.
 */
export function compressorId(compression: SegmentCompression): string {
  switch (compression) {
    case 'none':
      return 'none';
    case 'gzip':
      return `zlib ${process.versions.zlib}`;
    case 'zstd':
      return `@toondepauw/node-zstd ${zstdPackageVersion()}`;
  }
}

let zstdVersion: string | undefined;
function zstdPackageVersion(): string {
  if (zstdVersion === undefined) {
    const require = createRequire(import.meta.url);
    zstdVersion = (require('@toondepauw/node-zstd/package.json') as { version: string }).version;
  }
  return zstdVersion;
}
