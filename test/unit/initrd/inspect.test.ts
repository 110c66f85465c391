import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import type { TreeEntry } from '../../../src/fstree/types.js';
import { gzip, zstd } from '../../../src/initrd/compress.js';
import { generatedFile, planCpio, writeCpio } from '../../../src/initrd/cpio.js';
import { runCli } from '../../helpers/cli.js';
import { inspectInitrd, inspectInitrdFile } from '../../../src/initrd/inspect.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-inspect-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MTIME = 1_600_000_000;

function archiveOf(
  files: Record<string, string>,
  extra: TreeEntry[] = [],
): { entries: TreeEntry[]; contents: Map<string, Buffer> } {
  const contents = new Map<string, Buffer>();
  const entries: TreeEntry[] = [...extra];
  for (const [path, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    contents.set(path, data);
    entries.push(generatedFile(path, data, { mode: path.includes('bin') ? 0o755 : 0o644 }));
  }
  return { entries, contents };
}

async function cpioOf(files: Record<string, string>, extra: TreeEntry[] = []): Promise<Buffer> {
  const { entries, contents } = archiveOf(files, extra);
  return writeCpio(entries, contents, { mtime: MTIME });
}

async function failure(data: Buffer): Promise<BootforgeError> {
  try {
    await inspectInitrd(data);
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  throw new Error('expected inspectInitrd to fail');
}

const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

describe('inspectInitrd', () => {
  it('returns every record of an archive as written', async () => {
    const extra: TreeEntry[] = [
      { type: 'symlink', path: '/bin', target: 'usr/bin', mode: 0o777, uid: 0, gid: 0, mtime: 0 },
      { type: 'chardev', path: '/dev/console', major: 5, minor: 1, mode: 0o600, uid: 0, gid: 0, mtime: 0 },
      { type: 'hardlink', path: '/usr/bin/b', target: '/usr/bin/a', mode: 0o755, uid: 0, gid: 0, mtime: 0 },
    ];
    const { entries, contents } = archiveOf({ '/usr/bin/a': 'aaa', '/etc/motd': 'hi\n' }, extra);
    const archive = await writeCpio(entries, contents, { mtime: MTIME });
    const info = await inspectInitrd(archive);
    expect(info.size).toBe(archive.length);
    expect(info.segments).toHaveLength(1);
    const [segment] = info.segments;
    expect(segment).toMatchObject({ offset: 0, compression: 'none' });
    expect(segment?.entries).toEqual(
      planCpio(entries).map((r) => ({
        name: r.name,
        mode: r.mode,
        uid: r.uid,
        gid: r.gid,
        size: r.size,
        mtime: MTIME,
        nlink: r.nlink,
        ino: r.ino,
        rdevmajor: r.rdevmajor,
        rdevminor: r.rdevminor,
        ...(r.target !== undefined ? { linkTarget: r.target } : {}),
      })),
    );
  });

  it('reads archives GNU cpio writes, and gzip from the gzip CLI (with a file name in its header)', async () => {
    const tree = join(work, 'gnu');
    mkdirSync(join(tree, 'usr/bin'), { recursive: true });
    writeFileSync(join(tree, 'usr/bin/tool'), 'tool\n');
    symlinkSync('tool', join(tree, 'usr/bin/link'));
    const names = ['.', 'usr', 'usr/bin', 'usr/bin/link', 'usr/bin/tool'];
    const archive = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], {
      cwd: tree,
      input: `${names.join('\n')}\n`,
    });
    writeFileSync(join(work, 'gnu.cpio'), archive);
    const gz = execFileSync('gzip', ['-c', '-9', join(work, 'gnu.cpio')]);
    expect(gz[3]! & 0x08).toBe(0x08); // FNAME set
    const info = await inspectInitrd(Buffer.concat([archive, gz]));
    expect(info.segments.map((s) => s.compression)).toEqual(['none', 'gzip']);
    for (const s of info.segments) expect(s.entries.map((e) => e.name)).toEqual(names);
    expect(info.segments[1]?.entries.find((e) => e.name === 'usr/bin/link')?.linkTarget).toBe('tool');
  });

  it('splits none + gzip + zstd + xz segments with zero padding between them', async () => {
    const early = await cpioOf({ '/kernel/x86/microcode/GenuineIntel.bin': 'ucode' });
    const main = await cpioOf({ '/init': '#!/bin/sh\n', '/etc/a': 'a' });
    const mods = await cpioOf({ '/usr/lib/modules/x.ko': 'ko'.repeat(1000) });
    const fw = await cpioOf({ '/usr/lib/firmware/fw.bin': 'fw' });
    const gz = await gzip(main);
    const zst = await zstd(mods, 19);
    const xz = execFileSync('xz', ['--check=crc32', '--lzma2=dict=1MiB', '-c'], { input: fw });
    const parts = [early, pad4(gz), Buffer.alloc(512), pad4(zst), pad4(xz)];
    const info = await inspectInitrd(Buffer.concat(parts));
    // A plain segment ends with its trailer record; the zeros after it (to 512) belong to no segment.
    const plainEnd = Math.ceil((early.lastIndexOf(Buffer.from('TRAILER!!!\0')) + 11) / 4) * 4;
    expect(early.subarray(plainEnd).every((b) => b === 0)).toBe(true);
    expect(info.segments.map((s) => [s.compression, s.offset, s.compressedSize, s.uncompressedSize])).toEqual([
      ['none', 0, plainEnd, plainEnd],
      ['gzip', early.length, gz.length, main.length],
      ['zstd', early.length + pad4(gz).length + 512, zst.length, mods.length],
      ['xz', early.length + pad4(gz).length + 512 + pad4(zst).length, xz.length, fw.length],
    ]);
    expect(info.segments.map((s) => s.entries.map((e) => e.name))).toEqual([
      ['.', 'kernel', 'kernel/x86', 'kernel/x86/microcode', 'kernel/x86/microcode/GenuineIntel.bin'],
      ['.', 'etc', 'etc/a', 'init'],
      ['.', 'usr', 'usr/lib', 'usr/lib/modules', 'usr/lib/modules/x.ko'],
      ['.', 'usr', 'usr/lib', 'usr/lib/firmware', 'usr/lib/firmware/fw.bin'],
    ]);
  });

  it('keeps two gzip members apart (zlib alone would read them as one stream)', async () => {
    const a = await gzip(await cpioOf({ '/a': 'a' }));
    const b = await gzip(await cpioOf({ '/b': 'b' }));
    const info = await inspectInitrd(Buffer.concat([a, b]));
    expect(info.segments.map((s) => s.entries.at(-1)?.name)).toEqual(['a', 'b']);
  });

  it('reads several archives inside one compressed stream, as the kernel does', async () => {
    const two = Buffer.concat([await cpioOf({ '/a': 'a' }), await cpioOf({ '/b': 'b' })]);
    const info = await inspectInitrd(await zstd(two));
    expect(info.segments).toHaveLength(1);
    expect(info.segments[0]?.entries.map((e) => e.name)).toEqual(['.', 'a', '.', 'b']);
  });

  it('reads a file', async () => {
    const path = join(work, 'initrd.img');
    writeFileSync(path, await cpioOf({ '/init': 'x' }));
    expect((await inspectInitrdFile(path)).segments[0]?.entries.map((e) => e.name)).toEqual(['.', 'init']);
    await expect(inspectInitrdFile(join(work, 'absent'))).rejects.toMatchObject({ code: 'BF_FILE_NOT_FOUND' });
  });
});

describe('inspectInitrd refuses what the kernel would refuse', () => {
  it('a plain archive off a 4-byte boundary', async () => {
    const gz = await gzip(await cpioOf({ '/a': 'a' }));
    const misaligned = gz.length % 4 === 0 ? Buffer.concat([gz, Buffer.from([0, 0])]) : gz;
    const offset = misaligned.length + (misaligned.length % 4 === 0 ? 1 : 0);
    const data = Buffer.concat([misaligned, Buffer.alloc(offset - misaligned.length), await cpioOf({ '/b': 'b' })]);
    const e = await failure(data);
    expect(e.code).toBe('BF_INITRD_FORMAT');
    expect(e.message).toBe(
      `a plain cpio archive starts at offset ${offset}, which is not 4-byte aligned (the kernel: "broken padding")`,
    );
  });

  it('odc archives', async () => {
    const odc = execFileSync('cpio', ['-o', '-H', 'odc', '--quiet'], { cwd: work, input: '.\n' });
    expect((await failure(odc)).message).toBe(
      'offset 0: the cpio header at 0 is odc (070707); the kernel reads only newc (070701)',
    );
  });

  it('a truncated archive, a truncated or corrupt compressed stream', async () => {
    const archive = await cpioOf({ '/a': 'x'.repeat(1000) });
    expect((await failure(archive.subarray(0, 600))).message).toMatch(/is truncated/);
    const gz = await gzip(archive);
    expect((await failure(gz.subarray(0, gz.length - 5))).message).toMatch(/^the gzip segment at offset 0 /);
    const zst = await zstd(archive);
    expect((await failure(zst.subarray(0, zst.length - 2))).message).toBe('the zstd frame at offset 0 is truncated');
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 8]! ^= 0xff; // the CRC-32
    expect((await failure(corrupt)).message).toBe(
      'the gzip segment at offset 0 fails its CRC-32 or length check: the data is corrupt',
    );
  });

  it('a compressed stream that does not end at a cpio trailer', async () => {
    const archive = await cpioOf({ '/a': 'a' });
    const cut = archive.subarray(0, archive.indexOf(Buffer.from('TRAILER!!!')) - 110);
    expect((await failure(await zstd(cut))).message).toMatch(
      /^the zstd segment at offset 0, byte \d+ of its content: the cpio header at \d+ is truncated \(the archive has no trailer\)$/,
    );
    expect((await failure(await zstd(Buffer.concat([archive, Buffer.from('junk')])))).message).toMatch(
      /holds junk at byte \d+ of its content \(the kernel: "junk in compressed archive"\)$/,
    );
  });

  it('compressions it does not read, and junk', async () => {
    const bz = execFileSync('bzip2', ['-c'], { input: Buffer.from('x') });
    expect((await failure(bz)).message).toBe(
      'a bzip2-compressed segment at offset 0: bootforge reads gzip, zstd and xz segments only',
    );
    expect((await failure(Buffer.from('hello world!'))).message).toBe(
      'junk at offset 0 (bytes 68656c6c6f20776f): neither a cpio archive nor a known compression',
    );
  });
});

/** One newc record as a hostile writer may make it: any name size, any file size, the data given. */
function newc(name: string, o: { mode?: number; namesize?: number; data?: Buffer; size?: number } = {}): Buffer {
  const data = o.data ?? Buffer.alloc(0);
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  const fields = [
    1,
    o.mode ?? 0o100644,
    0,
    0,
    1,
    0,
    o.size ?? data.length,
    0,
    0,
    0,
    0,
    o.namesize ?? Buffer.byteLength(name) + 1,
    0,
  ];
  const head = pad4(
    Buffer.concat([Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1'), Buffer.from(`${name}\0`)]),
  );
  return Buffer.concat([head, pad4(data)]);
}

const trailer = (): Buffer => newc('TRAILER!!!');

describe('inspectInitrd bounds what a hostile initrd makes it do', () => {
  it('reads a compressed segment of 130000 entries (a spread of them overflowed the stack)', async () => {
    const records = Array.from({ length: 130_000 }, (_, i) => newc(`f${i}`));
    const info = await inspectInitrd(gzipSync(Buffer.concat([...records, trailer()]), { level: 1 }));
    expect(info.segments[0]?.entries).toHaveLength(130_000);
    expect(info.segments[0]?.entries.at(-1)?.name).toBe('f129999');
  });

  it('refuses names and link targets longer than the kernel accepts (PATH_MAX)', async () => {
    const long = await failure(Buffer.concat([newc('a'.repeat(5000)), trailer()]));
    expect(long.message).toBe(
      'offset 0: the cpio header at 0 has a name that is empty, longer than 4096 bytes, truncated or not NUL-terminated',
    );
    const link = newc('l', { mode: 0o120777, data: Buffer.alloc(5000, 0x61) });
    expect((await failure(Buffer.concat([link, trailer()]))).message).toBe(
      'offset 0: the cpio header at 0 ("l") is a symbolic link longer than 4096 bytes',
    );
  });

  it('refuses a huge name size without allocating it', async () => {
    const e = await failure(await zstd(Buffer.concat([newc('a', { namesize: 0xffffffff }), trailer()])));
    expect(e.message).toMatch(/has a name that is empty, longer than 4096 bytes/);
  });

  it('stops gzip, zstd and xz segments that together expand past the bound', async () => {
    // A valid archive of one file of 1000 KiB of zeros: 9 copies expand past a bound of 8 MiB; each alone does not.
    const limits = { expandedBytes: 8 * 1024 * 1024, entries: 100 };
    const archive = Buffer.concat([newc('zeros', { size: 1000 * 1024 }), Buffer.alloc(1000 * 1024), trailer()]);
    const segments = {
      gzip: gzipSync(archive),
      zstd: await zstd(archive),
      xz: execFileSync('xz', ['--check=crc32', '-c'], { input: archive }),
    };
    for (const [name, segment] of Object.entries(segments)) {
      const nine = Buffer.concat(Array.from({ length: 9 }, () => pad4(segment)));
      const e = await inspectInitrd(nine, limits).catch((err: unknown) => err);
      expect(e, name).toBeInstanceOf(BootforgeError);
      expect((e as BootforgeError).code).toBe('BF_EXPANDS_TOO_FAR');
      expect((e as BootforgeError).message).toMatch(
        new RegExp(`^the initrd: the ${name} segment at offset \\d+ expands past 8 MiB$`),
      );
      expect((await inspectInitrd(nine.subarray(0, 8 * pad4(segment).length), limits)).segments).toHaveLength(8);
    }
  });

  it('stops at the bound on entries', async () => {
    const records = Array.from({ length: 101 }, (_, i) => newc(`f${i}`));
    const limits = { expandedBytes: 1024, entries: 100 };
    await expect(inspectInitrd(Buffer.concat([...records, trailer()]), limits)).rejects.toThrow(
      /: the initrd holds more than 100 entries, more than bootforge reads$/,
    );
  });

  it('refuses a zstd frame whose blocks expand past the bound before decompressing it', async () => {
    const bomb = execFileSync('sh', ['-c', 'head -c 1100M /dev/zero | zstd -q -3 -c'], { maxBuffer: 1024 * 1024 });
    const e = await failure(bomb);
    expect(e.code).toBe('BF_EXPANDS_TOO_FAR');
    expect(e.message).toBe('the initrd: the zstd segment at offset 0 expands past 1 GiB');
  }, 60_000);
});

describe('inspectInitrd streams large zstd frames', () => {
  it('reads a frame that may expand past 64 MiB through the streaming decoder, in bounded memory', async () => {
    // One 80 MiB file: too large for the one-piece native decoder, so the streaming path reads it.
    const big = Buffer.alloc(80 * 1024 * 1024, 0x61);
    const archive = await writeCpio([generatedFile('/big', big, { mode: 0o644 })], new Map([['/big', big]]), {
      mtime: MTIME,
    });
    const segment = await zstd(archive, 3);
    const before = process.memoryUsage().rss;
    const info = await inspectInitrd(segment);
    expect(info.segments[0]?.compression).toBe('zstd');
    expect(info.segments[0]?.uncompressedSize).toBe(archive.length);
    expect(info.segments[0]?.entries.find((e) => e.name.endsWith('big'))?.size).toBe(big.length);
    // The native decoder would hold the 80 MiB output at once, beside its input.
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});

describe('bootforge inspect of an initrd', () => {
  it('escapes control characters in names and link targets before printing them', async () => {
    const path = join(work, 'names.img');
    const link = newc('l\u202e', { mode: 0o120777, data: Buffer.from('t\x1b]0;x\x07') });
    writeFileSync(path, Buffer.concat([newc('a\x1b[2Jb\nfake line'), link, trailer()]));
    const r = await runCli(['inspect', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  a\\x1b[2Jb\\nfake line\n');
    expect(r.stdout).toContain('  l\\u202e -> t\\x1b]0;x\\x07');
    for (const c of ['\x1b', '\x07', '\u202e']) expect(r.stdout).not.toContain(c);
  });
});
