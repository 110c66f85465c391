/**
 * A small installer-shaped image for flash tests, made with bootforge's own image
 * code (GPT, sparse writer, bmap): a GPT with an ESP and a data partition, data at
 * the start and the end of each, holes between. Deterministic for a seed.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeBmap, type Bmap } from '../../src/image/bmap.js';
import { MIB, writeGpt } from '../../src/image/gpt.js';
import { guidFromHash, PARTITION_TYPE } from '../../src/image/guid.js';
import { SparseImage } from '../../src/image/sparse.js';

export interface FlashImage {
  readonly path: string;
  readonly bmapPath: string;
  readonly bmap: Bmap;
  readonly size: number;
}

/** Deterministic bytes that stand in for file system data. */
export function filler(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0, i = 0; at < length; at += 32, i++)
    createHash('sha256').update(`${seed}/${i}`).digest().copy(out, at);
  return out;
}

/**
 * `size` bytes of image (a multiple of 1 MiB, at least 8 MiB) in `dir`, `dataBytes`
 * of data at the start of the ESP (the rest of each partition is a hole), and its
 * .bmap beside it (<name>.bmap, as build names it).
 */
export async function makeFlashImage(
  dir: string,
  name: string,
  size: number,
  dataBytes = 2 * MIB,
): Promise<FlashImage> {
  const { layout, writes } = writeGpt({
    diskSize: size,
    diskGuid: guidFromHash('flash-test', name),
    partitions: [
      { name: 'ESP', type: PARTITION_TYPE.esp, size: Math.floor(size / 2 / MIB) * MIB },
      { name: 'bootforge payload', type: PARTITION_TYPE.bootforgePayload, size: 'rest' },
    ],
  });
  const path = join(dir, name);
  const img = new SparseImage(path, layout.diskSize);
  try {
    for (const w of writes) await img.write(w.offset, w.data);
    const [esp, payload] = layout.partitions;
    for (let at = 0; at < dataBytes; at += 4 * MIB) {
      await img.write(esp!.start + at, filler(`${name}/esp/${at}`, Math.min(4 * MIB, dataBytes - at)));
    }
    await img.write(esp!.end - 4096, filler(`${name}/esp/tail`, 4096));
    await img.write(payload!.start, filler(`${name}/payload`, 64 * 1024));
  } catch (e) {
    await img.close();
    throw e;
  }
  const result = await img.finalize();
  const bmapPath = `${path}.bmap`;
  const bmap = await writeBmap(path, result.ranges, bmapPath);
  return { path, bmapPath, bmap, size: layout.diskSize };
}
