/**
 * cpio "newc" archives as the kernel's initramfs unpacker reads them, written
 * with cpio-stream (the project's cpio library) behind a wrapper that leaves a
 * caller no way into its traps:
 *
 * - it packs odc unless told `format: 'newc'`; the kernel ignores odc;
 * - a regular file needs `type: 'file'` or the S_IFREG bits, else the kernel
 *   creates nothing; we always pass both the full mode and the type;
 * - falsy header fields are replaced by defaults: mtime 0 becomes "now", mode 0
 *   becomes 0644, dev 0 becomes 0777777; we pass mtime as a Date (never falsy),
 *   modes with their S_IFMT bits (never 0) and an explicit dev;
 * - numbers too large for 8 hex digits are clamped silently (a 5 GiB file would
 *   get a 4 GiB size field); we refuse them before packing;
 * - the name size is counted in UTF-16 code units while the name is written as
 *   UTF-8 (a non-ASCII name gets a wrong size and is cut short); we hand it an
 *   ASCII stand-in of the same byte length and put the real bytes back in its
 *   output (see `OutputFixer`);
 * - the trailer is padded to 512 bytes only when the whole archive is shorter
 *   than 512 bytes; past that, it appends a zero fill of some unrelated length
 *   (often not a multiple of 4). We cut its output after the trailer and pad
 *   it ourselves to a multiple of 512 (hence of 4).
 *
 * What the archive holds: every parent directory before its children, entries
 * sorted by path bytes, inode numbers 1, 2, ... in that order, one mtime for all
 * (SOURCE_DATE_EPOCH), hard links sharing an inode with the data on the last
 * name (as newc and the kernel expect), symlink targets as data, devices with
 * their rdev. Names are relative ("usr/bin/busybox"), "." for the root.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { BootforgeError } from '../errors/index.js';
import { printable } from '../fsutil/display.js';
import type { BlobStore, FileEntry, TreeEntry } from '../fstree/types.js';

/** The archive length is padded to a multiple of this (cpio's block size; a multiple of the kernel's 4). */
export const CPIO_BLOCK = 512;

/** Linux's PATH_MAX: the kernel skips entries whose name (NUL included) or symlink target is longer. */
export const PATH_MAX = 4096;

const NEWC_HEADER = 110;
const TRAILER_NAME = 'TRAILER!!!';
const U32_MAX = 0xffff_ffff;
/** Linux's dev_t keeps 12 bits of major and 20 bits of minor (new_encode_dev). */
const MAJOR_MAX = 0xfff;
const MINOR_MAX = 0xf_ffff;

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFDIR = 0o040000;
const S_IFBLK = 0o060000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/**
 * Where file data comes from: a blob store (by the entry's sha256), a map from
 * absolute path to data (files bootforge generates), or a function. Whatever it
 * returns must match the entry's size and sha256: the writer checks.
 */
export type ContentSource = BlobStore | ReadonlyMap<string, Buffer> | ((entry: FileEntry) => Buffer | Promise<Buffer>);

export interface CpioOptions {
  /** SOURCE_DATE_EPOCH: the mtime of every entry, whatever the tree says. */
  readonly mtime: number;
}

export type CpioKind = 'dir' | 'file' | 'symlink' | 'chardev' | 'blockdev' | 'fifo';

/** One archive member as it will be written: the tree entry after every rule above. */
export interface CpioRecord {
  /** The name in the archive: "." for the root, else the path without its leading "/". */
  readonly name: string;
  readonly kind: CpioKind;
  /** File-type bits plus permission bits (setuid, setgid and sticky kept). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly ino: number;
  readonly nlink: number;
  readonly rdevmajor: number;
  readonly rdevminor: number;
  /** Bytes of data: file content, symlink target, or 0 (directories, devices, hard links but the last). */
  readonly size: number;
  /** The file whose content this record carries (absent for a hard link that is not the last name). */
  readonly content?: FileEntry;
  readonly target?: string;
  /** A parent directory the input did not list: made 0755 root:root. */
  readonly implicit: boolean;
}

interface CpioStreamPack extends Readable {
  entry(header: PackHeader, data?: Buffer): unknown;
  finalize(): void;
}
interface PackHeader {
  name: string;
  type: string;
  mode: number;
  ino: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: Date;
  dev: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
}
// cpio-stream ships no types; this is the slice of its API the wrapper uses.
const cpioStreamLib = createRequire(import.meta.url)('cpio-stream') as {
  pack(options: { format: 'newc' }): CpioStreamPack;
};

const PACK_TYPE: Record<CpioKind, string> = {
  dir: 'directory',
  file: 'file',
  symlink: 'symlink',
  chardev: 'character-device',
  blockdev: 'block-device',
  fifo: 'fifo',
};
const TYPE_BITS: Record<CpioKind, number> = {
  dir: S_IFDIR,
  file: S_IFREG,
  symlink: S_IFLNK,
  chardev: S_IFCHR,
  blockdev: S_IFBLK,
  fifo: S_IFIFO,
};

/**
 * A file entry for data bootforge generates (an /init script, a config file):
 * size and sha256 computed from the data. Pair it with a Map from path to data
 * as the content source.
 */
export function generatedFile(
  path: string,
  data: Buffer,
  meta: { mode?: number; uid?: number; gid?: number } = {},
): FileEntry {
  return {
    type: 'file',
    path,
    mode: meta.mode ?? 0o644,
    uid: meta.uid ?? 0,
    gid: meta.gid ?? 0,
    mtime: 0,
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
}

/**
 * Turns tree entries into the records of an archive: checks every entry
 * against the limits of newc and of the kernel (BF_CPIO_ENTRY), adds missing
 * parent directories, sorts, numbers inodes, groups hard links. No content is
 * read. The order of `entries` does not matter.
 */
export function planCpio(entries: readonly TreeEntry[]): CpioRecord[] {
  const byPath = new Map<string, TreeEntry>();
  for (const entry of entries) {
    checkPath(entry.path, entry.path);
    if (byPath.has(entry.path)) throw entryError(entry.path, 'appears twice in the entry list');
    byPath.set(entry.path, entry);
  }

  const root = byPath.get('/');
  if (root !== undefined && root.type !== 'dir')
    throw entryError('/', `is a ${root.type}; the root must be a directory`);

  // Parents: every ancestor must be a directory; missing ones are made.
  const implicit = new Map<string, TreeEntry>();
  for (const path of byPath.keys()) {
    if (path === '/') continue;
    for (const parent of ancestors(path)) {
      const existing = byPath.get(parent) ?? implicit.get(parent);
      if (existing === undefined) {
        implicit.set(parent, { type: 'dir', path: parent, mode: 0o755, uid: 0, gid: 0, mtime: 0 });
      } else if (existing.type !== 'dir') {
        throw entryError(
          path,
          `has the parent ${parent}, which is a ${existing.type}; the kernel would follow or trip over it, so every parent must be a directory`,
        );
      }
    }
  }
  if (!byPath.has('/') && !implicit.has('/'))
    implicit.set('/', { type: 'dir', path: '/', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  const all = new Map([...byPath, ...implicit]);

  // Hard links: each group is a file and the names linking to it.
  const groupOf = new Map<string, FileEntry>();
  const groupSize = new Map<string, number>();
  for (const entry of all.values()) {
    if (entry.type === 'hardlink') {
      const file = linkedFile(entry.path, entry.target, all);
      groupOf.set(entry.path, file);
      groupSize.set(file.path, (groupSize.get(file.path) ?? 1) + 1);
    }
  }

  const sorted = [...all.values()]
    .map((e) => ({ key: Buffer.from(e.path === '/' ? '' : e.path.slice(1), 'utf8'), e }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ e }) => e);

  const childDirs = new Map<string, number>();
  for (const e of sorted) {
    if (e.type !== 'dir' || e.path === '/') continue;
    const parent = parentOf(e.path);
    childDirs.set(parent, (childDirs.get(parent) ?? 0) + 1);
  }
  // The last name of each hard-link group (in archive order) carries the data.
  const lastName = new Map<string, string>();
  for (const e of sorted) {
    const file = e.type === 'hardlink' ? groupOf.get(e.path) : e.type === 'file' ? e : undefined;
    if (file !== undefined && groupSize.has(file.path)) lastName.set(file.path, e.path);
  }

  const inodes = new Map<string, number>();
  let nextIno = 1;
  const records: CpioRecord[] = [];
  for (const e of sorted) {
    const name = e.path === '/' ? '.' : e.path.slice(1);
    const base = { name, implicit: implicit.has(e.path), rdevmajor: 0, rdevminor: 0 };
    if (e.type === 'file' || e.type === 'hardlink') {
      const file = e.type === 'file' ? e : groupOf.get(e.path);
      if (file === undefined) throw new BootforgeError('BF_INTERNAL', `hard link ${e.path} lost its group`);
      checkFile(file);
      let ino = inodes.get(file.path);
      if (ino === undefined) {
        ino = nextIno++;
        inodes.set(file.path, ino);
      }
      const nlink = groupSize.get(file.path) ?? 1;
      const carries = nlink === 1 || lastName.get(file.path) === e.path;
      records.push({
        ...base,
        kind: 'file',
        mode: S_IFREG | file.mode,
        uid: file.uid,
        gid: file.gid,
        ino,
        nlink,
        size: carries ? file.size : 0,
        ...(carries ? { content: file } : {}),
      });
      continue;
    }
    checkOwner(e);
    const common = { ...base, mode: TYPE_BITS[e.type] | e.mode, uid: e.uid, gid: e.gid, ino: nextIno++ };
    switch (e.type) {
      case 'dir':
        records.push({ ...common, kind: 'dir', nlink: 2 + (childDirs.get(e.path) ?? 0), size: 0 });
        break;
      case 'symlink': {
        const bytes = Buffer.byteLength(e.target, 'utf8');
        if (e.target === '' || e.target.includes('\0') || !isWellFormed(e.target))
          throw entryError(
            e.path,
            `has the symlink target ${JSON.stringify(e.target)}, which is empty or not a valid name`,
          );
        if (bytes >= PATH_MAX)
          throw entryError(e.path, `has a ${bytes}-byte symlink target; Linux allows at most ${PATH_MAX - 1}`);
        records.push({ ...common, kind: 'symlink', nlink: 1, size: bytes, target: e.target });
        break;
      }
      case 'chardev':
      case 'blockdev':
        if (!inRange(e.major, MAJOR_MAX) || !inRange(e.minor, MINOR_MAX))
          throw entryError(
            e.path,
            `is device ${e.major}:${e.minor}; Linux device numbers have majors up to ${MAJOR_MAX} and minors up to ${MINOR_MAX}`,
          );
        records.push({ ...common, kind: e.type, nlink: 1, size: 0, rdevmajor: e.major, rdevminor: e.minor });
        break;
      case 'fifo':
        records.push({ ...common, kind: 'fifo', nlink: 1, size: 0 });
        break;
    }
  }
  return records;
}

/**
 * The archive as a sequence of chunks: read as they are produced, one file's
 * content at a time (a blob is read once, when its record is written).
 */
export async function* cpioChunks(
  entries: readonly TreeEntry[],
  contents: ContentSource,
  options: CpioOptions,
): AsyncGenerator<Buffer> {
  checkMtime(options.mtime);
  const records = planCpio(entries);
  const mtime = new Date(options.mtime * 1000);
  const read = contentReader(contents);

  // The layout is fixed by the records: where each header starts, hence where
  // the names to patch and the trailer lie in cpio-stream's output.
  const patches: Patch[] = [];
  let offset = 0;
  const names: string[] = [];
  for (const r of records) {
    const bytes = Buffer.from(r.name, 'utf8');
    const standIn = asciiStandIn(bytes);
    names.push(standIn);
    if (standIn !== r.name)
      patches.push({ offset: offset + NEWC_HEADER, bytes, expect: Buffer.from(standIn, 'latin1') });
    offset += align4(NEWC_HEADER + bytes.length + 1) + align4(r.size);
  }
  const trailerAt = offset;
  const archiveEnd = trailerAt + align4(NEWC_HEADER + TRAILER_NAME.length + 1);
  const fixer = new OutputFixer(patches, archiveEnd);

  const pack = cpioStreamLib.pack({ format: 'newc' });
  for (const [i, r] of records.entries()) {
    const header: PackHeader = {
      name: names[i] ?? r.name,
      type: PACK_TYPE[r.kind],
      mode: r.mode,
      ino: r.ino,
      uid: r.uid,
      gid: r.gid,
      nlink: r.nlink,
      mtime,
      // Not 0: cpio-stream turns a falsy dev into 0777777.
      dev: 1,
      devmajor: 0,
      devminor: 1,
      rdevmajor: r.rdevmajor,
      rdevminor: r.rdevminor,
    };
    let data: Buffer | undefined;
    if (r.kind === 'symlink') data = Buffer.from(r.target ?? '', 'utf8');
    else if (r.kind === 'file') data = r.content === undefined ? Buffer.alloc(0) : await read(r.content);
    pack.entry(header, data);
    yield* fixer.take(drain(pack));
  }
  if (fixer.position !== trailerAt)
    throw new BootforgeError(
      'BF_INTERNAL',
      `cpio-stream wrote ${fixer.position} bytes before the trailer where ${trailerAt} were expected`,
    );
  pack.finalize();
  yield* fixer.take(drain(pack));
  yield fixer.finish();
}

/** The archive as a readable byte stream. */
export function cpioStream(entries: readonly TreeEntry[], contents: ContentSource, options: CpioOptions): Readable {
  return Readable.from(cpioChunks(entries, contents, options), { objectMode: false });
}

/** The whole archive in memory. */
export async function writeCpio(
  entries: readonly TreeEntry[],
  contents: ContentSource,
  options: CpioOptions,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of cpioChunks(entries, contents, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface Patch {
  readonly offset: number;
  readonly bytes: Buffer;
  /** What cpio-stream must have written there (the stand-in): anything else means the layout is off. */
  readonly expect: Buffer;
}

/**
 * Post-processes cpio-stream's output as it flows: writes the real UTF-8 bytes
 * of non-ASCII names over their ASCII stand-ins, and drops everything after the
 * trailer (cpio-stream's fill, all zeros) to pad to CPIO_BLOCK instead.
 */
class OutputFixer {
  #pos = 0;
  readonly #patches: readonly Patch[];
  readonly #end: number;

  constructor(patches: readonly Patch[], end: number) {
    this.#patches = patches;
    this.#end = end;
  }

  get position(): number {
    return this.#pos;
  }

  *take(chunks: Iterable<Buffer>): Generator<Buffer> {
    for (const raw of chunks) {
      const start = this.#pos;
      this.#pos += raw.length;
      let chunk = raw;
      let copied = false;
      const keep = Math.max(0, Math.min(raw.length, this.#end - start));
      const tail = raw.subarray(keep);
      if (tail.some((b) => b !== 0))
        throw new BootforgeError('BF_INTERNAL', 'cpio-stream wrote something other than zeros after the trailer');
      if (keep < raw.length) chunk = raw.subarray(0, keep);
      for (const p of this.#patches) {
        const from = Math.max(p.offset, start);
        const to = Math.min(p.offset + p.bytes.length, start + chunk.length);
        if (from >= to) continue;
        const seen = chunk.subarray(from - start, to - start);
        if (!seen.equals(p.expect.subarray(from - p.offset, to - p.offset)))
          throw new BootforgeError('BF_INTERNAL', `cpio-stream's output differs from the expected layout at ${from}`);
        // Never write into cpio-stream's buffers: a chunk may be a view of the caller's data.
        if (!copied) {
          chunk = Buffer.from(chunk);
          copied = true;
        }
        p.bytes.copy(chunk, from - start, from - p.offset, to - p.offset);
      }
      if (chunk.length > 0) yield chunk;
    }
  }

  finish(): Buffer {
    if (this.#pos < this.#end)
      throw new BootforgeError('BF_INTERNAL', `cpio-stream's archive ended at ${this.#pos}, before its trailer`);
    return Buffer.alloc(alignTo(this.#end, CPIO_BLOCK) - this.#end);
  }
}

function* drain(pack: CpioStreamPack): Generator<Buffer> {
  for (;;) {
    const chunk = pack.read() as Buffer | null;
    if (chunk === null) return;
    yield chunk;
  }
}

function contentReader(contents: ContentSource): (entry: FileEntry) => Promise<Buffer> {
  const fetch = async (entry: FileEntry): Promise<Buffer> => {
    if (typeof contents === 'function') return contents(entry);
    if (contents instanceof Map) {
      const data = (contents as ReadonlyMap<string, Buffer>).get(entry.path);
      if (data === undefined) throw entryError(entry.path, 'has no content in the map of generated files');
      return data;
    }
    return (contents as BlobStore).get(entry.sha256);
  };
  return async (entry) => {
    const data = await fetch(entry);
    if (data.length !== entry.size)
      throw entryError(entry.path, `should hold ${entry.size} bytes, but its content source gave ${data.length}`);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== entry.sha256)
      throw entryError(entry.path, `should have SHA-256 ${entry.sha256}, but its content has ${sha256}`);
    return data;
  };
}

/** The same bytes for ASCII names; for others, an ASCII string of the same byte length ("_" per non-ASCII byte). */
function asciiStandIn(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : '_';
  return out;
}

function checkPath(path: string, who: string): void {
  if (!path.startsWith('/')) throw entryError(who, 'is not an absolute path');
  if (path === '/') return;
  const parts = path.slice(1).split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..'))
    throw entryError(who, 'is not in normal form (empty, "." or ".." components, or a trailing "/")');
  if (path.includes('\0')) throw entryError(who, 'contains a NUL byte');
  if (!isWellFormed(path)) throw entryError(who, 'is not valid Unicode (a lone surrogate): it has no UTF-8 form');
  const size = Buffer.byteLength(path, 'utf8'); // the name without "/", plus its NUL
  if (size > PATH_MAX)
    throw entryError(
      who,
      `has a ${size}-byte name (with its NUL); the kernel skips entries whose name exceeds PATH_MAX (${PATH_MAX})`,
    );
}

function checkFile(file: FileEntry): void {
  checkOwner(file);
  if (!Number.isSafeInteger(file.size) || file.size < 0 || file.size > U32_MAX)
    throw entryError(file.path, `is ${file.size} bytes; a newc archive stores sizes below 4 GiB`);
}

function checkOwner(e: TreeEntry): void {
  if (!Number.isInteger(e.mode) || e.mode < 0 || (e.mode & ~0o7777) !== 0)
    throw entryError(
      e.path,
      `has mode 0${e.mode.toString(8)}; a tree entry's mode is permission bits only (at most 07777), the writer adds the type`,
    );
  if (!inRange(e.uid, U32_MAX) || !inRange(e.gid, U32_MAX))
    throw entryError(e.path, `has owner ${e.uid}:${e.gid}; ids must be integers from 0 to ${U32_MAX}`);
}

function checkMtime(mtime: number): void {
  if (!inRange(mtime, U32_MAX))
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      `the archive mtime (SOURCE_DATE_EPOCH) ${mtime} is not an integer from 0 to ${U32_MAX}; newc stores it in 8 hex digits`,
    );
}

function linkedFile(path: string, target: string, all: ReadonlyMap<string, TreeEntry>): FileEntry {
  const seen = new Set([path]);
  let current = target;
  for (;;) {
    if (seen.has(current)) throw entryError(path, `is a hard link in a cycle through ${current}`);
    seen.add(current);
    const entry = all.get(current);
    if (entry?.type === 'file') return entry;
    if (entry?.type === 'hardlink') {
      current = entry.target;
      continue;
    }
    throw entryError(
      path,
      `is a hard link to ${current}, which is ${entry === undefined ? 'not in this archive' : `a ${entry.type}`}; a hard link must name a file of the same archive`,
    );
  }
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = parentOf(path); ; p = parentOf(p)) {
    out.push(p);
    if (p === '/') return out;
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function inRange(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

function isWellFormed(s: string): boolean {
  // String.prototype.isWellFormed is ES2024; in a /u regex a valid pair is one code point, so only lone halves match.
  return !/\p{Surrogate}/u.test(s);
}

function align4(n: number): number {
  return alignTo(n, 4);
}

function alignTo(n: number, block: number): number {
  return Math.ceil(n / block) * block;
}

function entryError(path: string, why: string): BootforgeError {
  // printable() leaves lone surrogates, which a terminal shows as "?": escape them too, the error is about them.
  const shown = printable(path).replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
  return new BootforgeError('BF_CPIO_ENTRY', `initramfs entry "${shown}" ${why}`);
}
