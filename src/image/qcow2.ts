import { readSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { openInput } from '../fsutil/read-input.js';
import { run } from '../exec/run.js';
import type { BlockReader } from './gpt.js';

/** Chunks read from a qcow2 through `qemu-img convert` (one process per chunk, so large ones). */
const QCOW2_CHUNK = 1024 * 1024;

/** Incompatible feature bits QEMU 7.2 knows (dirty, corrupt, external data file, compression type, extended L2). */
const KNOWN_INCOMPATIBLE = 0x1fn;
const EXTERNAL_DATA_FILE = 0x4n;
/** The header extension naming an external data file ("DATA"). */
const DATA_FILE_EXTENSION = 0x44415441;

/**
 * Refuses a qcow2 that makes QEMU open anything but itself: a backing file (which may be
 * `nbd://host/...` or any local file, shown as if it were the image) or an external data file.
 * Read from the header (docs/interop/qcow2.txt) before qemu-img sees the image.
 */
export function checkQcow2Standalone(path: string): void {
  const input = openInput(path, { kind: 'image' });
  const head = Buffer.alloc(64 * 1024);
  let length: number;
  try {
    length = readSync(input.fd, head, 0, head.length, 0);
  } finally {
    input.close();
  }
  const refuse = (why: string): BootforgeError =>
    new BootforgeError('BF_IMAGE_NOT_STANDALONE', `qcow2 image ${displayFile(path)} ${why}`);
  if (length < 104 || head.readUInt32BE(0) !== 0x514649fb) throw refuse('has a truncated or missing qcow2 header');
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw refuse(`has qcow2 version ${version}; bootforge reads versions 2 and 3`);
  if (head.readBigUInt64BE(8) !== 0n) throw refuse('names a backing file; bootforge reads only self-contained images');
  if (version === 2) return;
  const incompatible = head.readBigUInt64BE(72);
  if (incompatible & EXTERNAL_DATA_FILE) throw refuse('keeps its data in an external data file');
  if (incompatible & ~KNOWN_INCOMPATIBLE)
    throw refuse(`has unknown incompatible features (0x${incompatible.toString(16)})`);
  for (let p = head.readUInt32BE(100); p + 8 <= length;) {
    const type = head.readUInt32BE(p);
    if (type === 0) return;
    if (type === DATA_FILE_EXTENSION) throw refuse('names an external data file');
    p += 8 + Math.ceil(head.readUInt32BE(p + 4) / 8) * 8;
  }
  throw refuse('has header extensions that do not end within its first 64 KiB');
}

/** The image as QEMU's block layer options: qcow2 over a plain file, with backing files disabled. */
function qcow2Node(path: string): Record<string, unknown> {
  return { driver: 'qcow2', backing: null, file: { driver: 'file', filename: path } };
}

/** Random access to a qcow2 image's guest view, for the few reads an inspection makes. */
export async function qcow2Reader(path: string, scratch: string): Promise<BlockReader> {
  checkQcow2Standalone(path);
  const info = JSON.parse(
    (await run(['qemu-img', 'info', '--output=json', `json:${JSON.stringify(qcow2Node(path))}`])).stdout.toString(
      'utf8',
    ),
  ) as { 'virtual-size': number };
  const size = info['virtual-size'];
  const chunks = new Map<number, Buffer>();
  const chunk = async (n: number): Promise<Buffer> => {
    const cached = chunks.get(n);
    if (cached) return cached;
    const out = join(scratch, `chunk-${n}`);
    // The raw driver's offset and size over the qcow2 (qemu-img dd's skip and count differ between QEMU versions).
    const offset = n * QCOW2_CHUNK;
    const node = { driver: 'raw', offset, size: Math.min(QCOW2_CHUNK, size - offset), file: qcow2Node(path) };
    await run(['qemu-img', 'convert', '-O', 'raw', `json:${JSON.stringify(node)}`, out]);
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
