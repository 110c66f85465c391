/**
 * A small ELF64 little-endian reader: what the initrd builder needs from
 * programs, libraries and kernel modules (section headers by name, program
 * headers, the ELF interpreter, DT_NEEDED and the run paths), and nothing else.
 *
 * Every offset and size read from the file is checked against the file's
 * length before it is used, every loop is bounded by what the file can hold,
 * and anything out of place is refused with BF_BAD_ELF naming the file: a
 * corrupt or hostile file never surfaces as a RangeError or a hang.
 * (Layouts from the System V gABI and the "ELF-64 Object File Format" spec.)
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BootforgeError } from '../errors/index.js';

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;

export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;

export const SHT_STRTAB = 3;
export const SHT_DYNAMIC = 6;
export const SHT_NOBITS = 8;

export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_STRTAB = 5;
export const DT_STRSZ = 10;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_RUNPATH = 29;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const PHDR_SIZE = 56;
const DYN_SIZE = 16;
/** e_shstrndx value meaning "the real index is in sh_link of section 0". */
const SHN_XINDEX = 0xffff;

/** The fields of the ELF header this reader uses. */
export interface ElfHeader {
  /** ET_REL (kernel modules), ET_EXEC, ET_DYN (PIE programs, libraries), ... */
  readonly type: number;
  readonly machine: number;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
  readonly shoff: number;
  readonly shentsize: number;
  /** The section count; 0 with a non-zero shoff means "in section 0's sh_size" (see sectionCount). */
  readonly shnum: number;
  readonly shstrndx: number;
}

export interface ElfSection {
  readonly index: number;
  /** From the section name string table; "" when the file has none. */
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
}

export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

/** What the dynamic section says about loading: sonames needed, where to look, the object's own soname. */
export interface ElfDynamicInfo {
  readonly needed: readonly string[];
  /** DT_RUNPATH split at ":" (empty entries dropped). */
  readonly runpath: readonly string[];
  /** DT_RPATH split at ":"; the loader ignores it when DT_RUNPATH is present. */
  readonly rpath: readonly string[];
  readonly soname?: string;
}

function badElf(file: string, why: string): BootforgeError {
  return new BootforgeError('BF_BAD_ELF', `${file}: ${why}`);
}

/** A 64-bit field as a number; values past 2^53 become Infinity, which fails every bounds check. */
function u64(buf: Buffer, at: number): number {
  const lo = buf.readUInt32LE(at);
  const hi = buf.readUInt32LE(at + 4);
  return hi > 0x1fffff ? Number.POSITIVE_INFINITY : hi * 0x1_0000_0000 + lo;
}

/** Whether [offset, offset + length) lies inside a file of `total` bytes. */
function inside(offset: number, length: number, total: number): boolean {
  return offset >= 0 && length >= 0 && offset <= total && length <= total - offset;
}

/** The NUL-terminated string at `at` inside `table`; refused when it runs off the end. */
function cstring(table: Buffer, at: number, file: string, what: string): string {
  if (at < 0 || at >= table.length) throw badElf(file, `${what}: string offset ${at} is outside its table`);
  const end = table.indexOf(0, at);
  if (end < 0) throw badElf(file, `${what}: string at offset ${at} is not NUL-terminated`);
  return table.toString('utf8', at, end);
}

/** Whether the data starts with the ELF magic (of any class or byte order). */
export function isElf(data: Buffer): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

/**
 * Reads and checks the ELF header from the first bytes of a file of `size`
 * bytes: magic, 64-bit, little-endian, version 1, and tables that fit.
 */
export function parseElfHeader(head: Buffer, size: number, file: string): ElfHeader {
  if (!isElf(head)) throw badElf(file, 'not an ELF file (no \\x7fELF magic)');
  if (head.length < EHDR_SIZE || size < EHDR_SIZE)
    throw badElf(file, `truncated: ${Math.min(head.length, size)} bytes, an ELF64 header needs ${EHDR_SIZE}`);
  const cls = head[4];
  if (cls === 1) throw badElf(file, 'is a 32-bit ELF file; only 64-bit ELF is supported');
  if (cls !== 2) throw badElf(file, `unknown ELF class ${cls}`);
  if (head[5] === 2) throw badElf(file, 'is a big-endian ELF file; only little-endian ELF is supported');
  if (head[5] !== 1) throw badElf(file, `unknown ELF data encoding ${head[5]}`);
  if (head[6] !== 1) throw badElf(file, `unknown ELF version ${head[6]}`);
  const header: ElfHeader = {
    type: head.readUInt16LE(16),
    machine: head.readUInt16LE(18),
    phoff: u64(head, 32),
    shoff: u64(head, 40),
    phentsize: head.readUInt16LE(54),
    phnum: head.readUInt16LE(56),
    shentsize: head.readUInt16LE(58),
    shnum: head.readUInt16LE(60),
    shstrndx: head.readUInt16LE(62),
  };
  if (header.phnum > 0) {
    if (header.phentsize < PHDR_SIZE) throw badElf(file, `program header entries of ${header.phentsize} bytes`);
    if (!inside(header.phoff, header.phnum * header.phentsize, size))
      throw badElf(file, `the program header table (${header.phnum} entries at ${header.phoff}) is outside the file`);
  }
  if (header.shoff !== 0) {
    if (header.shentsize < SHDR_SIZE) throw badElf(file, `section header entries of ${header.shentsize} bytes`);
    // With shnum 0 the count is in section 0, which must exist for that.
    const count = Math.max(header.shnum, 1);
    if (!inside(header.shoff, count * header.shentsize, size))
      throw badElf(file, `the section header table (${header.shnum} entries at ${header.shoff}) is outside the file`);
  }
  return header;
}

/** The number of section headers, given the header and (for the extended form) the bytes of section 0. */
export function sectionCount(header: ElfHeader, first: Buffer | undefined, size: number, file: string): number {
  if (header.shoff === 0) return 0;
  if (header.shnum !== 0) return header.shnum;
  // Extended numbering (gABI): more than 0xff00 sections, the count is in section 0's sh_size.
  if (first === undefined || first.length < SHDR_SIZE) throw badElf(file, 'section 0 is missing');
  const count = u64(first, 32);
  if (!inside(header.shoff, count * header.shentsize, size))
    throw badElf(file, `the section header table (${count} entries at ${header.shoff}) is outside the file`);
  return count;
}

interface RawSection extends Omit<ElfSection, 'name'> {
  readonly nameOffset: number;
}

/** Parses `count` section headers from the bytes of the table; checks that each section's data is in the file. */
function parseSectionTable(table: Buffer, header: ElfHeader, count: number, size: number, file: string): RawSection[] {
  const out: RawSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * header.shentsize;
    if (at + SHDR_SIZE > table.length) throw badElf(file, `section header ${i} is truncated`);
    const s: RawSection = {
      index: i,
      nameOffset: table.readUInt32LE(at),
      type: table.readUInt32LE(at + 4),
      flags: u64(table, at + 8),
      addr: u64(table, at + 16),
      offset: u64(table, at + 24),
      size: u64(table, at + 32),
      link: table.readUInt32LE(at + 40),
      info: table.readUInt32LE(at + 44),
      entsize: u64(table, at + 56),
    };
    if (i > 0 && s.type !== SHT_NOBITS && !inside(s.offset, s.size, size))
      throw badElf(file, `section ${i} (${s.size} bytes at ${s.offset}) is outside the file`);
    out.push(s);
  }
  return out;
}

/** The index of the section holding section names, or undefined when there is none. */
function shstrIndex(header: ElfHeader, raw: readonly RawSection[], file: string): number | undefined {
  let index = header.shstrndx;
  if (index === SHN_XINDEX) index = raw[0]?.link ?? 0;
  if (index === 0) return undefined;
  const s = raw[index];
  if (s === undefined) throw badElf(file, `the section name table index ${index} is out of range`);
  if (s.type === SHT_NOBITS) throw badElf(file, 'the section name table has no data');
  return index;
}

function nameSections(raw: readonly RawSection[], names: Buffer | undefined, file: string): ElfSection[] {
  return raw.map(({ nameOffset, ...s }) => ({
    ...s,
    name:
      names === undefined || (s.index === 0 && nameOffset === 0)
        ? ''
        : cstring(names, nameOffset, file, `section ${s.index} name`),
  }));
}

/**
 * The first section called `name`, comparing bytes rather than decoding every
 * name (a module has about 70 sections; this runs for 4000 modules). Every
 * name is still checked to lie inside the table and end with a NUL.
 */
function findByName(raw: readonly RawSection[], names: Buffer, name: string, file: string): RawSection | undefined {
  const want = Buffer.from(`${name}\0`);
  let found: RawSection | undefined;
  for (const s of raw) {
    if (s.index === 0 && s.nameOffset === 0) continue;
    const at = s.nameOffset;
    if (at >= names.length) throw badElf(file, `section ${s.index} name: string offset ${at} is outside its table`);
    if (names.indexOf(0, at) < 0)
      throw badElf(file, `section ${s.index} name: string at offset ${at} is not NUL-terminated`);
    if (
      found === undefined &&
      at + want.length <= names.length &&
      names.compare(want, 0, want.length, at, at + want.length) === 0
    )
      found = s;
  }
  return found;
}

function parseSegments(data: Buffer, header: ElfHeader, file: string): ElfSegment[] {
  const out: ElfSegment[] = [];
  for (let i = 0; i < header.phnum; i++) {
    const at = header.phoff + i * header.phentsize;
    const p: ElfSegment = {
      type: data.readUInt32LE(at),
      flags: data.readUInt32LE(at + 4),
      offset: u64(data, at + 8),
      vaddr: u64(data, at + 16),
      filesz: u64(data, at + 32),
      memsz: u64(data, at + 40),
    };
    if (!inside(p.offset, p.filesz, data.length))
      throw badElf(file, `segment ${i} (${p.filesz} bytes at ${p.offset}) is outside the file`);
    out.push(p);
  }
  return out;
}

/** A whole ELF64 file in memory. Section and segment data are views into the buffer: copy what you keep. */
export class ElfFile {
  readonly file: string;
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  readonly #data: Buffer;
  #dynamic: ElfDynamicInfo | undefined;

  private constructor(data: Buffer, file: string) {
    this.#data = data;
    this.file = file;
    const size = data.length;
    this.header = parseElfHeader(data, size, file);
    const h = this.header;
    const count = sectionCount(h, h.shoff === 0 ? undefined : data.subarray(h.shoff, h.shoff + SHDR_SIZE), size, file);
    const raw = parseSectionTable(data.subarray(h.shoff, h.shoff + count * h.shentsize), h, count, size, file);
    const names = shstrIndex(h, raw, file);
    const table = names === undefined ? undefined : raw[names];
    this.sections = nameSections(
      raw,
      table === undefined ? undefined : data.subarray(table.offset, table.offset + table.size),
      file,
    );
    this.segments = parseSegments(data, h, file);
  }

  /** Parses and checks the headers; `file` names the file in errors. */
  static parse(data: Buffer, file: string): ElfFile {
    return new ElfFile(data, file);
  }

  get machine(): number {
    return this.header.machine;
  }

  /** The first section with this name. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The bytes of the first section with this name (empty for SHT_NOBITS), or undefined when there is none. */
  sectionData(name: string): Buffer | undefined {
    const s = this.section(name);
    if (s === undefined) return undefined;
    return s.type === SHT_NOBITS ? Buffer.alloc(0) : this.#data.subarray(s.offset, s.offset + s.size);
  }

  /** Refuses a file built for another machine (EM_X86_64 = 62, EM_AARCH64 = 183). */
  expectMachine(machine: number): void {
    if (this.header.machine !== machine)
      throw badElf(this.file, `is built for ELF machine ${this.header.machine}, not ${machine}`);
  }

  /** The program interpreter (PT_INTERP), e.g. "/lib64/ld-linux-x86-64.so.2"; undefined for static programs. */
  interpreter(): string | undefined {
    const p = this.segments.find((s) => s.type === PT_INTERP);
    if (p === undefined) return undefined;
    const bytes = this.#data.subarray(p.offset, p.offset + p.filesz);
    const end = bytes.indexOf(0);
    const path = bytes.toString('utf8', 0, end < 0 ? bytes.length : end);
    if (path === '') throw badElf(this.file, 'PT_INTERP names no interpreter');
    return path;
  }

  /** DT_NEEDED, DT_RUNPATH, DT_RPATH and DT_SONAME; all empty for a file without a dynamic section. */
  dynamic(): ElfDynamicInfo {
    this.#dynamic ??= this.#readDynamic();
    return this.#dynamic;
  }

  /** A program with neither interpreter nor needed libraries (busybox-static). */
  isStatic(): boolean {
    return this.interpreter() === undefined && this.dynamic().needed.length === 0;
  }

  #readDynamic(): ElfDynamicInfo {
    const section = this.sections.find((s) => s.type === SHT_DYNAMIC);
    const segment = this.segments.find((s) => s.type === PT_DYNAMIC);
    const where =
      segment !== undefined
        ? { offset: segment.offset, size: segment.filesz }
        : section !== undefined
          ? { offset: section.offset, size: section.size }
          : undefined;
    if (where === undefined) return { needed: [], runpath: [], rpath: [] };
    const table = this.#data.subarray(where.offset, where.offset + where.size);
    const entries: { tag: number; value: number }[] = [];
    for (let at = 0; at + DYN_SIZE <= table.length; at += DYN_SIZE) {
      // Tags above 2^31 (processor/OS specific ranges) do not matter here; the low word decides.
      const tagHi = table.readUInt32LE(at + 4);
      const tag = tagHi === 0 ? table.readUInt32LE(at) : -1;
      if (tag === DT_NULL) break;
      entries.push({ tag, value: u64(table, at + 8) });
    }
    const wanted = entries.filter((e) => [DT_NEEDED, DT_RUNPATH, DT_RPATH, DT_SONAME].includes(e.tag));
    if (wanted.length === 0) return { needed: [], runpath: [], rpath: [] };
    const strings = this.#dynamicStrings(section, entries);
    const str = (e: { tag: number; value: number }, what: string) => cstring(strings, e.value, this.file, what);
    const paths = (tag: number, what: string) =>
      wanted
        .filter((e) => e.tag === tag)
        .flatMap((e) => str(e, what).split(':'))
        .filter((p) => p !== '');
    const soname = wanted.find((e) => e.tag === DT_SONAME);
    return {
      needed: wanted.filter((e) => e.tag === DT_NEEDED).map((e) => str(e, 'DT_NEEDED')),
      runpath: paths(DT_RUNPATH, 'DT_RUNPATH'),
      rpath: paths(DT_RPATH, 'DT_RPATH'),
      ...(soname === undefined ? {} : { soname: str(soname, 'DT_SONAME') }),
    };
  }

  /**
   * The dynamic string table: the section the dynamic section links to when
   * section headers exist, else DT_STRTAB's address mapped through the PT_LOAD
   * segments (bounded by DT_STRSZ).
   */
  #dynamicStrings(section: ElfSection | undefined, entries: readonly { tag: number; value: number }[]): Buffer {
    if (section !== undefined && section.link !== 0) {
      const linked = this.sections[section.link];
      if (linked === undefined || linked.type !== SHT_STRTAB)
        throw badElf(this.file, `the dynamic section links to section ${section.link}, which is not a string table`);
      return this.#data.subarray(linked.offset, linked.offset + linked.size);
    }
    const addr = entries.find((e) => e.tag === DT_STRTAB)?.value;
    if (addr === undefined) throw badElf(this.file, 'the dynamic section has strings but no DT_STRTAB');
    const load = this.segments.find((s) => s.type === PT_LOAD && addr >= s.vaddr && addr - s.vaddr < s.filesz);
    if (load === undefined) throw badElf(this.file, `DT_STRTAB (${addr}) is not inside a loaded segment`);
    const start = load.offset + (addr - load.vaddr);
    const segmentEnd = load.offset + load.filesz;
    const strsz = entries.find((e) => e.tag === DT_STRSZ)?.value;
    const end = strsz === undefined ? segmentEnd : Math.min(segmentEnd, start + strsz);
    return this.#data.subarray(start, end);
  }
}

/**
 * Reads one section of an ELF file on disk without reading the rest: the
 * header, the section header table, the name table, then the section. Kernel
 * modules keep their section headers at the end, so indexing 4000 modules
 * reads a few kilobytes of each instead of 400 MB. Synchronous on purpose:
 * five small reads of a cached file cost microseconds each, while a trip
 * through libuv's thread pool per read made indexing a kernel eight times
 * slower. Returns undefined when the file has no such section.
 */
export function readElfSectionFromFile(path: string, name: string, file = path): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new BootforgeError('BF_IO', `cannot open ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    const { size } = fstatSync(fd);
    const read = (offset: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) throw badElf(file, `ends at ${offset + done} bytes while reading; was it changed?`);
        done += n;
      }
      return buf;
    };
    const header = parseElfHeader(read(0, Math.min(size, EHDR_SIZE)), size, file);
    if (header.shoff === 0) return undefined;
    const first = header.shnum === 0 ? read(header.shoff, SHDR_SIZE) : undefined;
    const count = sectionCount(header, first, size, file);
    const raw = parseSectionTable(read(header.shoff, count * header.shentsize), header, count, size, file);
    const namesIndex = shstrIndex(header, raw, file);
    if (namesIndex === undefined) return undefined;
    const names = raw[namesIndex];
    if (names === undefined) return undefined;
    const wanted = findByName(raw, read(names.offset, names.size), name, file);
    if (wanted === undefined) return undefined;
    return wanted.type === SHT_NOBITS ? Buffer.alloc(0) : read(wanted.offset, wanted.size);
  } finally {
    closeSync(fd);
  }
}
