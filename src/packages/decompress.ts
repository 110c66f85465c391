import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import xzDecompress from 'xz-decompress';
import { BootforgeError } from '../errors/index.js';

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

export async function decompressBuffer(data: Buffer, compression: Compression, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of decompressStream(Readable.from([data]), compression))
      chunks.push(Buffer.from(chunk as Uint8Array));
  } catch (cause) {
    throw new BootforgeError(
      'BF_REPO_INDEX',
      `cannot decompress ${what} (${compression}): ${(cause as Error).message}`,
      { cause },
    );
  }
  return Buffer.concat(chunks);
}
