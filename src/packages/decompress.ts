import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import xzDecompress from 'xz-decompress';
import { BootforgeError } from '../errors/index.js';
import { formatSize } from '../schema/size.js';

const { XzReadableStream } = xzDecompress;

export type Compression = 'xz' | 'gz' | 'none';

export function compressionOf(name: string): Compression | undefined {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.gz')) return 'gz';
  if (!/\.(bz2|zst|lzma|lz4)$/.test(name)) return 'none';
  return undefined;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * What a package's members and an index may expand to: far above Debian's largest (bookworm's
 * Packages ~50 MB, the largest data.tar a few GB), far below a full memory or disk.
 */
export const EXPANSION_LIMITS = { index: 1 * GiB, control: 64 * MiB, data: 16 * GiB } as const;

/** A stream of the decompressed bytes (xz through WASM, streaming; gzip through zlib), cut off past `max`. */
export function decompressStream(
  input: Readable,
  compression: Compression,
  max: number = EXPANSION_LIMITS.index,
  what = 'a package index',
): Readable {
  return Readable.from(bounded(decompressed(input, compression), max, what));
}

function decompressed(input: Readable, compression: Compression): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'none':
      return input;
    case 'gz':
      return input.pipe(createGunzip());
    case 'xz':
      return Readable.fromWeb(new XzReadableStream(Readable.toWeb(input) as ReadableStream<Uint8Array>) as never);
  }
}

/** Passes decompressed chunks on until they add up to more than `max`, then fails with BF_EXPANDS_TOO_FAR. */
export async function* bounded(
  chunks: AsyncIterable<Uint8Array>,
  max: number,
  what: string,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > max) throw new BootforgeError('BF_EXPANDS_TOO_FAR', `${what} expands past ${formatSize(max)}`);
    yield chunk;
  }
}
