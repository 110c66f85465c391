/**
 * Reads an initrd back the way the kernel's init/initramfs.c unpacks it: a run
 * of segments, each a cpio newc archive, plain or compressed (gzip, zstd, xz),
 * with zero bytes allowed between them. A plain archive must start at a 4-byte
 * aligned offset (the kernel calls anything else "broken padding"), and a
 * compressed stream must end right after a cpio trailer ("junk in compressed
 * archive"). Used by `bootforge inspect` and by the tests of the writers.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import { Decoder } from '@toondepauw/node-zstd';
import xzDecompress from 'xz-decompress';
import { BootforgeError } from '../errors/index.js';

const { XzReadableStream } = xzDecompress;

export type InitrdCompression = 'none' | 'gzip' | 'zstd' | 'xz';

export interface InitrdEntry {
  readonly name: string;
  /** File-type bits plus permission bits, as in the header. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly nlink: number;
  readonly ino: number;
  readonly rdevmajor: number;
  readonly rdevminor: number;
  readonly linkTarget?: string;
}

export interface InitrdSegment {
  /** Where the segment starts in the initrd. */
  readonly offset: number;
  /** Its length in the initrd: the compressed stream, or a plain archive up to the end of its trailer. */
  readonly compressedSize: number;
  readonly compression: InitrdCompression;
  /** Bytes of cpio after decompression (for a plain archive, equal to compressedSize). */
  readonly uncompressedSize: number;
  readonly entries: readonly InitrdEntry[];
}

export interface InitrdInfo {
  readonly size: number;
  readonly segments: readonly InitrdSegment[];
}

/** What a zstd frame header says, and where the frame ends. */
export interface ZstdFrame {
  /** Bytes from the magic number to the end of the frame (checksum included). */
  readonly size: number;
  readonly windowSize: number;
  readonly contentSize: number | undefined;
  readonly checksum: boolean;
  readonly dictionaryId: number;
}

const NEWC_MAGIC = Buffer.from('070701', 'latin1');
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const HEADER = 110;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Compressions the kernel knows but this reader does not decompress: named in the error. */
const OTHER_MAGIC: readonly (readonly [string, Buffer])[] = [
  ['bzip2', Buffer.from('BZh', 'latin1')],
  ['lzma', Buffer.from([0x5d, 0x00, 0x00])],
  ['lzo', Buffer.from([0x89, 0x4c, 0x5a])],
  ['lz4', Buffer.from([0x02, 0x21, 0x4c, 0x18])],
];

export async function inspectInitrdFile(path: string): Promise<InitrdInfo> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (cause) {
    throw new BootforgeError('BF_IO', `cannot read the initrd ${path}: ${(cause as Error).message}`, { cause });
  }
  return inspectInitrd(data);
}

export async function inspectInitrd(data: Buffer): Promise<InitrdInfo> {
  const segments: InitrdSegment[] = [];
  let pos = 0;
  while (pos < data.length) {
    const byte = data[pos];
    if (byte === 0) {
      pos += 1;
      continue;
    }
    const at = `offset ${pos}`;
    if (startsWith(data, pos, NEWC_MAGIC) || byte === 0x30) {
      if (pos % 4 !== 0)
        throw formatError(
          `a plain cpio archive starts at ${at}, which is not 4-byte aligned (the kernel: "broken padding")`,
        );
      const archive = parseArchive(data, pos, at);
      segments.push({
        offset: pos,
        compressedSize: archive.end - pos,
        compression: 'none',
        uncompressedSize: archive.end - pos,
        entries: archive.entries,
      });
      pos = archive.end;
      continue;
    }
    const { compression, size, output } = await decompressAt(data, pos);
    const entries = parseStream(output, `the ${compression} segment at ${at}`);
    segments.push({ offset: pos, compressedSize: size, compression, uncompressedSize: output.length, entries });
    pos += size;
  }
  return { size: data.length, segments };
}

async function decompressAt(
  data: Buffer,
  pos: number,
): Promise<{ compression: InitrdCompression; size: number; output: Buffer }> {
  const at = `offset ${pos}`;
  if (data[pos] === 0x1f && data[pos + 1] === 0x8b) return { compression: 'gzip', ...gunzipMember(data, pos) };
  if (startsWith(data, pos, ZSTD_MAGIC)) {
    const frame = zstdFrame(data, pos);
    const output = await guard(`the zstd frame at ${at}`, () =>
      new Decoder().decode(data.subarray(pos, pos + frame.size)),
    );
    return { compression: 'zstd', size: frame.size, output };
  }
  if (startsWith(data, pos, XZ_MAGIC)) {
    const size = xzStreamSize(data, pos);
    const output = await guard(`the xz stream at ${at}`, () => unxz(data.subarray(pos, pos + size)));
    return { compression: 'xz', size, output };
  }
  const other = OTHER_MAGIC.find(([, magic]) => startsWith(data, pos, magic));
  if (other !== undefined)
    throw formatError(`a ${other[0]}-compressed segment at ${at}: bootforge reads gzip, zstd and xz segments only`);
  throw formatError(
    `junk at ${at} (bytes ${data.subarray(pos, pos + 8).toString('hex')}): neither a cpio archive nor a known compression`,
  );
}

/** One gzip member: its header, the deflate stream (zlib says how much it used), CRC-32 and length. */
function gunzipMember(data: Buffer, start: number): { size: number; output: Buffer } {
  const at = `the gzip segment at offset ${start}`;
  const need = (n: number): void => {
    if (n > data.length) throw formatError(`${at} is truncated`);
  };
  need(start + 10);
  if (data[start + 2] !== 8) throw formatError(`${at} uses compression method ${data[start + 2]}, not deflate`);
  const flags = data[start + 3] ?? 0;
  if ((flags & 0xe0) !== 0) throw formatError(`${at} has reserved header flags set`);
  let p = start + 10;
  if (flags & 0x04) {
    need(p + 2);
    p += 2 + data.readUInt16LE(p);
  }
  for (const flag of [0x08, 0x10]) {
    if (!(flags & flag)) continue;
    const nul = data.indexOf(0, p);
    if (nul < 0) throw formatError(`${at} is truncated`);
    p = nul + 1;
  }
  if (flags & 0x02) p += 2;
  need(p);
  let output: Buffer;
  let used: number;
  try {
    const result = inflateRawSync(data.subarray(p), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    output = result.buffer;
    used = result.engine.bytesWritten;
  } catch (cause) {
    throw formatError(`${at} cannot be inflated: ${(cause as Error).message}`, cause);
  }
  const trailer = p + used;
  need(trailer + 8);
  if (data.readUInt32LE(trailer) !== crc32(output) || data.readUInt32LE(trailer + 4) !== output.length % 2 ** 32)
    throw formatError(`${at} fails its CRC-32 or length check: the data is corrupt`);
  return { size: trailer + 8 - start, output };
}

/**
 * Walks one zstd frame (RFC 8878): header, blocks, optional checksum. The kernel
 * decodes exactly one frame per call, so this is also where a segment ends.
 */
export function zstdFrame(data: Buffer, start: number): ZstdFrame {
  const at = `the zstd frame at offset ${start}`;
  const need = (n: number): void => {
    if (n > data.length) throw formatError(`${at} is truncated`);
  };
  need(start + 6);
  if (data.readUInt32LE(start) !== 0xfd2fb528) throw formatError(`${at} has no zstd magic number`);
  const fhd = data[start + 4] ?? 0;
  if (fhd & 0x08) throw formatError(`${at} has the reserved header bit set`);
  const fcsFlag = fhd >> 6;
  const single = (fhd & 0x20) !== 0;
  const checksum = (fhd & 0x04) !== 0;
  let p = start + 5;
  let windowSize = 0;
  if (!single) {
    const wd = data[p] ?? 0;
    const base = 2 ** (10 + (wd >> 3));
    windowSize = base + (base / 8) * (wd & 7);
    p += 1;
  }
  const dictBytes = [0, 1, 2, 4][fhd & 3] ?? 0;
  need(p + dictBytes);
  const dictionaryId = dictBytes === 0 ? 0 : data.readUIntLE(p, dictBytes);
  p += dictBytes;
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : ([0, 2, 4, 8][fcsFlag] ?? 0);
  need(p + fcsBytes);
  let contentSize: number | undefined;
  if (fcsBytes === 1) contentSize = data[p];
  else if (fcsBytes === 2) contentSize = data.readUInt16LE(p) + 256;
  else if (fcsBytes === 4) contentSize = data.readUInt32LE(p);
  else if (fcsBytes === 8) contentSize = Number(data.readBigUInt64LE(p));
  p += fcsBytes;
  if (single) windowSize = contentSize ?? 0;
  if (dictionaryId !== 0)
    throw formatError(`${at} needs dictionary ${dictionaryId}; the kernel decompresses without dictionaries`);
  for (;;) {
    need(p + 3);
    const header = data.readUIntLE(p, 3);
    p += 3;
    const type = (header >> 1) & 3;
    if (type === 3) throw formatError(`${at} has a block of the reserved type`);
    p += type === 1 ? 1 : header >>> 3;
    if (header & 1) break;
  }
  if (checksum) p += 4;
  need(p);
  return { size: p - start, windowSize, contentSize, checksum, dictionaryId };
}

/**
 * Where an xz stream ends: the first stream footer that checks out (its CRC-32,
 * its flags equal to the header's, and an index with a valid CRC-32 right
 * before it). xz streams are multiples of 4 bytes long.
 */
function xzStreamSize(data: Buffer, start: number): number {
  const at = `the xz stream at offset ${start}`;
  if (start + 12 > data.length) throw formatError(`${at} is truncated`);
  const flags = data.subarray(start + 6, start + 8);
  for (let f = start + 12; f + 12 <= data.length; f += 4) {
    if (data[f + 10] !== 0x59 || data[f + 11] !== 0x5a) continue;
    if (!data.subarray(f + 8, f + 10).equals(flags)) continue;
    if (crc32(data.subarray(f + 4, f + 10)) !== data.readUInt32LE(f)) continue;
    const indexSize = (data.readUInt32LE(f + 4) + 1) * 4;
    const index = f - indexSize;
    if (index < start + 12 || data[index] !== 0) continue;
    if (crc32(data.subarray(index, f - 4)) !== data.readUInt32LE(f - 4)) continue;
    return f + 12 - start;
  }
  throw formatError(`${at} has no valid stream footer: it is truncated or corrupt`);
}

async function unxz(stream: Buffer): Promise<Buffer> {
  const input = Readable.toWeb(Readable.from([stream])) as ReadableStream<Uint8Array>;
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.fromWeb(new XzReadableStream(input) as never))
    chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** The decompressed content of a segment: cpio archives, zeros between them, ending right after a trailer. */
function parseStream(data: Buffer, what: string): InitrdEntry[] {
  const entries: InitrdEntry[] = [];
  let pos = 0;
  let complete = false;
  while (pos < data.length) {
    if (data[pos] === 0) {
      pos += 1;
      continue;
    }
    if (pos % 4 !== 0 || !startsWith(data, pos, NEWC_MAGIC))
      throw formatError(`${what} holds junk at byte ${pos} of its content (the kernel: "junk in compressed archive")`);
    const archive = parseArchive(data, pos, `${what}, byte ${pos} of its content`);
    entries.push(...archive.entries);
    pos = archive.end;
    complete = true;
  }
  if (!complete) throw formatError(`${what} holds no cpio archive`);
  return entries;
}

/** One newc archive from `start` through its trailer. */
function parseArchive(data: Buffer, start: number, where: string): { entries: InitrdEntry[]; end: number } {
  const entries: InitrdEntry[] = [];
  let pos = start;
  for (;;) {
    const at = `${where}: the cpio header at ${pos - start}`;
    if (pos + HEADER > data.length) throw formatError(`${at} is truncated (the archive has no trailer)`);
    const magic = data.toString('latin1', pos, pos + 6);
    if (magic === '070707') throw formatError(`${at} is odc (070707); the kernel reads only newc (070701)`);
    if (magic === '070702') throw formatError(`${at} is newc with CRC (070702); the kernel reads only 070701`);
    if (magic !== '070701') throw formatError(`${at} has no newc magic (found ${JSON.stringify(magic)})`);
    const field = (i: number): number => {
      const text = data.toString('latin1', pos + 6 + 8 * i, pos + 14 + 8 * i);
      if (!/^[0-9A-Fa-f]{8}$/.test(text)) throw formatError(`${at} has a field that is not 8 hex digits`);
      return parseInt(text, 16);
    };
    const [ino, mode, uid, gid, nlink, mtime, size, , , rdevmajor, rdevminor, namesize] = Array.from(
      { length: 12 },
      (_, i) => field(i),
    ) as [number, number, number, number, number, number, number, number, number, number, number, number];
    const nameEnd = pos + HEADER + namesize;
    if (namesize === 0 || nameEnd > data.length || data[nameEnd - 1] !== 0)
      throw formatError(`${at} has a name that is empty, truncated or not NUL-terminated`);
    const name = data.toString('utf8', pos + HEADER, nameEnd - 1);
    const dataStart = align4(nameEnd - start) + start;
    const dataEnd = dataStart + size;
    if (dataEnd > data.length) throw formatError(`${at} (${JSON.stringify(name)}) is truncated`);
    pos = align4(dataEnd - start) + start;
    if (name === 'TRAILER!!!') return { entries, end: Math.min(pos, data.length) };
    entries.push({
      name,
      mode,
      uid,
      gid,
      size,
      mtime,
      nlink,
      ino,
      rdevmajor,
      rdevminor,
      ...((mode & S_IFMT) === S_IFLNK ? { linkTarget: data.toString('utf8', dataStart, dataEnd) } : {}),
    });
  }
}

async function guard(what: string, run: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await run();
  } catch (cause) {
    throw formatError(`${what} cannot be decompressed: ${(cause as Error).message}`, cause);
  }
}

function startsWith(data: Buffer, pos: number, magic: Buffer): boolean {
  return pos + magic.length <= data.length && data.subarray(pos, pos + magic.length).equals(magic);
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function formatError(message: string, cause?: unknown): BootforgeError {
  return new BootforgeError('BF_INITRD_FORMAT', message, cause === undefined ? {} : { cause });
}
