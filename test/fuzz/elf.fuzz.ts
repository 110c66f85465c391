/** ELF files: headers, section and program tables, the dynamic section and .modinfo, as the closures read them. */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ElfFile } from '../../src/initrd/elf.js';
import { parseModinfo } from '../../src/initrd/modinfo.js';
import { ET_DYN, makeElf, makeModule } from '../helpers/make-elf.js';
import { fuzz } from './harness.js';
import { mutate, mutations, type HotRanges } from './mutate.js';

const SAMPLES = [
  makeModule([
    ['license', 'GPL'],
    ['depends', 'virtio,virtio_ring'],
    ['alias', 'virtio:d00000002v*'],
    ['softdep', 'pre: crc32c'],
    ['firmware', 'x.bin'],
  ]),
  makeElf({
    type: ET_DYN,
    interp: '/lib64/ld-linux-x86-64.so.2',
    needed: ['libc.so.6', 'libm.so.6'],
    soname: 'libx.so.1',
    runpath: '$ORIGIN/../lib',
  }),
  makeElf({ type: ET_DYN, interp: '/lib64/ld-linux-x86-64.so.2', needed: ['libc.so.6'], noSectionHeaders: true }),
];

/** The ELF header and the section and program header tables it points to. */
function hot(elf: Buffer): HotRanges {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const shoff = Number(elf.readBigUInt64LE(0x28));
  return [
    [0, 64],
    [phoff, phoff + elf.readUInt16LE(0x38) * elf.readUInt16LE(0x36)],
    [shoff, shoff + elf.readUInt16LE(0x3c) * elf.readUInt16LE(0x3a)],
  ];
}

/** What the module and binary closures ask of a file. */
function readAll(data: Buffer): void {
  const elf = ElfFile.parse(data, 'fuzz.ko');
  elf.interpreter();
  elf.dynamic();
  const modinfo = elf.sectionData('.modinfo');
  if (modinfo !== undefined) parseModinfo(modinfo, '/lib/modules/6.1.0/kernel/fuzz.ko');
}

describe('ELF', () => {
  it('ElfFile: a module, a dynamic library and a stripped program, mutated', () =>
    fuzz({
      parser: 'ELF',
      input: 'mutated sample',
      arbitrary: fc.nat({ max: SAMPLES.length - 1 }).chain((i) => {
        const s = SAMPLES[i] as Buffer;
        return fc.tuple(fc.constant(i), mutations(s.length, { hot: hot(s) }));
      }),
      run: ([i, list]) => readAll(mutate(SAMPLES[i] as Buffer, list)),
      runs: 4000,
      timeLimitMs: 4000,
    }));

  it('ElfFile: random bytes after the ELF magic', () =>
    fuzz({
      parser: 'ELF',
      input: 'random bytes',
      arbitrary: fc.uint8Array({ maxLength: 512 }),
      run: (bytes) => readAll(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), bytes])),
      runs: 2000,
      timeLimitMs: 2000,
    }));
});
