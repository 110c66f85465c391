import { TarArchive } from 'archiver';
import { type createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { Encoder } from '@toondepauw/node-zstd';
import { BootforgeError } from '../errors/index.js';
import type { HardlinkEntry, TreeEntry } from '../fstree/types.js';
import { printable } from '../fsutil/display.js';

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
// Bytes of tar output allowed to wait for the compressor before the next entry is read.
const MAX_BACKLOG = 16 * 1024 * 1024;

export interface PayloadInfo {
  readonly size: number;
  readonly sha256: string;
  readonly uncompressedSize: number;
  readonly entries: number;
}

/** Member and hard link names of a tar stream; by default `./path`, relative to where it is unpacked. */
export interface TarNaming {
  member(path: string): string;
  link(entry: HardlinkEntry): string;
}

const PLAIN_NAMES: TarNaming = {
  member: (path) => (path === '/' ? './' : `.${path}`),
  link: (e) => `.${e.target}`,
};

/** The tar stream of a tree (archiver's tar engine): sorted, fixed mtime, owners and modes kept. */
export function tarOf(
  entries: readonly TreeEntry[],
  /** A file's bytes: a Buffer, or a stream of exactly entry.size bytes (large files need not sit in memory). */
  contents: (entry: TreeEntry & { sha256: string; size: number }) => Promise<Buffer | Readable>,
  mtime: Date,
  naming: TarNaming = PLAIN_NAMES,
): AsyncIterable<Buffer> {
  const archive = new TarArchive({ gzip: false });
  const out = new PassThrough();
  archive.pipe(out);
  archive.on('warning', (e: Error) => out.destroy(e));
  archive.on('error', (e: Error) => out.destroy(e));
  // archiver queues whatever is appended and its tar engine buffers whatever it is given:
  // append one entry at a time, and only when what is waiting downstream is small.
  const processed = (): Promise<void> => new Promise((resolve) => archive.once('entry', () => resolve()));
  const backlog = () => archive.readableLength + out.readableLength + out.writableLength;
  const drained = async (): Promise<void> => {
    while (backlog() > MAX_BACKLOG && !out.destroyed) await new Promise((r) => setTimeout(r, 2));
  };
  void (async () => {
    try {
      for (const e of entries) {
        const name = naming.member(e.path);
        const owner = {
          uid: e.uid,
          gid: e.gid,
          ...(e.uname ? { uname: e.uname } : {}),
          ...(e.gname ? { gname: e.gname } : {}),
        };
        const base = { name, date: mtime, mode: e.mode, ...owner };
        let data: Buffer | Readable;
        let extra: Record<string, unknown> = {};
        switch (e.type) {
          case 'dir':
            [data, extra] = [Buffer.alloc(0), { type: 'directory' }];
            break;
          case 'file':
            data = await contents(e);
            // archiver streams a source only when told its size (else it reads it whole first).
            if (!Buffer.isBuffer(data)) extra = { stats: { size: e.size, mode: e.mode } };
            break;
          case 'symlink':
            [data, extra] = [Buffer.alloc(0), { type: 'symlink', linkname: e.target }];
            break;
          case 'hardlink':
            [data, extra] = [Buffer.alloc(0), { type: 'link', linkname: naming.link(e) }];
            break;
          default:
            // Device nodes and fifos are made at boot (devtmpfs), not shipped.
            continue;
        }
        const done = processed();
        archive.append(data, { ...base, ...extra });
        await done;
        await drained();
      }
      await archive.finalize();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  return out;
}

/**
 * About how many bytes tarOf writes for these entries (a header per entry, file data
 * in 512-byte blocks, the end blocks), for progress: long names add pax headers on top.
 */
export function tarSizeEstimate(entries: readonly TreeEntry[]): number {
  let size = 1024;
  for (const e of entries) size += 512 + (e.type === 'file' ? Math.ceil(e.size / 512) * 512 : 0);
  return size;
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

/** A payload header as read back, every field checked (see readPayloadHeader). */
export interface PayloadHeaderFields {
  readonly size: number;
  readonly sha256: string;
  readonly uncompressedSize: number;
  readonly format: 'tar' | 'tar-delta';
  /** Store name of the generation, `<32 hex digits>-<profile>`. */
  readonly generation: string;
  /** A delta's base generation (store name). */
  readonly base?: string;
}

// Plain decimal, at most 15 digits: exact as a JavaScript number and in 64-bit shell arithmetic.
const NUMBER = /^(0|[1-9][0-9]{0,14})$/;
// Names become store folders and shell words on the machine: bootforge-gen checks the same pattern.
const STORE_NAME = /^[0-9a-f]{32}-[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Reads and checks a bundle's header (its first PAYLOAD_HEADER_SIZE bytes) against the file's
 * size: the same rules bootforge-gen applies on the machine, so both sides read one header the
 * same way. `what` names the file in errors.
 */
export function readPayloadHeader(block: Buffer, fileSize: number, what: string): PayloadHeaderFields {
  const bad = (message: string) =>
    new BootforgeError('BF_USAGE', `${what}: ${message}`, {
      hint: 'pass a bundle written by bootforge bundle; this one is damaged or was not made by bootforge',
    });
  const [magic, ...lines] = block.subarray(0, PAYLOAD_HEADER_SIZE).toString('utf8').split('\n');
  if (magic !== PAYLOAD_MAGIC) throw bad('is not a bootforge bundle');
  const fields = new Map<string, string>();
  for (const line of lines) {
    if (line === 'end') break;
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const key = line.slice(0, space);
    if (fields.has(key)) throw bad(`the header names ${printable(key)} more than once`);
    fields.set(key, line.slice(space + 1));
  }
  const text = (key: string): string => {
    const value = fields.get(key);
    if (value === undefined) throw bad(`the header has no ${key}`);
    return value;
  };
  const number = (key: string): number => {
    const value = text(key);
    if (!NUMBER.test(value)) throw bad(`the header's ${key} is not a number of at most 15 digits: ${printable(value)}`);
    return Number(value);
  };
  const name = (key: string): string => {
    const value = text(key);
    if (!STORE_NAME.test(value)) throw bad(`bad ${key} name in the header: ${printable(value)}`);
    return value;
  };
  if (number('payload_offset') !== PAYLOAD_HEADER_SIZE) {
    throw bad(
      `the header's payload_offset is ${text('payload_offset')}; a payload starts right after its ${PAYLOAD_HEADER_SIZE}-byte header`,
    );
  }
  const size = number('payload_size');
  const sha256 = text('payload_sha256');
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw bad(`bad payload_sha256 in the header: ${printable(sha256)}`);
  const compression = fields.get('payload_compression') ?? 'zstd';
  if (compression !== 'zstd') throw bad(`unknown payload compression ${printable(compression)}`);
  const format = fields.get('payload_format') ?? 'tar';
  if (format !== 'tar' && format !== 'tar-delta') throw bad(`unknown bundle format ${printable(format)}`);
  if (fileSize < PAYLOAD_HEADER_SIZE + size) {
    throw bad(`is truncated (${fileSize} bytes, the header says ${PAYLOAD_HEADER_SIZE + size})`);
  }
  return {
    size,
    sha256,
    uncompressedSize: number('payload_uncompressed_size'),
    format,
    generation: name('generation'),
    ...(format === 'tar-delta' ? { base: name('base') } : {}),
  };
}
