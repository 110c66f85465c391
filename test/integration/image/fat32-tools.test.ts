import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/exec/run.js';
import {
  readFat32,
  writeFat32,
  type Fat32File,
  type Fat32Options,
  type Fat32StreamSource,
} from '../../../src/image/fat32.js';

// Volumes written by bootforge, read back by the real tools: fsck.fat (dosfstools) and
// mtools. Each volume is a plain sparse file; nothing is mounted.

const MiB = 2 ** 20;
const UTF8 = { LC_ALL: 'C.UTF-8' };
const VOLUME_ID = 0x1234abcd;

/** Deterministic bytes that differ in every 512-byte block, so a misplaced cluster shows. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(Math.ceil(size / 4) * 4);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b.subarray(0, size);
}

/** Streams `data` in odd-sized pieces (not cluster multiples), as a package blob would arrive. */
function streamed(data: Buffer): Fat32StreamSource {
  return {
    size: data.length,
    async *read() {
      for (let at = 0; at < data.length; at += 100_003) {
        await Promise.resolve();
        yield data.subarray(at, at + 100_003);
      }
    },
  };
}

const files: Fat32File[] = [];
const contents = new Map<string, Buffer>();
const add = (path: string, data: Buffer, stream = false): void => {
  files.push({ path, data: stream ? streamed(data) : data });
  contents.set(path, data);
};
// An ESP: exact 8.3 names, the way firmware looks them up, and systemd-boot entries.
add('/EFI/BOOT/BOOTX64.EFI', pattern(200_000, 1));
add('/EFI/debian/shimx64.efi', pattern(950_000, 2));
add('/EFI/debian/grubx64.efi', pattern(2_500_000, 3));
add('/loader/loader.conf', Buffer.from('timeout 3\ndefault debian-*\n'));
for (const v of ['6.1.0-17', '6.1.0-18', '6.1.0-21'])
  add(`/loader/entries/debian-${v}-amd64.conf`, Buffer.from(`title Debian\nversion ${v}\nlinux /vmlinuz-${v}\n`));
add('/loader/entries/memtest86+.conf', Buffer.from('title memtest86+\nefi /memtest.efi\n'));
// Awkward names.
add('/Überprüfung – ü.txt', Buffer.from('umlauts and an en dash\n'));
add('/中文目录/日本語のファイル名.txt', Buffer.from('CJK\n'));
add('/emoji 😀 dir/🎉 party.txt', Buffer.from('surrogate pairs\n'));
for (let i = 1; i <= 30; i++) add(`/same/verylongname-${String(i).padStart(2, '0')}.conf`, Buffer.from(`#${i}\n`));
add(
  `/deep/${Array.from({ length: 10 }, (_, i) => `level-${String(i + 1).padStart(2, '0')}`).join('/')}/leaf.txt`,
  Buffer.from('10 levels down\n'),
);
add('/empty', Buffer.alloc(0));
add('/EFI/empty.txt', Buffer.alloc(0));
add('/big/nine-mebibytes.bin', pattern(9 * MiB + 17, 4), true);
for (let i = 0; i < 300; i++)
  add(`/many/entry ${String(i).padStart(3, '0')} with a long name.txt`, Buffer.from(`${i}\n`));
add('/README.TXT', Buffer.from('exactly 8.3\n'));
add('/NOEXT', Buffer.from('8.3 without extension\n'));
add('/A.B', Buffer.from('short\n'));
add('/lower.txt', Buffer.from('lower-case 8.3\n'));
add('/MiXeD.Txt', Buffer.from('mixed case 8.3\n'));
add('/a.b.c.txt', Buffer.from('dots\n'));
add('/ lead', Buffer.from('leading space\n'));
add('/name with  two spaces.txt', Buffer.from('spaces\n'));
add('/.hidden', Buffer.from('leading dot\n'));
add('/x+y=z[1];(2),3.txt', Buffer.from('characters a short name cannot hold\n'));
add('/thirteen-char', Buffer.from('fills one long-name entry exactly\n'));
add('/twenty-six-characters-abc', Buffer.from('fills two\n'));
add(`/${'n'.repeat(251)}.txt`, Buffer.from('255 code units\n'));
const directories = ['/empty-dir', '/EFI/Linux'];

const bufferOf = (f: Fat32File): Buffer => contents.get(f.path) ?? Buffer.alloc(0);

/** mtools 4.0.32 decodes long names as UCS-2: each half of a surrogate pair shows as "_". */
const asMtoolsShows = (path: string): string => path.replace(/[\u{10000}-\u{10ffff}]/gu, '__');
const hasAstral = (s: string): boolean => /[\u{10000}-\u{10ffff}]/u.test(s);

/** Every directory path the files and the explicit directories imply. */
function expectedDirs(): string[] {
  const dirs = new Set<string>(directories);
  for (const f of files) {
    const parts = f.path.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add('/' + parts.slice(0, i).join('/'));
  }
  return [...dirs];
}

// fsck.fat -v prints these lines for a clean volume; anything else is a finding.
const FSCK_CLEAN = [
  /^fsck\.fat \d/,
  /^Checking we can access the last sector of the filesystem$/,
  /^Boot sector contents:$/,
  /^System ID "MSWIN4\.1"$/,
  /^Media byte 0xf8 \(hard disk\)$/,
  /^\s*512 bytes per logical sector$/,
  /^\s*\d+ bytes per cluster$/,
  /^\s*32 reserved sectors$/,
  /^First FAT starts at byte 16384 \(sector 32\)$/,
  /^\s*2 FATs, 32 bit entries$/,
  /^\s*\d+ bytes per FAT \(= \d+ sectors\)$/,
  /^Root directory start at cluster 2 \(arbitrary size\)$/,
  /^Data area starts at byte \d+ \(sector \d+\)$/,
  /^\s*\d+ data clusters \(\d+ bytes\)$/,
  /^\d+ sectors\/track, \d+ heads$/,
  /^\s*\d+ hidden sectors$/,
  /^\s*\d+ sectors total$/,
  /^Checking for unused clusters\.$/,
  /^Checking free cluster summary\.$/,
  /^.+: \d+ files, \d+\/\d+ clusters$/,
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'bf-fat32-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function buildVolume(
  path: string,
  size: number,
): Promise<{ ms: number; summary: Awaited<ReturnType<typeof writeFat32>> }> {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    const options: Fat32Options = {
      size,
      label: 'BOOTFORGE',
      volumeId: VOLUME_ID,
      timestamp: new Date('2024-05-06T07:08:09Z'),
      hiddenSectors: 2048,
      files,
      directories,
    };
    const start = performance.now();
    const summary = await writeFat32(options, (offset, data) => {
      writeSync(fd, data, 0, data.length, offset);
    });
    return { ms: performance.now() - start, summary };
  } finally {
    closeSync(fd);
  }
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

// `copy`: which files to read back one mcopy process each ("all" but most of /many, or the ESP files).
const SIZES: readonly (readonly [mib: number, clusterBytes: number, copy: 'all' | 'esp'])[] = [
  [33, 512, 'esp'],
  [64, 512, 'all'],
  [260, 512, 'esp'],
  [512, 4096, 'esp'],
  [1024, 4096, 'esp'],
  [2048, 4096, 'all'],
];

describe.each(SIZES)('a %i MiB volume', (mib, clusterBytes, copy) => {
  const size = mib * MiB;
  let image: string;
  let built: Awaited<ReturnType<typeof buildVolume>>;

  beforeAll(async () => {
    image = join(work, `vol-${mib}.img`);
    built = await buildVolume(image, size);
  }, 60_000);

  it('is written quickly and sparsely: nothing for free space', () => {
    expect(built.summary.bytesPerCluster).toBe(clusterBytes);
    expect(built.ms).toBeLessThan(10_000);
    const st = statSync(image);
    expect(st.size).toBe(size);
    // Reserved sectors, two FATs and the used clusters; file systems allocate in blocks of a few KiB.
    const written = 32 * 512 + 2 * built.summary.fatSectors * 512 + built.summary.usedClusters * clusterBytes;
    expect(st.blocks * 512).toBeLessThan(written + 4 * MiB);
  });

  it('passes fsck.fat -n -v with no findings, with the expected geometry', async () => {
    const r = await run(['fsck.fat', '-n', '-v', image], { timeoutMs: 60_000 });
    const out = r.stdout.toString('utf8');
    const findings = out.split('\n').filter((l) => l !== '' && !FSCK_CLEAN.some((re) => re.test(l)));
    expect(findings).toEqual([]);
    expect(r.stderr).toBe('');
    expect(out).toMatch(new RegExp(`^\\s*${clusterBytes} bytes per cluster$`, 'm'));
    expect(out).toMatch(new RegExp(`^\\s*${built.summary.clusterCount} data clusters`, 'm'));
    expect(out).toMatch(/^\s*2048 hidden sectors$/m);
    expect(out).toMatch(
      new RegExp(`: \\d+ files, ${built.summary.usedClusters}/${built.summary.clusterCount} clusters$`, 'm'),
    );
  });

  it('agrees with minfo on geometry, serial number, label and FSInfo', async () => {
    const out = (await run(['minfo', '-i', image, '::'])).stdout.toString('utf8');
    const s = built.summary;
    for (const line of [
      'sector size: 512 bytes',
      `cluster size: ${clusterBytes / 512} sectors`,
      'reserved (boot) sectors: 32',
      'fats: 2',
      'max available root directory slots: 0',
      'media descriptor byte: 0xf8',
      'hidden sectors: 2048',
      `big size: ${size / 512} sectors`,
      'dos4=0x29',
      'serial number: 1234ABCD',
      'disk label="BOOTFORGE  "',
      'disk type="FAT32   "',
      `Big fatlen=${s.fatSectors}`,
      'rootCluster=2',
      'infoSector location=1',
      'backup boot sector=6',
      'signature=0x41615252',
      `free clusters=${s.freeClusters}`,
      `last allocated cluster=${s.usedClusters + 1}`,
    ])
      expect(out.split('\n')).toContain(line);
  });

  it('lists every file and directory with mdir -/, and shows label and serial', async () => {
    const bare = (await run(['mdir', '-/', '-b', '-i', image, '::'], { env: UTF8 })).stdout.toString('utf8');
    const listed = bare
      .split('\n')
      .filter((l) => l.startsWith('::/'))
      .map((l) => l.slice(2));
    const expected = [...files.map((f) => f.path), ...expectedDirs().map((d) => `${d}/`)].map(asMtoolsShows);
    expect(listed.map(asMtoolsShows).sort()).toEqual(expected.sort());
    const full = (await run(['mdir', '-/', '-i', image, '::'], { env: UTF8 })).stdout.toString('utf8');
    const total = /Total files listed:\n\s*\d+ files\s+([\d ]+) bytes/.exec(full)?.[1]?.replace(/ /g, '');
    expect(Number(total)).toBe([...contents.values()].reduce((n, b) => n + b.length, 0));
    const long = (await run(['mdir', '-i', image, '::'], { env: UTF8 })).stdout.toString('utf8');
    expect(long).toContain('Volume in drive : is BOOTFORGE');
    expect(long).toContain('Volume Serial Number is 1234-ABCD');
    expect(long).toMatch(/^README +TXT +12 2024-05-06 +7:08 *$/m); // exact 8.3: no long name
    expect(long).toMatch(/^LOWER +TXT +15 2024-05-06 +7:08 +lower\.txt$/m);
    expect(long).toMatch(/^A~1 +TXT +5 2024-05-06 +7:08 +a\.b\.c\.txt$/m);
    const same = (await run(['mdir', '-i', image, '::/same'], { env: UTF8 })).stdout.toString('utf8');
    expect(same).toMatch(/^VERYLO~1 CON +3 .* verylongname-01\.conf$/m);
    expect(same).toMatch(/^VERYLO~9 CON +3 .* verylongname-09\.conf$/m);
    expect(same).toMatch(/^VERYL~10 CON +4 .* verylongname-10\.conf$/m);
    expect(same).toMatch(/^VERYL~30 CON +4 .* verylongname-30\.conf$/m);
  });

  it('gives every file back byte-identical through mcopy -s', async () => {
    const out = join(work, `out-${mib}`);
    mkdirSync(out);
    await run(['mcopy', '-s', '-n', '-i', image, '::/*', out + '/'], { env: UTF8, timeoutMs: 60_000 });
    const copied = new Map<string, string>();
    const walk = (dir: string, rel: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = `${rel}/${e.name}`;
        if (e.isDirectory()) walk(join(dir, e.name), p);
        else copied.set(asMtoolsShows(p), join(dir, e.name));
      }
    };
    walk(out, '');
    expect([...copied.keys()].sort()).toEqual(files.map((f) => asMtoolsShows(f.path)).sort());
    for (const f of files) {
      const got = readFileSync(copied.get(asMtoolsShows(f.path)) ?? '/nonexistent');
      expect(got.equals(bufferOf(f)), f.path).toBe(true);
    }
    rmSync(out, { recursive: true, force: true });
  }, 60_000);

  it(`gives ${copy === 'all' ? 'every file' : 'the ESP files'} back byte-identical through mcopy ::/path -`, async () => {
    // mtools 4.0.32 matches long names as UCS-2 and reads "[" "]" as wildcards: such names go by their short names.
    const fd = openSync(image, 'r');
    const reader = await readFat32((offset, length) => {
      const b = Buffer.alloc(length);
      return b.subarray(0, readSync(fd, b, 0, length, offset));
    });
    const toolPath = new Map<string, string>([['', '']]);
    for (const e of await reader.list()) {
      const parent = e.path.slice(0, e.path.lastIndexOf('/'));
      toolPath.set(
        e.path,
        `${toolPath.get(parent) ?? '?'}/${hasAstral(e.name) || /[[\]]/.test(e.name) ? e.shortName : e.name}`,
      );
    }
    closeSync(fd);
    // One process per file: all but every 10th of the 300 in /many, or only the ESP's files
    // (mcopy -s above reads back every file of every volume).
    const chosen =
      copy === 'all'
        ? files.filter((f) => !f.path.startsWith('/many/') || f.path.endsWith('0 with a long name.txt'))
        : files.filter((f) => f.path.startsWith('/EFI/') || f.path.startsWith('/loader/'));
    await inParallel(chosen, 4, async (f) => {
      const r = await run(['mcopy', '-i', image, `::${toolPath.get(f.path) ?? f.path}`, '-'], { env: UTF8 });
      expect(r.stdout.equals(bufferOf(f)), f.path).toBe(true);
    });
  }, 60_000);

  it('reads back with readFat32: the same tree and contents', async () => {
    const fd = openSync(image, 'r');
    try {
      const reader = await readFat32((offset, length) => {
        const b = Buffer.alloc(length);
        return b.subarray(0, readSync(fd, b, 0, length, offset));
      });
      expect(reader.info).toMatchObject({ label: 'BOOTFORGE', volumeId: VOLUME_ID, bytesPerCluster: clusterBytes });
      const entries = await reader.list();
      expect(
        entries
          .filter((e) => e.type === 'file')
          .map((e) => e.path)
          .sort(),
      ).toEqual(files.map((f) => f.path).sort());
      expect(
        entries
          .filter((e) => e.type === 'dir')
          .map((e) => e.path)
          .sort(),
      ).toEqual(expectedDirs().sort());
      for (const f of files) expect((await reader.readFile(f.path)).equals(bufferOf(f)), f.path).toBe(true);
    } finally {
      closeSync(fd);
    }
  });
});
