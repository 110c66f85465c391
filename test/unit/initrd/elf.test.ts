import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { EM_AARCH64, EM_X86_64, ElfFile, readElfSectionFromFile } from '../../../src/initrd/elf.js';
import { ET_DYN, makeElf, makeModule } from '../../helpers/make-elf.js';
import { thrown } from '../../helpers/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-elf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const dynamicProgram = makeElf({
  type: ET_DYN,
  interp: '/lib64/ld-linux-x86-64.so.2',
  needed: ['libext2fs.so.2', 'libc.so.6'],
  runpath: '$ORIGIN/../lib::/opt/lib',
  rpath: '/old/rpath',
  soname: 'prog',
});

describe('ElfFile', () => {
  it('reads sections by name from a kernel module', () => {
    const ko = makeModule([
      ['alias', 'fs-ext4'],
      ['depends', 'jbd2,mbcache'],
    ]);
    const elf = ElfFile.parse(ko, 'ext4.ko');
    expect(elf.header.type).toBe(1);
    expect(elf.machine).toBe(EM_X86_64);
    expect(elf.sections.map((s) => s.name)).toEqual(['', '.text', '.modinfo', '.shstrtab']);
    expect(elf.sectionData('.modinfo')?.toString()).toBe('alias=fs-ext4\0depends=jbd2,mbcache\0');
    expect(elf.sectionData('.nothing')).toBeUndefined();
    expect(elf.isStatic()).toBe(true);
  });

  it('reads the interpreter, DT_NEEDED, DT_RUNPATH, DT_RPATH and DT_SONAME', () => {
    const elf = ElfFile.parse(dynamicProgram, 'prog');
    expect(elf.interpreter()).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(elf.dynamic()).toEqual({
      needed: ['libext2fs.so.2', 'libc.so.6'],
      runpath: ['$ORIGIN/../lib', '/opt/lib'],
      rpath: ['/old/rpath'],
      soname: 'prog',
    });
    expect(elf.isStatic()).toBe(false);
  });

  it('finds the dynamic strings through DT_STRTAB when there are no section headers', () => {
    const stripped = makeElf({ type: ET_DYN, interp: '/lib/ld.so', needed: ['libc.so.6'], noSectionHeaders: true });
    const elf = ElfFile.parse(stripped, 'stripped');
    expect(elf.sections).toEqual([]);
    expect(elf.interpreter()).toBe('/lib/ld.so');
    expect(elf.dynamic().needed).toEqual(['libc.so.6']);
  });

  it('treats a program without PT_INTERP and DT_NEEDED as static', () => {
    const elf = ElfFile.parse(makeElf({ type: 2, sections: [{ name: '.text', data: Buffer.alloc(16) }] }), 'busybox');
    expect(elf.interpreter()).toBeUndefined();
    expect(elf.dynamic()).toEqual({ needed: [], runpath: [], rpath: [] });
    expect(elf.isStatic()).toBe(true);
  });

  it('reads the extended section count from section 0', () => {
    const ko = Buffer.from(makeModule([['license', 'GPL']]));
    const shoff = Number(ko.readBigUInt64LE(40));
    const shnum = ko.readUInt16LE(60);
    ko.writeUInt16LE(0, 60);
    ko.writeBigUInt64LE(BigInt(shnum), shoff + 32);
    expect(ElfFile.parse(ko, 'ext.ko').sectionData('.modinfo')?.toString()).toBe('license=GPL\0');
  });

  it('checks the machine', () => {
    const arm = ElfFile.parse(makeElf({ machine: EM_AARCH64 }), 'arm.ko');
    expect(thrown(() => arm.expectMachine(EM_X86_64)).message).toBe('arm.ko: is built for ELF machine 183, not 62');
  });

  it.each([
    ['not ELF', Buffer.from('#!/bin/sh\necho hi\n'), 'x: not an ELF file (no \\x7fELF magic)'],
    ['truncated header', makeModule([]).subarray(0, 20), 'x: truncated: 20 bytes, an ELF64 header needs 64'],
    [
      '32-bit',
      (() => {
        const b = Buffer.from(makeModule([]));
        b[4] = 1;
        return b;
      })(),
      'x: is a 32-bit ELF file; only 64-bit ELF is supported',
    ],
    [
      'big-endian',
      (() => {
        const b = Buffer.from(makeModule([]));
        b[5] = 2;
        return b;
      })(),
      'x: is a big-endian ELF file; only little-endian ELF is supported',
    ],
    [
      'section table past the end',
      (() => {
        const b = Buffer.from(makeModule([]));
        b.writeBigUInt64LE(BigInt(b.length), 40);
        return b;
      })(),
      /^x: the section header table \(4 entries at \d+\) is outside the file$/,
    ],
    [
      'section past the end',
      (() => {
        const b = Buffer.from(makeModule([['a', 'b']]));
        const shoff = Number(b.readBigUInt64LE(40));
        b.writeBigUInt64LE(0xffffffffffn, shoff + 2 * 64 + 32);
        return b;
      })(),
      /^x: section 2 \(1099511627775 bytes at \d+\) is outside the file$/,
    ],
    [
      'section name outside the name table',
      (() => {
        const b = Buffer.from(makeModule([]));
        const shoff = Number(b.readBigUInt64LE(40));
        b.writeUInt32LE(5000, shoff + 64);
        return b;
      })(),
      'x: section 1 name: string offset 5000 is outside its table',
    ],
  ])('refuses %s with BF_BAD_ELF naming the file', (_what, data, message) => {
    const e = thrown(() => ElfFile.parse(data, 'x'));
    expect(e.code).toBe('BF_BAD_ELF');
    if (typeof message === 'string') expect(e.message).toBe(message);
    else expect(e.message).toMatch(message);
  });

  it('refuses a DT_NEEDED string outside the string table', () => {
    const b = Buffer.from(dynamicProgram);
    const elf = ElfFile.parse(b, 'p');
    const dyn = elf.section('.dynamic');
    if (dyn === undefined) throw new Error('no .dynamic');
    b.writeBigUInt64LE(9999n, dyn.offset + 8);
    const e = thrown(() => ElfFile.parse(b, 'p').dynamic());
    expect(e.code).toBe('BF_BAD_ELF');
    expect(e.message).toBe('p: DT_NEEDED: string offset 9999 is outside its table');
  });
});

describe('readElfSectionFromFile', () => {
  it('reads one section without reading the whole file, as ElfFile does', () => {
    const ko = makeModule([
      ['alias', 'pci:v00001AF4d00001001sv*sd*bc*sc*i*'],
      ['depends', 'virtio,virtio_ring'],
    ]);
    const path = join(tmp, 'virtio_blk.ko');
    writeFileSync(path, ko);
    expect(readElfSectionFromFile(path, '.modinfo')).toEqual(ElfFile.parse(ko, path).sectionData('.modinfo'));
    expect(readElfSectionFromFile(path, '.absent')).toBeUndefined();
  });

  it('refuses a corrupt file with BF_BAD_ELF naming the label', () => {
    const path = join(tmp, 'bad.ko');
    writeFileSync(path, makeModule([]).subarray(0, 100));
    const e = thrown(() => readElfSectionFromFile(path, '.modinfo', '/usr/lib/modules/x/bad.ko'));
    expect(e.code).toBe('BF_BAD_ELF');
    expect(e.message).toMatch(/^\/usr\/lib\/modules\/x\/bad\.ko: /);
    expect(thrown(() => readElfSectionFromFile(join(tmp, 'absent.ko'), '.modinfo')).code).toBe('BF_IO');
  });
});

/** A small deterministic PRNG (mulberry32) so the fuzz cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Everything the reader offers, on one input: a BootforgeError BF_BAD_ELF is fine, any other throw is a bug. */
function exercise(data: Buffer): 'ok' | 'bad' {
  try {
    const elf = ElfFile.parse(data, 'fuzz');
    for (const s of elf.sections) elf.sectionData(s.name);
    elf.sectionData('.modinfo');
    elf.interpreter();
    elf.dynamic();
    elf.isStatic();
    return 'ok';
  } catch (e) {
    if (e instanceof BootforgeError && e.code === 'BF_BAD_ELF') return 'bad';
    throw e;
  }
}

describe('robustness against corrupt files', () => {
  const samples = [
    makeModule([
      ['alias', 'fs-vfat'],
      ['depends', 'fat'],
    ]),
    dynamicProgram,
    makeElf({ type: ET_DYN, interp: '/lib/ld.so', needed: ['libc.so.6'], noSectionHeaders: true }),
  ];

  it('gives BF_BAD_ELF or a result for every prefix of a valid file', () => {
    for (const sample of samples) {
      const outcomes = new Set<string>();
      for (let n = 0; n <= sample.length; n++) outcomes.add(exercise(sample.subarray(0, n)));
      expect(outcomes.has('bad')).toBe(true);
      expect(exercise(sample)).toBe('ok');
    }
  });

  it('gives BF_BAD_ELF or a result for random byte flips (fixed seed)', () => {
    const random = prng(0x5eed);
    let bad = 0;
    for (let round = 0; round < 3000; round++) {
      const sample = samples[round % samples.length] ?? dynamicProgram;
      const data = Buffer.from(sample);
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(random() * data.length);
        // Half the time a random byte, half the time an extreme value (offsets and sizes like these hurt most).
        data[at] = random() < 0.5 ? Math.floor(random() * 256) : random() < 0.5 ? 0xff : 0;
      }
      if (exercise(data) === 'bad') bad++;
    }
    expect(bad).toBeGreaterThan(0);
  });

  it('gives BF_BAD_ELF or a result when reading a corrupt file from disk', () => {
    const random = prng(42);
    const path = join(tmp, 'fuzz.ko');
    for (let round = 0; round < 150; round++) {
      const data = Buffer.from(samples[0] ?? dynamicProgram);
      for (let i = 0; i < 4; i++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      writeFileSync(path, round % 10 === 0 ? data.subarray(0, Math.floor(random() * data.length)) : data);
      try {
        readElfSectionFromFile(path, '.modinfo');
      } catch (e) {
        if (!(e instanceof BootforgeError && e.code === 'BF_BAD_ELF')) throw e;
      }
    }
  });
});
