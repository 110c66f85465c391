import { TarArchive, type EntryData } from 'archiver';
import { type createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Encoder } from '@toondepauw/node-zstd';
import type { TreeEntry } from '../fstree/types.js';

/**
 * The system payload on the installer's second partition: a text header
 * (what the installer's shell reads and checks), then the tree as a tar stream
 * compressed into independent zstd frames. Independent frames are one valid
 * zstd stream (`zstd -dc` reads them in a row) that bootforge can compress in
 * parallel with bounded memory, as pzstd does.
 */
export const PAYLOAD_HEADER_SIZE = 4096;
export const PAYLOAD_MAGIC = 'BOOTFORGE-PAYLOAD 1';
const FRAME_INPUT = 8 * 1024 * 1024;

export interface PayloadInfo {
  readonly size: number;
  readonly sha256: string;
  readonly uncompressedSize: number;
  readonly entries: number;
}

/** The tar stream of a tree (archiver's tar engine): sorted, fixed mtime, owners and modes kept. */
export function tarOf(
  entries: readonly TreeEntry[],
  contents: (entry: TreeEntry & { sha256: string }) => Promise<Buffer>,
  mtime: Date,
): AsyncIterable<Buffer> {
  const archive = new TarArchive({ gzip: false });
  const out = new PassThrough();
  archive.pipe(out);
  archive.on('warning', (e: Error) => out.destroy(e));
  archive.on('error', (e: Error) => out.destroy(e));
  void (async () => {
    try {
      for (const e of entries) {
        const name = e.path === '/' ? './' : `.${e.path}`;
        const owner = {
          uid: e.uid,
          gid: e.gid,
          ...(e.uname ? { uname: e.uname } : {}),
          ...(e.gname ? { gname: e.gname } : {}),
        };
        const base = { name, date: mtime, mode: e.mode, ...owner };
        switch (e.type) {
          case 'dir':
            archive.append(Buffer.alloc(0), { ...base, type: 'directory' });
            break;
          case 'file':
            archive.append(await contents(e), base);
            break;
          case 'symlink':
            archive.append(Buffer.alloc(0), { ...base, type: 'symlink', linkname: e.target } as EntryData);
            break;
          case 'hardlink':
            archive.append(Buffer.alloc(0), {
              ...base,
              type: 'link',
              linkname: `.${e.target}`,
            } as unknown as EntryData);
            break;
          default:
            // Device nodes and fifos are made at boot (devtmpfs), not shipped.
            break;
        }
        // Keep the archive's queue short: wait when the consumer is slower than the producer.
        if (out.writableNeedDrain) await new Promise((r) => out.once('drain', r));
      }
      await archive.finalize();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  return out;
}

/** Compresses a stream into independent zstd frames of up to 8 MiB input each, `parallel` at a time. */
export async function* zstdFrames(input: AsyncIterable<Buffer>, level = 3, parallel = 2): AsyncIterable<Buffer> {
  const encoder = new Encoder(level);
  const pending: Promise<Buffer>[] = [];
  let chunks: Buffer[] = [];
  let size = 0;
  const flush = () => {
    const data = Buffer.concat(chunks);
    chunks = [];
    size = 0;
    pending.push(encoder.encode(data));
  };
  for await (const chunk of input) {
    let rest = chunk;
    while (size + rest.length >= FRAME_INPUT) {
      const take = FRAME_INPUT - size;
      chunks.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      size += take;
      flush();
      while (pending.length >= parallel) yield await (pending.shift() as Promise<Buffer>);
    }
    if (rest.length > 0) {
      chunks.push(rest);
      size += rest.length;
    }
  }
  if (size > 0) flush();
  while (pending.length > 0) yield await (pending.shift() as Promise<Buffer>);
}

/** The header the installer reads first: `key value` lines a POSIX shell parses with `read`. */
export function payloadHeader(fields: Readonly<Record<string, string | number>>): Buffer {
  const lines = [PAYLOAD_MAGIC, ...Object.entries(fields).map(([k, v]) => `${k} ${String(v)}`), 'end', ''];
  const text = Buffer.from(lines.join('\n'));
  if (text.length > PAYLOAD_HEADER_SIZE) throw new Error('payload header too large');
  return Buffer.concat([text, Buffer.alloc(PAYLOAD_HEADER_SIZE - text.length)]);
}

/** Hashes and measures a stream on its way through. */
export async function* measured(
  input: AsyncIterable<Buffer>,
  into: { size: number; hash: ReturnType<typeof createHash> },
): AsyncIterable<Buffer> {
  for await (const chunk of input) {
    into.size += chunk.length;
    into.hash.update(chunk);
    yield chunk;
  }
}
