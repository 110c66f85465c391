import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decompressStream } from '../../../src/packages/decompress.js';

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

describe('decompressStream', () => {
  const zeros = Buffer.alloc(2 * 1024 * 1024);
  const packed = { gz: gzipSync(zeros), xz: execFileSync('xz', ['-c'], { input: zeros }) } as const;

  it.each(['gz', 'xz'] as const)('passes %s through up to its bound', async (compression) => {
    expect(await drain(decompressStream(Readable.from([packed[compression]]), compression, zeros.length))).toBe(
      zeros.length,
    );
  });

  it.each(['gz', 'xz'] as const)(
    'stops %s that expands past its bound with BF_EXPANDS_TOO_FAR',
    async (compression) => {
      const stream = decompressStream(Readable.from([packed[compression]]), compression, 1024 * 1024, 'Packages.xz');
      await expect(drain(stream)).rejects.toMatchObject({
        code: 'BF_EXPANDS_TOO_FAR',
        message: 'Packages.xz expands past 1 MiB',
      });
    },
  );
});
