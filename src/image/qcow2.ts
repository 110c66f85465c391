import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import type { BlockReader } from './gpt.js';

/** Chunks read from a qcow2 through `qemu-img convert` (one process per chunk, so large ones). */
const QCOW2_CHUNK = 1024 * 1024;

/** Random access to a qcow2 image's guest view, for the few reads an inspection makes. */
export async function qcow2Reader(path: string, scratch: string): Promise<BlockReader> {
  const info = JSON.parse(
    (await run(['qemu-img', 'info', '--output=json', '-f', 'qcow2', path])).stdout.toString('utf8'),
  ) as { 'virtual-size': number };
  const size = info['virtual-size'];
  const chunks = new Map<number, Buffer>();
  const chunk = async (n: number): Promise<Buffer> => {
    const cached = chunks.get(n);
    if (cached) return cached;
    const out = join(scratch, `chunk-${n}`);
    // The raw driver's offset and size over the qcow2 (qemu-img dd's skip and count differ
    // between QEMU versions); QEMU's option syntax doubles commas inside values.
    const offset = n * QCOW2_CHUNK;
    const opts = `driver=raw,offset=${offset},size=${Math.min(QCOW2_CHUNK, size - offset)},file.driver=qcow2,file.file.filename=${path.replace(/,/g, ',,')}`;
    await run(['qemu-img', 'convert', '-O', 'raw', '--image-opts', opts, out]);
    const data = await readFile(out);
    await rm(out, { force: true });
    chunks.set(n, data);
    return data;
  };
  return {
    size,
    read: async (offset, length) => {
      const buf = Buffer.alloc(length);
      for (let at = offset; at < offset + length && at < size;) {
        const n = Math.floor(at / QCOW2_CHUNK);
        const data = await chunk(n);
        const from = at - n * QCOW2_CHUNK;
        const take = Math.min(QCOW2_CHUNK - from, offset + length - at);
        data.copy(buf, at - offset, from, from + take);
        at += take;
      }
      return buf;
    },
  };
}
