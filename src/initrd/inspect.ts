/**
 * Reads an initrd back the way the kernel's init/initramfs.c unpacks it: a run
 * of segments, each a cpio newc archive, plain or compressed (gzip, zstd, xz),
 * with zero bytes allowed between them. A plain archive must start at a 4-byte
 * aligned offset (the kernel calls anything else "broken padding"), and a
 * compressed stream must end right after a cpio trailer ("junk in compressed
 * archive"). Used by `bootforge inspect` and by the tests of the writers.
 */
import { readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { Decoder } from '@toondepauw/node-zstd';
import { Decompress as ZstdStream } from 'fzstd';
import xzDecompress from 'xz-decompress';
import { BootforgeError } from '../errors/index.js';
import { displayFile, printable } from '../fsutil/display.js';
import { openInput } from '../fsutil/read-input.js';
import { formatSize } from '../schema/size.js';

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

/**
 * What one inspection unpacks at most: far above real initrds (tens, rarely hundreds of MiB and a few
 * ten thousand entries), far below what exhausts memory or time. A decompression bomb stops here.
 */
export const INITRD_LIMITS: InitrdLimits = { expandedBytes: 1024 * 1024 * 1024, entries: 1_000_000 };

export interface InitrdLimits {
  /** Bytes all compressed segments together may expand to. */
  readonly expandedBytes: number;
  readonly entries: number;
}

/** The kernel's bound on a name and a symbolic link's target (init/initramfs.c). */
const PATH_MAX = 4096;
/** Compressed input is fed to decompressors, and plain archives parsed, in windows of this size. */
const WINDOW = 1024 * 1024;

/** Random access to the initrd's bytes: an open file read in windows, or a buffer. */
interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end). */
  read(offset: number, length: number): Buffer;
}

/** Whether the first bytes start a segment the kernel would try (a cpio archive or a compression it knows). */
export function looksLikeInitrd(head: Buffer): boolean {
  return (
    startsWith(head, 0, NEWC_MAGIC) ||
    startsWith(head, 0, Buffer.from('0707', 'latin1')) ||
    (head[0] === 0x1f && head[1] === 0x8b) ||
    [ZSTD_MAGIC, XZ_MAGIC, ...OTHER_MAGIC.map(([, magic]) => magic)].some((magic) => startsWith(head, 0, magic))
  );
}

export async function inspectInitrdFile(path: string): Promise<InitrdInfo> {
  const input = openInput(path, { kind: 'initrd' });
  try {
    return await inspectSource(fileSource(input.fd, input.size ?? 0), `initrd ${displayFile(path)}`);
  } finally {
    input.close();
  }
}

export async function inspectInitrd(data: Buffer, limits: InitrdLimits = INITRD_LIMITS): Promise<InitrdInfo> {
  return inspectSource(
    { size: data.length, read: (offset, length) => data.subarray(offset, offset + length) },
    'the initrd',
    limits,
  );
}

async function inspectSource(
  src: ByteSource,
  label: string,
  limits: InitrdLimits = INITRD_LIMITS,
): Promise<InitrdInfo> {
  const budget = new Budget(label, limits);
  const segments: InitrdSegment[] = [];
  for (let pos = skipZeros(src, 0); pos < src.size;) {
    const segment = await readSegment(src, pos, budget);
    segments.push(segment);
    pos = skipZeros(src, pos + segment.compressedSize);
  }
  return { size: src.size, segments };
}

/** What the whole initrd may still expand to and how many entries it may still hold. */
class Budget {
  private expanded = 0;
  private entries = 0;
  constructor(
    private readonly label: string,
    private readonly limits: InitrdLimits,
  ) {}

  /** Refuses `bytes` more without counting them (a size announced before decompressing). */
  allow(bytes: number, what: string): void {
    if (this.expanded + bytes > this.limits.expandedBytes)
      throw new BootforgeError(
        'BF_EXPANDS_TOO_FAR',
        `${this.label}: ${what} expands past ${formatSize(this.limits.expandedBytes)}`,
      );
  }

  expand(bytes: number, what: string): void {
    this.allow(bytes, what);
    this.expanded += bytes;
  }

  entry(at: string): void {
    this.entries += 1;
    if (this.entries > this.limits.entries)
      throw formatError(`${at}: the initrd holds more than ${this.limits.entries} entries, more than bootforge reads`);
  }
}

async function readSegment(src: ByteSource, pos: number, budget: Budget): Promise<InitrdSegment> {
  const at = `offset ${pos}`;
  const head = src.read(pos, 8);
  if (startsWith(head, 0, NEWC_MAGIC) || head[0] === 0x30) {
    if (pos % 4 !== 0)
      throw formatError(
        `a plain cpio archive starts at ${at}, which is not 4-byte aligned (the kernel: "broken padding")`,
      );
    const reader = new ByteReader(windows(src, pos, src.size));
    const entries = await readArchive(reader, at, budget);
    return {
      offset: pos,
      compressedSize: reader.position,
      compression: 'none',
      uncompressedSize: reader.position,
      entries,
    };
  }
  const what = (compression: InitrdCompression): string => `the ${compression} segment at ${at}`;
  if (head[0] === 0x1f && head[1] === 0x8b) return gzipSegment(src, pos, budget, what('gzip'));
  if (startsWith(head, 0, ZSTD_MAGIC)) return zstdSegment(src, pos, budget, what('zstd'));
  if (startsWith(head, 0, XZ_MAGIC)) return xzSegment(src, pos, budget, what('xz'));
  const other = OTHER_MAGIC.find(([, magic]) => startsWith(head, 0, magic));
  if (other !== undefined)
    throw formatError(`a ${other[0]}-compressed segment at ${at}: bootforge reads gzip, zstd and xz segments only`);
  throw formatError(`junk at ${at} (bytes ${head.toString('hex')}): neither a cpio archive nor a known compression`);
}

/** The entries of a decompressed segment, counting its bytes against the budget as they come. */
async function readDecompressed(
  output: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  what: string,
  budget: Budget,
  onChunk: (chunk: Buffer) => void = () => {},
): Promise<{ entries: InitrdEntry[]; uncompressedSize: number }> {
  let uncompressedSize = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of output) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      uncompressedSize += buf.length;
      budget.expand(buf.length, what);
      onChunk(buf);
      yield buf;
    }
  }
  const entries = await readContent(new ByteReader(counted()), what, budget);
  return { entries, uncompressedSize };
}

/** One gzip member: its header, the deflate stream (zlib says how much it used), CRC-32 and length. */
async function gzipSegment(src: ByteSource, start: number, budget: Budget, what: string): Promise<InitrdSegment> {
  const p = gzipHeaderEnd(src, start);
  const inflate = createInflateRaw({ chunkSize: 256 * 1024 });
  Readable.from(windows(src, p, src.size)).pipe(inflate);
  let crc = 0;
  const content = await readDecompressed(inflate, what, budget, (chunk) => {
    crc = crc32(chunk, crc);
  }).catch((cause: unknown) => {
    if (cause instanceof BootforgeError) throw cause;
    throw formatError(`${what} cannot be inflated: ${(cause as Error).message}`, cause);
  });
  const trailer = src.read(p + inflate.bytesWritten, 8);
  if (trailer.length < 8) throw formatError(`${what} is truncated`);
  if (trailer.readUInt32LE(0) !== crc || trailer.readUInt32LE(4) !== content.uncompressedSize % 2 ** 32)
    throw formatError(`${what} fails its CRC-32 or length check: the data is corrupt`);
  return { offset: start, compressedSize: p + inflate.bytesWritten + 8 - start, compression: 'gzip', ...content };
}

/** Where a gzip member's deflate stream starts, after the optional extra field, name and comment. */
function gzipHeaderEnd(src: ByteSource, start: number): number {
  const at = `the gzip segment at offset ${start}`;
  // Names and comments are short; a header longer than this window is not one the kernel was given.
  const head = src.read(start, 64 * 1024);
  const need = (n: number): void => {
    if (n > head.length) throw formatError(`${at} is truncated`);
  };
  need(10);
  if (head[2] !== 8) throw formatError(`${at} uses compression method ${head[2]}, not deflate`);
  const flags = head[3] ?? 0;
  if ((flags & 0xe0) !== 0) throw formatError(`${at} has reserved header flags set`);
  let p = 10;
  if (flags & 0x04) {
    need(p + 2);
    p += 2 + head.readUInt16LE(p);
  }
  for (const flag of [0x08, 0x10]) {
    if (!(flags & flag)) continue;
    const nul = head.indexOf(0, p);
    if (nul < 0) throw formatError(`${at} is truncated`);
    p = nul + 1;
  }
  if (flags & 0x02) p += 2;
  need(p);
  return start + p;
}

/** Frames that may expand past this are decoded as a stream; smaller ones by the faster native decoder. */
const ZSTD_NATIVE_MAX = 64 * 1024 * 1024;

/**
 * zstd: the frame's blocks are walked first, so a frame that could expand past the budget is refused
 * before anything is decompressed. The native decoder decodes a frame in one piece (its output and
 * the input at once in memory): it takes only frames that may expand to 64 MiB at most; larger ones
 * go through fzstd's streaming decoder, 128 KiB blocks at a time, in bounded memory.
 */
async function zstdSegment(src: ByteSource, start: number, budget: Budget, what: string): Promise<InitrdSegment> {
  const frame = walkZstdFrame(src, start);
  const mayExpand = Math.max(frame.maxContentSize, frame.contentSize ?? 0);
  budget.allow(mayExpand, what);
  const fail = (cause: unknown): never => {
    if (cause instanceof BootforgeError) throw cause;
    throw formatError(`the zstd frame at offset ${start} cannot be decompressed: ${(cause as Error).message}`, cause);
  };
  let chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  if (mayExpand <= ZSTD_NATIVE_MAX) {
    const data = await new Decoder().decode(src.read(start, frame.size)).catch(fail);
    chunks = windows({ size: data.length, read: (o, l) => data.subarray(o, o + l) }, 0, data.length);
  } else {
    chunks = zstdStream(src, start, frame.size);
  }
  const content = await readDecompressed(chunks, what, budget).catch(fail);
  return { offset: start, compressedSize: frame.size, compression: 'zstd', ...content };
}

/** Decodes one zstd frame from small input pieces, so one push yields a bounded amount of output. */
function* zstdStream(src: ByteSource, start: number, size: number): Generator<Uint8Array> {
  const out: Uint8Array[] = [];
  const decoder = new ZstdStream((chunk) => out.push(chunk));
  // 1 KiB of RLE blocks (4 bytes each) expands to at most 32 MiB; real data to far less.
  const piece = 1024;
  for (let at = 0; at < size; at += piece) {
    const n = Math.min(piece, size - at);
    decoder.push(src.read(start + at, n), at + n >= size);
    while (out.length > 0) yield out.shift() as Uint8Array;
  }
}

async function xzSegment(src: ByteSource, start: number, budget: Budget, what: string): Promise<InitrdSegment> {
  const size = xzStreamSize(src, start);
  const input = Readable.toWeb(Readable.from(windows(src, start, start + size))) as ReadableStream<Uint8Array>;
  const output = Readable.fromWeb(new XzReadableStream(input) as never) as AsyncIterable<Uint8Array>;
  const content = await readDecompressed(output, what, budget).catch((cause: unknown) => {
    if (cause instanceof BootforgeError) throw cause;
    throw formatError(`the xz stream at offset ${start} cannot be decompressed: ${(cause as Error).message}`, cause);
  });
  return { offset: start, compressedSize: size, compression: 'xz', ...content };
}

/**
 * Walks one zstd frame (RFC 8878): header, blocks, optional checksum. The kernel
 * decodes exactly one frame per call, so this is also where a segment ends.
 */
export function zstdFrame(data: Buffer, start: number): ZstdFrame {
  return walkZstdFrame({ size: data.length, read: (offset, length) => data.subarray(offset, offset + length) }, start);
}

/** The most a block decompresses to (RFC 8878, Block_Maximum_Size). */
const ZSTD_BLOCK_MAX = 128 * 1024;

function walkZstdFrame(src: ByteSource, start: number): ZstdFrame & { readonly maxContentSize: number } {
  const at = `the zstd frame at offset ${start}`;
  const bytes = (offset: number, length: number): Buffer => {
    const b = src.read(offset, length);
    if (b.length < length) throw formatError(`${at} is truncated`);
    return b;
  };
  const head = bytes(start, 6);
  if (head.readUInt32LE(0) !== 0xfd2fb528) throw formatError(`${at} has no zstd magic number`);
  const fhd = head[4] ?? 0;
  if (fhd & 0x08) throw formatError(`${at} has the reserved header bit set`);
  const fcsFlag = fhd >> 6;
  const single = (fhd & 0x20) !== 0;
  const checksum = (fhd & 0x04) !== 0;
  let p = start + 5;
  let windowSize = 0;
  if (!single) {
    const wd = head[5] ?? 0;
    const base = 2 ** (10 + (wd >> 3));
    windowSize = base + (base / 8) * (wd & 7);
    p += 1;
  }
  const dictBytes = [0, 1, 2, 4][fhd & 3] ?? 0;
  const dictionaryId = dictBytes === 0 ? 0 : bytes(p, dictBytes).readUIntLE(0, dictBytes);
  p += dictBytes;
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : ([0, 2, 4, 8][fcsFlag] ?? 0);
  let contentSize: number | undefined;
  if (fcsBytes === 1) contentSize = bytes(p, 1)[0];
  else if (fcsBytes === 2) contentSize = bytes(p, 2).readUInt16LE(0) + 256;
  else if (fcsBytes === 4) contentSize = bytes(p, 4).readUInt32LE(0);
  else if (fcsBytes === 8) contentSize = Number(bytes(p, 8).readBigUInt64LE(0));
  p += fcsBytes;
  if (single) windowSize = contentSize ?? 0;
  if (dictionaryId !== 0)
    throw formatError(`${at} needs dictionary ${dictionaryId}; the kernel decompresses without dictionaries`);
  const blockMax = Math.min(windowSize, ZSTD_BLOCK_MAX);
  let maxContentSize = 0;
  for (;;) {
    const header = bytes(p, 3).readUIntLE(0, 3);
    p += 3;
    const type = (header >> 1) & 3;
    if (type === 3) throw formatError(`${at} has a block of the reserved type`);
    const size = header >>> 3;
    // Raw and RLE blocks expand to their size field; a compressed block to at most blockMax.
    maxContentSize += type === 2 ? blockMax : size;
    p += type === 1 ? 1 : size;
    if (header & 1) break;
  }
  if (checksum) p += 4;
  if (p > src.size) throw formatError(`${at} is truncated`);
  return { size: p - start, windowSize, contentSize, checksum, dictionaryId, maxContentSize };
}

/**
 * Where an xz stream ends: the first stream footer that checks out (its CRC-32,
 * its flags equal to the header's, and an index with a valid CRC-32 right
 * before it). xz streams are multiples of 4 bytes long.
 */
function xzStreamSize(src: ByteSource, start: number): number {
  const at = `the xz stream at offset ${start}`;
  if (start + 12 > src.size) throw formatError(`${at} is truncated`);
  const flags = src.read(start + 6, 2);
  for (let f = nextFooterMagic(src, start + 12); f + 12 <= src.size; f = nextFooterMagic(src, f + 4)) {
    const footer = src.read(f, 12);
    if (!footer.subarray(8, 10).equals(flags)) continue;
    if (crc32(footer.subarray(4, 10)) !== footer.readUInt32LE(0)) continue;
    const index = f - (footer.readUInt32LE(4) + 1) * 4;
    if (index < start + 12 || src.read(index, 1)[0] !== 0) continue;
    if (crcOf(src, index, f - 4) !== src.read(f - 4, 4).readUInt32LE(0)) continue;
    return f + 12 - start;
  }
  throw formatError(`${at} has no valid stream footer: it is truncated or corrupt`);
}

/** The next 4-byte aligned (from `from`) offset whose footer ends in "YZ", or the source's size. */
function nextFooterMagic(src: ByteSource, from: number): number {
  for (let base = from; base + 12 <= src.size; base += WINDOW) {
    const window = src.read(base, WINDOW + 12);
    for (
      let i = window.indexOf('YZ', 10, 'latin1');
      i >= 0 && i + 2 <= window.length;
      i = window.indexOf('YZ', i + 1, 'latin1')
    ) {
      const f = base + i - 10;
      if ((f - from) % 4 === 0 && f < base + WINDOW && f + 12 <= src.size) return f;
    }
  }
  return src.size;
}

function crcOf(src: ByteSource, from: number, to: number): number {
  let crc = 0;
  for (let p = from; p < to; p += WINDOW) crc = crc32(src.read(p, Math.min(WINDOW, to - p)), crc);
  return crc;
}

/** The content of a decompressed segment: cpio archives, zeros between them, ending right after a trailer. */
async function readContent(reader: ByteReader, what: string, budget: Budget): Promise<InitrdEntry[]> {
  const entries: InitrdEntry[] = [];
  let complete = false;
  while (await reader.skipZeros()) {
    const pos = reader.position;
    if (pos % 4 !== 0 || !(await reader.peek(NEWC_MAGIC.length)).equals(NEWC_MAGIC))
      throw formatError(`${what} holds junk at byte ${pos} of its content (the kernel: "junk in compressed archive")`);
    // One by one: a spread of a hostile number of entries overflows the call stack.
    for (const entry of await readArchive(reader, `${what}, byte ${pos} of its content`, budget)) entries.push(entry);
    complete = true;
  }
  if (!complete) throw formatError(`${what} holds no cpio archive`);
  return entries;
}

/** One newc archive from the reader's position through its trailer (and the trailer's padding, where present). */
async function readArchive(reader: ByteReader, where: string, budget: Budget): Promise<InitrdEntry[]> {
  const entries: InitrdEntry[] = [];
  const start = reader.position;
  const padding = async (): Promise<number> => reader.skip(align4(reader.position - start) - (reader.position - start));
  for (;;) {
    const at = `${where}: the cpio header at ${reader.position - start}`;
    const header = await reader.take(HEADER);
    if (header === undefined) throw formatError(`${at} is truncated (the archive has no trailer)`);
    const fields = headerFields(header, at);
    const { mode, size, namesize } = fields;
    const nameBytes = namesize > 0 && namesize <= PATH_MAX ? await reader.take(namesize) : undefined;
    if (nameBytes === undefined || nameBytes[namesize - 1] !== 0)
      throw formatError(
        `${at} has a name that is empty, longer than ${PATH_MAX} bytes, truncated or not NUL-terminated`,
      );
    const name = nameBytes.toString('utf8', 0, namesize - 1);
    const truncated = (): BootforgeError => formatError(`${at} ("${printable(name)}") is truncated`);
    const isLink = (mode & S_IFMT) === S_IFLNK;
    if (isLink && size > PATH_MAX)
      throw formatError(`${at} ("${printable(name)}") is a symbolic link longer than ${PATH_MAX} bytes`);
    const namePad = align4(reader.position - start) - (reader.position - start);
    if ((await reader.skip(namePad)) < namePad) throw truncated();
    const target = isLink ? await reader.take(size) : undefined;
    if (isLink ? target === undefined : (await reader.skip(size)) < size) throw truncated();
    await padding();
    if (name === 'TRAILER!!!') return entries;
    budget.entry(at);
    entries.push({ name, ...fields.entry, ...(target !== undefined ? { linkTarget: target.toString('utf8') } : {}) });
  }
}

function headerFields(header: Buffer, at: string) {
  const magic = header.toString('latin1', 0, 6);
  if (magic === '070707') throw formatError(`${at} is odc (070707); the kernel reads only newc (070701)`);
  if (magic === '070702') throw formatError(`${at} is newc with CRC (070702); the kernel reads only 070701`);
  if (magic !== '070701') throw formatError(`${at} has no newc magic (found ${JSON.stringify(magic)})`);
  const field = (i: number): number => {
    const text = header.toString('latin1', 6 + 8 * i, 14 + 8 * i);
    if (!/^[0-9A-Fa-f]{8}$/.test(text)) throw formatError(`${at} has a field that is not 8 hex digits`);
    return parseInt(text, 16);
  };
  const [ino, mode, uid, gid, nlink, mtime, size, , , rdevmajor, rdevminor, namesize] = Array.from(
    { length: 12 },
    (_, i) => field(i),
  ) as [number, number, number, number, number, number, number, number, number, number, number, number];
  return {
    mode,
    size,
    namesize,
    entry: { mode, uid, gid, size, mtime, nlink, ino, rdevmajor, rdevminor },
  };
}

/** Pulls bytes from a stream of chunks, holding only the chunk at hand (plus what a peek joins). */
class ByteReader {
  /** Bytes consumed so far. */
  position = 0;
  private chunk: Buffer = Buffer.alloc(0);
  private at = 0;
  private readonly source: AsyncIterator<Buffer>;

  constructor(chunks: AsyncIterable<Buffer>) {
    this.source = chunks[Symbol.asyncIterator]();
  }

  /** The next `n` bytes without consuming them (fewer at the end). */
  async peek(n: number): Promise<Buffer> {
    while (this.chunk.length - this.at < n) {
      const next = await this.source.next();
      if (next.done === true) break;
      this.chunk =
        this.at === this.chunk.length ? next.value : Buffer.concat([this.chunk.subarray(this.at), next.value]);
      this.at = 0;
    }
    return this.chunk.subarray(this.at, this.at + n);
  }

  /** The next `n` bytes, or undefined when the stream ends first. */
  async take(n: number): Promise<Buffer | undefined> {
    const bytes = await this.peek(n);
    if (bytes.length < n) return undefined;
    this.consume(n);
    return bytes;
  }

  /** Skips up to `n` bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n && (await this.peek(1)).length > 0) {
      const k = Math.min(n - skipped, this.chunk.length - this.at);
      this.consume(k);
      skipped += k;
    }
    return skipped;
  }

  /** Skips zero bytes; false when the stream ends. */
  async skipZeros(): Promise<boolean> {
    while ((await this.peek(1)).length > 0) {
      const i = firstNonZero(this.chunk, this.at);
      this.consume(i - this.at);
      if (i < this.chunk.length) return true;
    }
    return false;
  }

  private consume(n: number): void {
    this.at += n;
    this.position += n;
  }
}

/** The source from `start` to `end` in windows. */
// eslint-disable-next-line @typescript-eslint/require-await -- async to feed the readers of decompressed chunks
async function* windows(src: ByteSource, start: number, end: number): AsyncGenerator<Buffer> {
  for (let p = start; p < end; p += WINDOW) {
    const window = src.read(p, Math.min(WINDOW, end - p));
    if (window.length === 0) return;
    yield window;
  }
}

/** The first non-zero byte at or after `pos` (the kernel skips zeros between segments). */
function skipZeros(src: ByteSource, pos: number): number {
  for (let p = pos; p < src.size; p += WINDOW) {
    const window = src.read(p, WINDOW);
    const i = firstNonZero(window, 0);
    if (i < window.length) return p + i;
  }
  return src.size;
}

const ZEROS = Buffer.alloc(4096);

/** The index of the first non-zero byte of `buf` at or after `from`, or its length; zero runs are compared a page at a time. */
function firstNonZero(buf: Buffer, from: number): number {
  let i = from;
  while (i + ZEROS.length <= buf.length && buf.subarray(i, i + ZEROS.length).equals(ZEROS)) i += ZEROS.length;
  while (i < buf.length && buf[i] === 0) i += 1;
  return i;
}

/** An open file, read in windows; small reads (headers, block walks) come from one cached window. */
function fileSource(fd: number, size: number): ByteSource {
  let cached: { start: number; data: Buffer } = { start: 0, data: Buffer.alloc(0) };
  const readAt = (offset: number, length: number): Buffer => {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  };
  return {
    size,
    read: (offset, length) => {
      if (length > 64 * 1024) return readAt(offset, length);
      const end = Math.min(offset + length, size);
      if (offset < cached.start || end > cached.start + cached.data.length)
        cached = { start: offset, data: readAt(offset, 64 * 1024) };
      return cached.data.subarray(offset - cached.start, end - cached.start);
    },
  };
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
