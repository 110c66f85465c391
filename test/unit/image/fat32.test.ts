import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { BootforgeError, type ErrorCode } from '../../../src/errors/index.js';
import { dosStamp, fromDosStamp, writeLfnEntries } from '../../../src/image/fat/dirent.js';
import { fat32Geometry, MIN_CLUSTERS, type Fat32Geometry } from '../../../src/image/fat/geometry.js';
import { assignShortNames, basisName, formatShortName, nameProblem } from '../../../src/image/fat/names.js';
import {
  layoutFat32,
  lfnChecksum,
  readFat32,
  writeFat32,
  type Fat32File,
  type Fat32Reader,
  type Fat32Options,
  type Fat32StreamSource,
} from '../../../src/image/fat32.js';

const MiB = 2 ** 20;
const WHEN = new Date('2024-05-06T07:08:09.120Z');

/** A volume in memory that keeps only what was written, and checks writes come in increasing, disjoint order. */
class MemoryVolume {
  readonly writes: { offset: number; data: Buffer }[] = [];
  constructor(readonly size: number) {}
  readonly write = (offset: number, data: Buffer): void => {
    const last = this.writes.at(-1);
    if (last && offset < last.offset + last.data.length) throw new Error(`write at ${offset} overlaps or goes back`);
    if (offset + data.length > this.size) throw new Error(`write at ${offset} + ${data.length} past the volume`);
    this.writes.push({ offset, data: Buffer.from(data) });
  };
  readonly read = (offset: number, length: number): Buffer => {
    const out = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
    for (const w of this.writes) {
      const from = Math.max(offset, w.offset);
      const to = Math.min(offset + out.length, w.offset + w.data.length);
      if (from < to) w.data.copy(out, from - offset, from - w.offset, to - w.offset);
    }
    return out;
  };
  get bytesWritten(): number {
    return this.writes.reduce((n, w) => n + w.data.length, 0);
  }
  digest(): string {
    const h = createHash('sha256');
    for (const w of this.writes) h.update(`${w.offset}:${w.data.length};`).update(w.data);
    return h.digest('hex');
  }
}

/** Deterministic bytes that differ in every 512-byte block (xorshift32), so a misplaced cluster shows. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed * 2654435761 + 1 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = x >>> 0;
    for (let k = 0; k < 4 && i + k < size; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return b;
}

/** A source of `size` zero bytes, handed out as one shared chunk: nothing the size of the file is allocated. */
function zeroSource(size: number, chunk = Buffer.alloc(MiB)): Fat32StreamSource {
  function* pieces(): Generator<Buffer> {
    for (let left = size; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  }
  return {
    size,
    read: () => {
      const it = pieces();
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(it.next()) }) };
    },
  };
}

function options(files: Fat32File[], extra: Partial<Fat32Options> = {}): Fat32Options {
  return { size: 64 * MiB, label: 'BOOTFORGE', volumeId: 0x1234abcd, timestamp: WHEN, files, ...extra };
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode, message?: RegExp): Promise<void> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BootforgeError);
  expect((error as BootforgeError).code).toBe(code);
  if (message) expect((error as BootforgeError).message).toMatch(message);
}

const ESP: Fat32File[] = [
  { path: '/EFI/BOOT/BOOTX64.EFI', data: pattern(150_000, 1) },
  { path: '/EFI/debian/grubx64.efi', data: pattern(3000, 2) },
  { path: '/loader/loader.conf', data: Buffer.from('timeout 3\ndefault debian.conf\n') },
  { path: '/loader/entries/debian.conf', data: Buffer.from('title Debian\nlinux /vmlinuz\n') },
  { path: '/readme.txt', data: Buffer.from('lower case 8.3\n') },
  { path: '/Überprüfung – ü.txt', data: Buffer.from('unicode\n') },
  { path: '/emoji 😀.txt', data: Buffer.from('surrogates\n') },
  { path: '/empty', data: Buffer.alloc(0) },
  { path: '/big.bin', data: pattern(9 * MiB + 123, 3) },
  ...Array.from({ length: 300 }, (_, i) => ({
    path: `/many/file number ${String(i).padStart(3, '0')}.dat`,
    data: Buffer.from(`entry ${i}\n`),
  })),
];

describe('lfnChecksum', () => {
  it('matches the checksum mtools wrote for "A Long File Name.txt" (short name ALONGF~1.TXT)', () => {
    expect(lfnChecksum(Buffer.from('ALONGF~1TXT', 'latin1'))).toBe(0x02);
  });

  it('is fatgen103 ChkSum: rotate right, add each of the 11 bytes', () => {
    let sum = 0;
    for (const byte of Buffer.from('README  TXT', 'latin1')) sum = ((sum & 1 ? 0x80 : 0) + (sum >> 1) + byte) & 0xff;
    expect(lfnChecksum(Buffer.from('README  TXT', 'latin1'))).toBe(sum);
  });
});

describe('long-name entries', () => {
  it('are byte for byte what mtools 4.0.32 wrote for the same name', () => {
    const short = Buffer.from('ALONGF~1TXT', 'latin1');
    const buf = Buffer.alloc(64);
    expect(writeLfnEntries(buf, 0, 'A Long File Name.txt', short)).toBe(2);
    expect(buf.toString('hex')).toBe(
      '4261006d0065002e0074000f0002780074000000ffffffffffff0000ffffffff' +
        '01410020004c006f006e000f000267002000460069006c006500000020004e00',
    );
  });

  it('end without terminator or padding when the name fills its last entry', () => {
    const buf = Buffer.alloc(32);
    writeLfnEntries(buf, 0, 'abcdefghijklm', Buffer.from('ABCDEF~1   ', 'latin1'));
    expect(buf[0]).toBe(0x41);
    expect(buf.readUInt16LE(30)).toBe('m'.charCodeAt(0));
  });

  it('store characters beyond the BMP as surrogate pairs', () => {
    const buf = Buffer.alloc(32);
    writeLfnEntries(buf, 0, '😀', Buffer.from('_       TXT', 'latin1'));
    expect([buf.readUInt16LE(1), buf.readUInt16LE(3), buf.readUInt16LE(5), buf.readUInt16LE(7)]).toEqual([
      0xd83d, 0xde00, 0x0000, 0xffff,
    ]);
  });
});

describe('short names', () => {
  const shorts = (names: string[]): string[] => assignShortNames(names).map((s) => formatShortName(s.name11));

  it('follow the basis-name algorithm', () => {
    expect(basisName('a.b.c.txt')).toEqual({ primary: 'A', ext: 'TXT' });
    expect(basisName(' lead')).toEqual({ primary: 'LEAD', ext: '' });
    expect(basisName('...hidden.conf')).toEqual({ primary: 'HIDDEN', ext: 'CON' });
    expect(basisName('Überprüfung – ü.txt')).toEqual({ primary: '_BERPR_F', ext: 'TXT' });
    expect(basisName('x+y=z[1].tar.gz')).toEqual({ primary: 'X_Y_Z_1_', ext: 'GZ' });
    expect(basisName('😀.txt')).toEqual({ primary: '_', ext: 'TXT' }); // one "_" per character, not per code unit
  });

  it('keep exact upper-case 8.3 names without a long name, and give others one', () => {
    const got = assignShortNames(['BOOTX64.EFI', 'readme.txt', 'Makefile', 'a.b.c.txt', ' lead', 'README~1']);
    expect(got.map((s) => [formatShortName(s.name11), s.lfn])).toEqual([
      ['BOOTX64.EFI', false],
      ['README.TXT', true],
      ['MAKEFILE', true],
      ['A~1.TXT', true],
      ['LEAD~1', true],
      ['README~1', false],
    ]);
  });

  it('number colliding names ~1 to ~9, then shorten the primary part for ~10 and beyond', () => {
    const names = Array.from({ length: 30 }, (_, i) => `verylongname-${String(i + 1).padStart(2, '0')}.conf`);
    const got = shorts(names);
    expect(got.slice(0, 9)).toEqual(Array.from({ length: 9 }, (_, i) => `VERYLO~${i + 1}.CON`));
    expect(got.slice(9)).toEqual(Array.from({ length: 21 }, (_, i) => `VERYL~${i + 10}.CON`));
    expect(new Set(got).size).toBe(30);
  });

  it('step around a literal short name that uses a tail', () => {
    expect(shorts(['longfilename.txt', 'LONGFI~1.TXT', 'longfile-2.txt'])).toEqual([
      'LONGFI~2.TXT',
      'LONGFI~1.TXT',
      'LONGFI~3.TXT',
    ]);
  });

  it('stay unique past a thousand collisions, the primary part shrinking as the tail grows', () => {
    const got = shorts(Array.from({ length: 1200 }, (_, i) => `collide ${String(i).padStart(4, '0')}.txt`));
    expect(new Set(got).size).toBe(1200);
    expect(got[99]).toBe('COLL~100.TXT');
    expect(got[999]).toBe('COL~1000.TXT');
  });
});

describe('names FAT cannot store', () => {
  it.each([
    ['a"b', '"'],
    ['a*b', '*'],
    ['a:b', ':'],
    ['a<b', '<'],
    ['a>b', '>'],
    ['a?b', '?'],
    ['a\\b', '\\'],
    ['a|b', '|'],
  ])('%s', (name, ch) => {
    expect(nameProblem(name)).toBe(`the name contains "${ch}", which FAT cannot store`);
  });

  it('control characters, lone surrogates, trailing dots and spaces, 256 code units', () => {
    expect(nameProblem('tab\there')).toBe('the name contains control character U+0009, which FAT cannot store');
    expect(nameProblem('bad\ud800')).toMatch(/lone UTF-16 surrogate/);
    expect(nameProblem('dot.')).toMatch(/ends in a space or a dot/);
    expect(nameProblem('space ')).toMatch(/ends in a space or a dot/);
    expect(nameProblem('x'.repeat(255))).toBeUndefined();
    expect(nameProblem('x'.repeat(256))).toBe('the name is 256 UTF-16 code units long, FAT allows 255');
    expect(nameProblem('😀'.repeat(128))).toMatch(/256 UTF-16 code units/);
  });
});

describe('DOS time stamps', () => {
  it('store the UTC fields of the date, with the odd second and hundredths in the creation tenths', () => {
    expect(dosStamp(WHEN)).toEqual({
      date: (44 << 9) | (5 << 5) | 6,
      time: (7 << 11) | (8 << 5) | 4,
      tenths: 112,
    });
    expect(fromDosStamp(dosStamp(WHEN).date, dosStamp(WHEN).time, 112)).toEqual(WHEN);
  });

  it('clamp dates FAT cannot hold to 1980-01-01 and 2107-12-31', () => {
    expect(fromDosStamp(dosStamp(new Date(0)).date, dosStamp(new Date(0)).time)).toEqual(
      new Date('1980-01-01T00:00:00Z'),
    );
    expect(fromDosStamp(dosStamp(new Date('2200-01-01Z')).date, 0)).toEqual(new Date('2107-12-31T00:00:00Z'));
  });
});

describe('geometry', () => {
  it("picks sectors per cluster from the spec's FAT32 table", () => {
    const spc = (bytes: number): number | undefined => fat32Geometry(bytes / 512)?.sectorsPerCluster;
    expect(spc(33 * MiB)).toBe(1);
    expect(spc(260 * MiB)).toBe(1);
    expect(spc(260 * MiB + 512)).toBe(8);
    expect(spc(8 * 1024 * MiB)).toBe(8);
    expect(spc(8 * 1024 * MiB + 512)).toBe(16);
    expect(spc(16 * 1024 * MiB + 512)).toBe(32);
    expect(spc(32 * 1024 * MiB + 512)).toBe(64);
  });

  it("sizes the FAT by the spec's formula, big enough for every cluster", () => {
    for (const sectors of [66_600, 131_072, 532_480, 532_481, 4_194_304, 16_777_216, 33_554_433]) {
      const g = fat32Geometry(sectors);
      if (!g) throw new Error(`no geometry for ${sectors}`);
      const tmp2 = (256 * g.sectorsPerCluster + 2) / 2;
      expect(g.fatSectors).toBe(Math.ceil((sectors - 32) / tmp2));
      expect(g.fatSectors * 128).toBeGreaterThanOrEqual(g.clusterCount + 2);
      expect(g.dataSector + g.clusterCount * g.sectorsPerCluster).toBeLessThanOrEqual(sectors);
      expect(g.clusterCount).toBeGreaterThanOrEqual(MIN_CLUSTERS);
    }
  });

  it('has no FAT32 geometry below 65525 clusters (about 32.5 MiB)', () => {
    expect(fat32Geometry((32 * MiB) / 512)).toBeUndefined();
    const smallest = layoutFat32({ files: [] }).size;
    expect(fat32Geometry(smallest / 512)?.clusterCount).toBe(MIN_CLUSTERS);
    expect(fat32Geometry(smallest / 512 - 1)).toBeUndefined();
    expect(smallest).toBeLessThanOrEqual(33 * MiB);
  });
});

describe('writeFat32 writes the structures of the spec', () => {
  const vol = new MemoryVolume(64 * MiB);
  let summary: Awaited<ReturnType<typeof writeFat32>>;
  let boot: Buffer;
  let g: Fat32Geometry;
  let reader: Fat32Reader;
  const fat = (copy: number): Buffer => vol.read((32 + copy * g.fatSectors) * 512, g.fatSectors * 512);

  beforeAll(async () => {
    summary = await writeFat32(
      options(ESP, { directories: ['/EFI/Linux', '/deep/1/2/3/4/5/6/7/8/9/10'], hiddenSectors: 2048 }),
      vol.write,
    );
    boot = vol.read(0, 512);
    const geometry = fat32Geometry(boot.readUInt32LE(32));
    if (!geometry) throw new Error('no geometry');
    g = geometry;
    reader = await readFat32(vol.read);
  });

  it('boot sector: jump, OEM name, BPB, extended signature, volume ID, label, type, 0x55AA', () => {
    expect([...boot.subarray(0, 3)]).toEqual([0xeb, 0x58, 0x90]);
    expect(boot.toString('latin1', 3, 11)).toBe('MSWIN4.1');
    expect(boot.readUInt16LE(11)).toBe(512);
    expect(boot[13]).toBe(1);
    expect(boot.readUInt16LE(14)).toBe(32);
    expect(boot[16]).toBe(2);
    expect(boot.readUInt16LE(17)).toBe(0); // RootEntCnt
    expect(boot.readUInt16LE(19)).toBe(0); // TotSec16
    expect(boot[21]).toBe(0xf8);
    expect(boot.readUInt16LE(22)).toBe(0); // FATSz16
    expect(boot.readUInt32LE(28)).toBe(2048);
    expect(boot.readUInt32LE(32)).toBe((64 * MiB) / 512);
    expect(boot.readUInt32LE(36)).toBe(g.fatSectors);
    expect(boot.readUInt16LE(40)).toBe(0);
    expect(boot.readUInt32LE(44)).toBe(2);
    expect(boot.readUInt16LE(48)).toBe(1);
    expect(boot.readUInt16LE(50)).toBe(6);
    expect(boot[66]).toBe(0x29);
    expect(boot.readUInt32LE(67)).toBe(0x1234abcd);
    expect(boot.toString('latin1', 71, 82)).toBe('BOOTFORGE  ');
    expect(boot.toString('latin1', 82, 90)).toBe('FAT32   ');
    expect(boot.readUInt16LE(510)).toBe(0xaa55);
  });

  it('FSInfo at sector 1 with signatures, free count and last allocated cluster; backups at 6 and 7', () => {
    const info = vol.read(512, 512);
    expect(info.readUInt32LE(0)).toBe(0x41615252);
    expect(info.readUInt32LE(484)).toBe(0x61417272);
    expect(info.readUInt32LE(508)).toBe(0xaa550000);
    expect(info.readUInt32LE(488)).toBe(summary.freeClusters);
    expect(info.readUInt32LE(492)).toBe(summary.usedClusters + 1); // clusters 2 .. used + 1 are taken
    expect(reader.info.freeClusters).toBe(summary.freeClusters);
    expect(vol.read(6 * 512, 3 * 512)).toEqual(vol.read(0, 3 * 512));
    expect(vol.read(2 * 512 + 510, 2).readUInt16LE(0)).toBe(0xaa55);
  });

  it('two identical FATs: media byte, clean EOC, contiguous chains ending in 0x0FFFFFFF, the rest free', async () => {
    const a = fat(0);
    expect(a.equals(fat(1))).toBe(true);
    expect(a.readUInt32LE(0)).toBe(0x0ffffff8);
    expect(a.readUInt32LE(4)).toBe(0x0fffffff);
    const entries = await reader.list();
    const chains = [{ cluster: 2, length: 0 }]; // 0: a directory, whose length the walk below finds
    for (const e of entries) {
      const length = e.type === 'dir' ? 0 : Math.ceil(e.size / 512);
      if (e.type === 'dir' || length > 0) chains.push({ cluster: e.cluster, length });
    }
    let next = 2;
    for (const c of chains.sort((x, y) => x.cluster - y.cluster)) {
      expect(c.cluster).toBe(next);
      let n = c.cluster;
      while (a.readUInt32LE(n * 4) !== 0x0fffffff) {
        expect(a.readUInt32LE(n * 4)).toBe(n + 1);
        n++;
      }
      if (c.length > 0) expect(n - c.cluster + 1).toBe(c.length);
      next = n + 1;
    }
    expect(next - 2).toBe(summary.usedClusters);
    for (let n = next; n < g.clusterCount + 2; n++)
      if (a.readUInt32LE(n * 4) !== 0) throw new Error(`FAT[${n}] not free`);
  });

  it('root: the label entry first, then children sorted by name', async () => {
    const root = vol.read((g.dataSector + 0) * 512, 64);
    expect(root.toString('latin1', 0, 11)).toBe('BOOTFORGE  ');
    expect(root[11]).toBe(0x08);
    const names = (await reader.readDir('/')).map((e) => e.name);
    expect(names).toEqual([...names].sort((x, y) => (x < y ? -1 : 1)));
    expect(reader.info.label).toBe('BOOTFORGE');
  });

  it('"." and ".." in subdirectories, ".." of a child of the root pointing to cluster 0', async () => {
    const dirEntries = async (path: string): Promise<Buffer> => {
      const e = await reader.stat(path);
      return vol.read((g.dataSector + (e?.cluster ?? 0) - 2) * 512, 64);
    };
    const efi = await reader.stat('/EFI');
    const boot = await reader.stat('/EFI/BOOT');
    const top = await dirEntries('/EFI');
    expect(top.toString('latin1', 0, 11)).toBe('.          ');
    expect(top.readUInt16LE(26)).toBe(efi?.cluster);
    expect(top.toString('latin1', 32, 43)).toBe('..         ');
    expect(top.readUInt16LE(32 + 26)).toBe(0);
    const nested = await dirEntries('/EFI/BOOT');
    expect(nested.readUInt16LE(26)).toBe(boot?.cluster);
    expect(nested.readUInt16LE(32 + 26)).toBe(efi?.cluster);
  });

  it('time stamps, attributes, sizes; empty files have cluster 0', async () => {
    const empty = await reader.stat('/empty');
    expect(empty).toMatchObject({ size: 0, cluster: 0, type: 'file', attributes: 0x20 });
    expect(empty?.mtime).toEqual(new Date('2024-05-06T07:08:08Z'));
    expect(await reader.stat('/EFI/Linux')).toMatchObject({ type: 'dir', attributes: 0x10 });
  });

  it('a 300-entry directory spans clusters; a 9 MiB file crosses thousands; everything reads back', async () => {
    const many = await reader.readDir('/many');
    expect(many).toHaveLength(300);
    expect((await reader.stat('/many'))?.cluster).toBeGreaterThan(0);
    for (const f of ESP) expect((await reader.readFile(f.path)).equals(f.data as Buffer), f.path).toBe(true);
    expect(await reader.stat('/deep/1/2/3/4/5/6/7/8/9/10')).toMatchObject({ type: 'dir' });
    expect(await reader.stat('/emoji 😀.txt')).toMatchObject({ shortName: 'EMOJI_~1.TXT' });
    expect(await reader.stat('/efi/boot/bootx64.efi')).toMatchObject({ path: '/EFI/BOOT/BOOTX64.EFI' });
  });

  it('writes in increasing order and never a free cluster', () => {
    const dataEnd = (g.dataSector + summary.usedClusters) * 512;
    expect(vol.writes.at(-1)).toBeDefined();
    const last = vol.writes.at(-1);
    expect((last?.offset ?? 0) + (last?.data.length ?? 0)).toBe(dataEnd);
  });
});

describe('determinism', () => {
  it('gives the same bytes for the same input, whatever the order of the files', async () => {
    const a = new MemoryVolume(64 * MiB);
    const b = new MemoryVolume(64 * MiB);
    await writeFat32(options(ESP), a.write);
    await writeFat32(options([...ESP].reverse()), b.write);
    expect(a.digest()).toBe(b.digest());
    const c = new MemoryVolume(64 * MiB);
    await writeFat32(options(ESP, { volumeId: 1 }), c.write);
    expect(c.digest()).not.toBe(a.digest());
  });
});

describe('a 2 GiB volume', () => {
  it('takes little time and memory: free space is never written', async () => {
    const vol = new MemoryVolume(2048 * MiB);
    const start = performance.now();
    const s = await writeFat32(options(ESP, { size: 2048 * MiB }), vol.write);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(s.bytesPerCluster).toBe(4096);
    // Reserved region + 2 FATs of 2 MiB + used clusters, nothing else.
    expect(vol.bytesWritten).toBe(32 * 512 + 2 * s.fatSectors * 512 + s.usedClusters * 4096);
    expect(vol.bytesWritten).toBeLessThan(20 * MiB);
  });
});

describe('refusals', () => {
  it('refuses a file of 4 GiB without reading it or writing anything', async () => {
    const untouched: Fat32StreamSource = {
      size: 2 ** 32,
      read() {
        throw new Error('must not be read');
      },
    };
    const vol = new MemoryVolume(64 * MiB);
    await expectCode(
      writeFat32(options([{ path: '/EFI/huge.img', data: untouched }]), vol.write),
      'BF_FAT_TOO_LARGE',
      /^FAT32 volume: "\/EFI\/huge\.img" is 4294967296 bytes; FAT32 stores files of at most 4294967295 bytes/,
    );
    expect(vol.writes).toHaveLength(0);
    // 4 GiB - 1 is allowed: the layout asks for a volume above 4 GiB.
    const layout = layoutFat32({ files: [{ path: '/EFI/huge.img', data: { ...untouched, size: 2 ** 32 - 1 } }] });
    expect(layout.size).toBeGreaterThan(2 ** 32);
    expect(layout.bytesPerCluster).toBe(4096);
  });

  it.each([
    ['/bad:name', /"\/bad:name": the name contains ":"/],
    ['/a/b?', /the name contains "\?"/],
    ['/ctl\u0001', /control character U\+0001/],
    ['/trailing.', /ends in a space or a dot/],
    ['/' + 'n'.repeat(256), /256 UTF-16 code units long, FAT allows 255/],
    ['/' + Array.from({ length: 65 }, () => 'd').join('/'), /65 levels deep, more than 64/],
    ['relative/path', /is not an absolute path/],
    ['/a//b', /an empty name/],
    ['/a/../b', /reserved for directory links/],
  ])('refuses the path %s', async (path, message) => {
    await expectCode(
      writeFat32(options([{ path, data: Buffer.from('x') }]), () => {}),
      'BF_FAT_PATH',
      message,
    );
  });

  it('refuses names equal without case, a file that is also a directory, and a file listed twice', async () => {
    const x = Buffer.from('x');
    await expectCode(
      writeFat32(
        options([
          { path: '/EFI/a', data: x },
          { path: '/efi/b', data: x },
        ]),
        () => {},
      ),
      'BF_FAT_PATH',
      /"\/efi" and "\/EFI" differ only in case/,
    );
    await expectCode(
      writeFat32(
        options([
          { path: '/a', data: x },
          { path: '/a/b', data: x },
        ]),
        () => {},
      ),
      'BF_FAT_PATH',
      /"\/a" is a file and also the parent/,
    );
    await expectCode(
      writeFat32(options([{ path: '/a', data: x }], { directories: ['/a'] }), () => {}),
      'BF_FAT_PATH',
      /"\/a" is a file and also a directory/,
    );
    await expectCode(
      writeFat32(
        options([
          { path: '/a', data: x },
          { path: '/a', data: x },
        ]),
        () => {},
      ),
      'BF_FAT_PATH',
      /listed twice/,
    );
  });

  it('refuses a volume under 65525 clusters, a size not in sectors, a bad label', async () => {
    await expectCode(
      writeFat32(options([], { size: 32 * MiB }), () => {}),
      'BF_FAT_TOO_SMALL',
      /fewer than 65525 clusters.*needs 34\d{6} bytes at least/,
    );
    await expectCode(
      writeFat32(options([], { size: 64 * MiB + 1 }), () => {}),
      'BF_INVALID_VALUE',
      /multiple of 512/,
    );
    await expectCode(
      writeFat32(options([], { label: 'lower' }), () => {}),
      'BF_INVALID_VALUE',
      /not a FAT label/,
    );
    await expectCode(
      writeFat32(options([], { label: 'TWELVE CHARS' }), () => {}),
      'BF_INVALID_VALUE',
    );
  });

  it('refuses contents that do not fit, and names a size that does', async () => {
    await expectCode(
      writeFat32(options([{ path: '/big', data: zeroSource(40 * MiB) }], { size: 40 * MiB }), () => {}),
      'BF_FAT_FULL',
      /need 81921 clusters of 512 bytes, the volume of 41943040 bytes has 8\d{4}; a volume of \d+ bytes \(4\d\.0 MiB\) holds them/,
    );
  });

  it('stops a source that gives more or less than it declared, before writing past the file', async () => {
    const liar = (declared: number, actual: number): Fat32StreamSource => ({
      size: declared,
      read: () => zeroSource(actual, Buffer.alloc(600)).read(),
    });
    const vol = new MemoryVolume(64 * MiB);
    await expectCode(
      writeFat32(options([{ path: '/long', data: liar(1000, 5000) }]), vol.write),
      'BF_IO',
      /^FAT32 volume: "\/long": the source gives more than its declared 1000 bytes$/,
    );
    // The root takes cluster 2, the file starts at cluster 3: its first 600 bytes went out, the next 600 did not.
    const g = fat32Geometry((64 * MiB) / 512);
    const fileStart = ((g?.dataSector ?? 0) + 1) * 512;
    const last = vol.writes.at(-1);
    expect(last?.offset).toBe(fileStart);
    expect(last?.data.length).toBe(600);
    await expectCode(
      writeFat32(options([{ path: '/short', data: liar(5000, 1000) }]), () => {}),
      'BF_IO',
      /the source gave 1000 bytes, 5000 were declared/,
    );
    const failing: Fat32StreamSource = {
      size: 10,
      read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('disk on fire')) }) }),
    };
    await expectCode(
      writeFat32(options([{ path: '/f', data: failing }]), () => {}),
      'BF_IO',
      /reading "\/f" failed: Error: disk on fire/,
    );
  });
});

describe('layoutFat32', () => {
  const fitsIn = async (files: Fat32File[], size: number): Promise<boolean> => {
    try {
      await writeFat32(options(files, { size }), () => {});
      return true;
    } catch (e) {
      if (e instanceof BootforgeError && (e.code === 'BF_FAT_FULL' || e.code === 'BF_FAT_TOO_SMALL')) return false;
      throw e;
    }
  };

  it.each([
    ['an empty volume', [] as Fat32File[]],
    ['the ESP', ESP],
    ['a 40 MiB file', [{ path: '/a', data: zeroSource(40 * MiB) }]],
    ['300 MiB (4 KiB clusters)', [{ path: '/a', data: zeroSource(300 * MiB) }, ...ESP]],
  ])('gives the smallest size that fits, for %s: one cluster less does not', async (_what, files) => {
    const layout = layoutFat32({ files, label: 'BOOTFORGE' });
    expect(await fitsIn(files, layout.size)).toBe(true);
    expect(await fitsIn(files, layout.size - layout.bytesPerCluster)).toBe(false);
    expect(await fitsIn(files, layout.size - 512)).toBe(false);
  });

  it('aligns and honours a lower bound', async () => {
    const layout = layoutFat32({ files: ESP, label: 'BOOTFORGE' }, { align: MiB, atLeast: 100 * MiB });
    expect(layout.size % MiB).toBe(0);
    expect(layout.size).toBe(100 * MiB);
    const tight = layoutFat32({ files: [{ path: '/a', data: zeroSource(50 * MiB) }] }, { align: MiB });
    expect(await fitsIn([{ path: '/a', data: zeroSource(50 * MiB) }], tight.size)).toBe(true);
    expect(await fitsIn([{ path: '/a', data: zeroSource(50 * MiB) }], tight.size - MiB)).toBe(false);
  });

  it('steps over sizes where a larger cluster makes small files need more room', async () => {
    // 70000 one-byte files: 70000 clusters of 512 B fit in ~40 MiB, but not in 261 MiB of 4 KiB clusters.
    const x = Buffer.from('x');
    const files = Array.from({ length: 70_000 }, (_, i) => ({ path: `/d${Math.floor(i / 35_000)}/F${i}`, data: x }));
    const small = layoutFat32({ files });
    expect(small.bytesPerCluster).toBe(512);
    expect(small.size).toBeLessThan(40 * MiB);
    expect(await fitsIn(files, 261 * MiB)).toBe(false);
    const big = layoutFat32({ files }, { atLeast: 261 * MiB, align: MiB });
    expect(big.bytesPerCluster).toBe(4096);
    expect(big.size).toBeGreaterThan(273 * MiB);
    expect(await fitsIn(files, big.size)).toBe(true);
  });
});

describe('readFat32', () => {
  it('refuses what is not a FAT32 volume', async () => {
    const zeros = (_o: number, l: number): Buffer => Buffer.alloc(l);
    await expectCode(readFat32(zeros), 'BF_FAT_INVALID', /lacks the 0x55AA signature/);
  });

  it('refuses a cluster chain that loops', async () => {
    const vol = new MemoryVolume(64 * MiB);
    await writeFat32(options([{ path: '/f', data: pattern(2048, 9) }]), vol.write);
    const reader = await readFat32(vol.read);
    const f = await reader.stat('/f');
    const cluster = f?.cluster ?? 0;
    // Point the file's last cluster back at its first, in both FATs.
    const g = fat32Geometry((64 * MiB) / 512);
    for (const copy of [0, 1]) {
      const at = (32 + copy * (g?.fatSectors ?? 0)) * 512 + (cluster + 3) * 4;
      const b = Buffer.alloc(4);
      b.writeUInt32LE(cluster);
      vol.writes.push({ offset: at, data: b });
    }
    await expectCode((await readFat32(vol.read)).readFile('/f'), 'BF_FAT_INVALID', /loops/);
  });
});
