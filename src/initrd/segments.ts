/**
 * Initrd segments: each a cpio archive, compressed on its own, cached on disk
 * under a key derived from everything that decides its bytes, so a rebuild
 * that changes one segment's input re-packs that segment only. The initrd is
 * the segments end to end, in order (the kernel unpacks them in turn; later
 * entries overwrite earlier ones).
 *
 * Padding: a plain (uncompressed) segment is a multiple of 512 bytes already
 * (see cpio.ts). Each compressed segment is followed by zeros up to a multiple
 * of 4: the kernel skips zeros between segments but wants every plain cpio
 * archive, and every cpio header, at a 4-byte aligned offset of the initrd
 * (init/initramfs.c: "broken padding"). An early-microcode segment must come
 * first and be plain: the kernel looks for kernel/x86/microcode/*.bin in an
 * uncompressed archive at the start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import type { TreeEntry } from '../fstree/types.js';
import { compress, compressorId, resolveLevel, type SegmentCompression } from './compress.js';
import { type ContentSource, type CpioRecord, planCpio, writeCpio } from './cpio.js';

/** Bump when the bytes written for the same inputs change (cpio layout, padding, compression framing). */
export const SEGMENT_FORMAT_VERSION = 1;

export interface SegmentSpec {
  /** For messages and the cache's metadata ("microcode", "modules", "base"); not part of the key. */
  readonly name: string;
  readonly compression: SegmentCompression;
  /** Default: DEFAULT_LEVEL of the compression (zstd 9, gzip 6). */
  readonly level?: number;
  readonly entries: readonly TreeEntry[];
  /** File data; the writer checks each file's size and SHA-256 against its entry. */
  readonly contents: ContentSource;
}

export interface SegmentBuildOptions {
  /** SOURCE_DATE_EPOCH, the mtime of every entry. */
  readonly mtime: number;
  /** Where built segments are kept (`<cacheDir>/segments/<key>`); without it nothing is cached. */
  readonly cacheDir?: string;
}

export interface BuiltSegment {
  readonly name: string;
  readonly compression: SegmentCompression;
  readonly level: number;
  /** SHA-256 of the segment's inputs (see `segmentKey`). */
  readonly key: string;
  /** SHA-256 and length of the segment's bytes. */
  readonly sha256: string;
  readonly size: number;
  /** The bytes came from the cache: no content was read and nothing was compressed. */
  readonly cached: boolean;
  /** The bytes (kept in memory: segments are megabytes, and the initrd is assembled from them next). */
  readonly data?: Buffer;
  /** The cache file holding the same bytes, when built with a cache directory. */
  readonly path?: string;
}

interface CacheMeta {
  readonly format: number;
  readonly name: string;
  readonly compression: SegmentCompression;
  readonly level: number;
  readonly sha256: string;
  readonly size: number;
  readonly cpioSize: number;
  readonly records: number;
}

/**
 * The key of a segment: SHA-256 over a format version, the compression, its
 * level and compressor version, the mtime, and every archive record as the
 * writer will write it (name, type, mode, owner, inode, links, device, size,
 * content SHA-256 or symlink target). It reads no file content: the entries'
 * SHA-256 stand for it, and the writer checks them when it does read.
 */
export function segmentKey(spec: SegmentSpec, mtime: number): string {
  return keyOf(spec.compression, resolveLevel(spec.compression, spec.level), mtime, planCpio(spec.entries));
}

function keyOf(compression: SegmentCompression, level: number, mtime: number, records: readonly CpioRecord[]): string {
  const hash = createHash('sha256');
  hash.update(`bootforge initrd segment v${SEGMENT_FORMAT_VERSION}\n`);
  hash.update(`${compression} ${level} ${compressorId(compression)}\nmtime ${mtime}\n`);
  for (const r of records) {
    const row = [r.name, r.kind, r.mode, r.uid, r.gid, r.ino, r.nlink, r.rdevmajor, r.rdevminor, r.size];
    hash.update(`${JSON.stringify([...row, r.content?.sha256 ?? null, r.target ?? null])}\n`);
  }
  return hash.digest('hex');
}

/** Builds one segment, or takes it from the cache when its key is there and its bytes check out. */
export async function buildSegment(spec: SegmentSpec, options: SegmentBuildOptions): Promise<BuiltSegment> {
  const level = resolveLevel(spec.compression, spec.level);
  const records = planCpio(spec.entries);
  const key = keyOf(spec.compression, level, options.mtime, records);
  const base = { name: spec.name, compression: spec.compression, level, key };
  const dir = options.cacheDir === undefined ? undefined : join(options.cacheDir, 'segments');
  const path = dir === undefined ? undefined : join(dir, key);

  if (path !== undefined) {
    const hit = await readCached(path);
    if (hit !== undefined)
      return { ...base, sha256: hit.sha256, size: hit.data.length, cached: true, data: hit.data, path };
  }

  const cpio = await writeCpio(spec.entries, spec.contents, { mtime: options.mtime });
  const data = await compress(cpio, spec.compression, level);
  const sha256 = sha256Hex(data);
  if (path === undefined) return { ...base, sha256, size: data.length, cached: false, data };

  const meta: CacheMeta = {
    format: SEGMENT_FORMAT_VERSION,
    name: spec.name,
    compression: spec.compression,
    level,
    sha256,
    size: data.length,
    cpioSize: cpio.length,
    records: records.length,
  };
  // The data first, then the metadata that vouches for it: a reader that sees
  // the metadata sees the whole data (each file renamed into place).
  await atomicWrite(path, data);
  await atomicWrite(`${path}.json`, Buffer.from(`${JSON.stringify(meta, null, 2)}\n`));
  return { ...base, sha256, size: data.length, cached: false, data, path };
}

/** The bytes of a built segment, from memory or from its cache file. */
export async function segmentBytes(segment: BuiltSegment): Promise<Buffer> {
  if (segment.data !== undefined) return segment.data;
  if (segment.path === undefined)
    throw new BootforgeError('BF_INTERNAL', `segment ${segment.name} has neither data nor a path`);
  const data = await readFile(segment.path).catch((cause: unknown) => {
    throw ioError(`cannot read the cached segment ${segment.path}`, cause);
  });
  if (data.length !== segment.size || sha256Hex(data) !== segment.sha256)
    throw new BootforgeError('BF_IO', `the cached segment ${segment.path} changed after it was built`, {
      hint: 'another process is cleaning the cache; build again',
    });
  return data;
}

/** Zero bytes that follow a segment in the initrd: up to a multiple of 4. */
export function paddingAfter(size: number): number {
  return (4 - (size % 4)) % 4;
}

/** The initrd: the segments in order, each padded with zeros to a multiple of 4 bytes. */
export async function concatSegments(segments: readonly BuiltSegment[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const segment of segments) {
    const data = await segmentBytes(segment);
    parts.push(data, Buffer.alloc(paddingAfter(data.length)));
  }
  return Buffer.concat(parts);
}

/** Writes the initrd to a file atomically (temp + rename); returns its SHA-256 and size. */
export async function writeInitrd(
  segments: readonly BuiltSegment[],
  path: string,
): Promise<{ path: string; sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const temp = tempPath(path);
  try {
    const handle = await open(temp, 'wx');
    try {
      for (const segment of segments) {
        const data = await segmentBytes(segment);
        const pad = Buffer.alloc(paddingAfter(data.length));
        for (const part of [data, pad]) {
          hash.update(part);
          size += part.length;
          await handle.write(part);
        }
      }
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    if (cause instanceof BootforgeError) throw cause;
    throw ioError(`cannot write the initrd ${path}`, cause);
  }
  return { path, sha256: hash.digest('hex'), size };
}

async function readCached(path: string): Promise<{ sha256: string; data: Buffer } | undefined> {
  let meta: CacheMeta;
  let data: Buffer;
  try {
    meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as CacheMeta;
    data = await readFile(path);
  } catch {
    return undefined; // absent, or half there: build again
  }
  if (meta.format !== SEGMENT_FORMAT_VERSION || data.length !== meta.size || sha256Hex(data) !== meta.sha256)
    return undefined;
  return { sha256: meta.sha256, data };
}

async function atomicWrite(path: string, data: Buffer): Promise<void> {
  const temp = tempPath(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, path);
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw ioError(`cannot write ${path}`, cause);
  }
}

function tempPath(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function ioError(what: string, cause: unknown): BootforgeError {
  return new BootforgeError('BF_IO', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}
