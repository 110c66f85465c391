import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import xzDecompress from 'xz-decompress';

const { XzReadableStream } = xzDecompress;

export type Compression = 'xz' | 'gz' | 'none';

export function compressionOf(name: string): Compression | undefined {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.gz')) return 'gz';
  if (!/\.(bz2|zst|lzma|lz4)$/.test(name)) return 'none';
  return undefined;
}

/** A stream of the decompressed bytes (xz through WASM, streaming; gzip through zlib). */
export function decompressStream(input: Readable, compression: Compression): Readable {
  switch (compression) {
    case 'none':
      return input;
    case 'gz':
      return input.pipe(createGunzip());
    case 'xz':
      return Readable.fromWeb(new XzReadableStream(Readable.toWeb(input) as ReadableStream<Uint8Array>) as never);
  }
}
