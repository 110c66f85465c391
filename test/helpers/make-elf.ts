/**
 * A minimal ELF64 little-endian writer for tests: section headers with a
 * name table, arbitrary sections (.modinfo for kernel modules), and
 * optionally PT_INTERP plus a .dynamic/.dynstr pair with DT_NEEDED,
 * DT_RUNPATH, DT_RPATH and DT_SONAME, so the initrd tests need no compiler.
 */

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const ET_REL = 1;
export const ET_DYN = 3;

const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
/** Where the single PT_LOAD segment maps the file. */
const BASE = 0x400000;

export interface ElfSectionSpec {
  readonly name: string;
  readonly data: Buffer;
  readonly type?: number;
}

export interface ElfSpec {
  /** ET_REL (default, like a .ko) or ET_DYN. */
  readonly type?: number;
  readonly machine?: number;
  readonly sections?: readonly ElfSectionSpec[];
  readonly interp?: string;
  readonly needed?: readonly string[];
  readonly runpath?: string;
  readonly rpath?: string;
  readonly soname?: string;
  /** Leave out the section header table (like sstrip): the reader must use DT_STRTAB. */
  readonly noSectionHeaders?: boolean;
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

class StringTable {
  readonly parts: Buffer[] = [Buffer.from([0])];
  size = 1;
  add(s: string): number {
    const at = this.size;
    const b = Buffer.from(`${s}\0`);
    this.parts.push(b);
    this.size += b.length;
    return at;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Builds an ELF64 file from the spec. */
export function makeElf(spec: ElfSpec = {}): Buffer {
  const dynamicWanted =
    (spec.needed?.length ?? 0) > 0 ||
    spec.runpath !== undefined ||
    spec.rpath !== undefined ||
    spec.soname !== undefined;
  const sections: { name: string; type: number; data: Buffer; link: number; entsize: number; offset: number }[] = [];
  for (const s of spec.sections ?? [])
    sections.push({ name: s.name, type: s.type ?? SHT_PROGBITS, data: s.data, link: 0, entsize: 0, offset: 0 });

  let interpIndex = -1;
  if (spec.interp !== undefined) {
    interpIndex = sections.length;
    sections.push({
      name: '.interp',
      type: SHT_PROGBITS,
      data: Buffer.from(`${spec.interp}\0`),
      link: 0,
      entsize: 0,
      offset: 0,
    });
  }
  let dynstrIndex = -1;
  let dynamicIndex = -1;
  const dynEntries: [number, number][] = [];
  if (dynamicWanted) {
    const strings = new StringTable();
    for (const n of spec.needed ?? []) dynEntries.push([DT_NEEDED, strings.add(n)]);
    if (spec.soname !== undefined) dynEntries.push([DT_SONAME, strings.add(spec.soname)]);
    if (spec.runpath !== undefined) dynEntries.push([DT_RUNPATH, strings.add(spec.runpath)]);
    if (spec.rpath !== undefined) dynEntries.push([DT_RPATH, strings.add(spec.rpath)]);
    const dynstr = strings.bytes();
    dynstrIndex = sections.length;
    sections.push({ name: '.dynstr', type: SHT_STRTAB, data: dynstr, link: 0, entsize: 0, offset: 0 });
    dynamicIndex = sections.length;
    // DT_STRTAB and DT_STRSZ are filled in once the layout is known.
    const dynamic = Buffer.alloc((dynEntries.length + 3) * 16);
    sections.push({
      name: '.dynamic',
      type: SHT_DYNAMIC,
      data: dynamic,
      link: dynstrIndex + 1,
      entsize: 16,
      offset: 0,
    });
  }
  const shstr = new StringTable();
  const nameOffsets = sections.map((s) => shstr.add(s.name));
  const shstrtabName = shstr.add('.shstrtab');
  const shstrtab = shstr.bytes();

  const phnum =
    spec.interp !== undefined || dynamicWanted ? 1 + (spec.interp !== undefined ? 1 : 0) + (dynamicWanted ? 1 : 0) : 0;
  let offset = 64 + phnum * 56;
  for (const s of sections) {
    offset = align(offset, 8);
    s.offset = offset;
    offset += s.data.length;
  }
  offset = align(offset, 8);
  const shstrtabOffset = offset;
  offset += shstrtab.length;
  offset = align(offset, 8);
  const shoff = spec.noSectionHeaders ? 0 : offset;
  const shnum = spec.noSectionHeaders ? 0 : sections.length + 2;
  const total = offset + shnum * 64;

  if (dynamicWanted) {
    const dynstr = sections[dynstrIndex];
    const dynamic = sections[dynamicIndex];
    if (dynstr === undefined || dynamic === undefined) throw new Error('layout');
    const entries: [number, number][] = [
      ...dynEntries,
      [DT_STRTAB, BASE + dynstr.offset],
      [DT_STRSZ, dynstr.data.length],
    ];
    entries.forEach(([tag, value], i) => {
      dynamic.data.writeBigUInt64LE(BigInt(tag), i * 16);
      dynamic.data.writeBigUInt64LE(BigInt(value), i * 16 + 8);
    });
    // The last entry stays zero: DT_NULL.
  }

  const out = Buffer.alloc(total);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(out, 0);
  out.writeUInt16LE(spec.type ?? ET_REL, 16);
  out.writeUInt16LE(spec.machine ?? EM_X86_64, 18);
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(phnum > 0 ? 64 : 0), 32);
  out.writeBigUInt64LE(BigInt(shoff), 40);
  out.writeUInt16LE(64, 52);
  out.writeUInt16LE(56, 54);
  out.writeUInt16LE(phnum, 56);
  out.writeUInt16LE(64, 58);
  out.writeUInt16LE(shnum, 60);
  out.writeUInt16LE(spec.noSectionHeaders ? 0 : sections.length + 1, 62);

  let ph = 64;
  const phdr = (type: number, off: number, size: number) => {
    out.writeUInt32LE(type, ph);
    out.writeUInt32LE(4, ph + 4);
    out.writeBigUInt64LE(BigInt(off), ph + 8);
    out.writeBigUInt64LE(BigInt(BASE + off), ph + 16);
    out.writeBigUInt64LE(BigInt(BASE + off), ph + 24);
    out.writeBigUInt64LE(BigInt(size), ph + 32);
    out.writeBigUInt64LE(BigInt(size), ph + 40);
    out.writeBigUInt64LE(8n, ph + 48);
    ph += 56;
  };
  if (phnum > 0) {
    if (interpIndex >= 0) {
      const s = sections[interpIndex];
      if (s !== undefined) phdr(PT_INTERP, s.offset, s.data.length);
    }
    phdr(PT_LOAD, 0, total);
    if (dynamicIndex >= 0) {
      const s = sections[dynamicIndex];
      if (s !== undefined) phdr(PT_DYNAMIC, s.offset, s.data.length);
    }
  }
  for (const s of sections) s.data.copy(out, s.offset);
  shstrtab.copy(out, shstrtabOffset);
  if (!spec.noSectionHeaders) {
    // Section 0 is the null section; user sections are 1..n; .shstrtab is last.
    sections.forEach((s, i) => {
      const at = shoff + (i + 1) * 64;
      out.writeUInt32LE(nameOffsets[i] ?? 0, at);
      out.writeUInt32LE(s.type, at + 4);
      out.writeBigUInt64LE(BigInt(s.offset), at + 24);
      out.writeBigUInt64LE(BigInt(s.data.length), at + 32);
      out.writeUInt32LE(s.link, at + 40);
      out.writeBigUInt64LE(BigInt(s.entsize), at + 56);
    });
    const at = shoff + (sections.length + 1) * 64;
    out.writeUInt32LE(shstrtabName, at);
    out.writeUInt32LE(SHT_STRTAB, at + 4);
    out.writeBigUInt64LE(BigInt(shstrtabOffset), at + 24);
    out.writeBigUInt64LE(BigInt(shstrtab.length), at + 32);
  }
  return out;
}

/** The bytes of a .modinfo section: "key=value" strings, NUL-separated, in the order given. */
export function modinfoSection(pairs: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(pairs.map(([k, v]) => Buffer.from(`${k}=${v}\0`)));
}

/** A kernel module: an ET_REL file with a .modinfo section (and a .text, like the real thing). */
export function makeModule(pairs: readonly (readonly [string, string])[]): Buffer {
  return makeElf({
    type: ET_REL,
    sections: [
      { name: '.text', data: Buffer.from([0xc3]) },
      { name: '.modinfo', data: modinfoSection(pairs) },
    ],
  });
}
