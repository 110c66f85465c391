import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import type { BlobStore, TreeEntry } from '../../../src/fstree/types.js';
import { MemoryBlobStore } from '../../../src/fstree/blobs.js';
import { cpioStream, generatedFile, PATH_MAX, planCpio, writeCpio } from '../../../src/initrd/cpio.js';
import { inspectInitrd } from '../../../src/initrd/inspect.js';

const MTIME = 1_700_000_000;
const work = mkdtempSync(join(tmpdir(), 'bootforge-cpio-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const meta = { uid: 0, gid: 0, mtime: 12345 };
const dir = (path: string, mode = 0o755): TreeEntry => ({ type: 'dir', path, mode, ...meta });
const symlink = (path: string, target: string): TreeEntry => ({ type: 'symlink', path, target, mode: 0o777, ...meta });
const hardlink = (path: string, target: string): TreeEntry => ({
  type: 'hardlink',
  path,
  target,
  mode: 0o755,
  ...meta,
});
const device = (type: 'chardev' | 'blockdev', path: string, major: number, minor: number, mode = 0o600): TreeEntry => ({
  type,
  path,
  major,
  minor,
  mode,
  ...meta,
});

/** Generated files and the map the writer reads them from. */
function fileSet(): {
  files: Map<string, Buffer>;
  add: (path: string, data: Buffer | string, mode?: number, gid?: number) => TreeEntry;
} {
  const files = new Map<string, Buffer>();
  return {
    files,
    add(path, data, mode = 0o644, gid = 0) {
      const bytes = Buffer.from(data);
      files.set(path, bytes);
      return generatedFile(path, bytes, { mode, gid });
    },
  };
}

const LONG_NAME = `/usr/share/${'deep-directory-name/'.repeat(10)}${'x'.repeat(200)}.txt`;
const UNICODE_NAMES = ['/usr/share/doc/héllo wörld.txt', '/usr/share/doc/日本語.txt', '/usr/share/doc/emoji-😀.txt'];

/** Every kind of entry the brief lists, in an unsorted order with some parents left out. */
function richTree(): { entries: TreeEntry[]; files: Map<string, Buffer> } {
  const { files, add } = fileSet();
  const big = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff;
  const entries: TreeEntry[] = [
    add('/usr/bin/perl', 'perl binary\n', 0o755),
    hardlink('/usr/bin/perl5.36.0', '/usr/bin/perl'),
    hardlink('/usr/bin/a-perl', '/usr/bin/perl5.36.0'),
    add('/usr/bin/su', 'su binary\n', 0o4755),
    add('/usr/bin/chage', 'chage\n', 0o2755, 42),
    add('/etc/shadow', 'root:*:1::::::\n', 0o640, 42),
    add('/etc/empty', ''),
    add('/etc/five', '12345'),
    add('/usr/lib/big.bin', big),
    add(LONG_NAME, 'long\n'),
    ...UNICODE_NAMES.map((n) => add(n, `${n}\n`)),
    add('/init', '#!/bin/sh\nexec /bin/sh\n', 0o755),
    dir('/root', 0o700),
    dir('/tmp', 0o1777),
    dir('/usr'),
    symlink('/bin', 'usr/bin'),
    symlink('/usr/bin/sh', 'busybox'),
    symlink('/etc/mtab', '/proc/self/mounts'),
    device('chardev', '/dev/console', 5, 1),
    device('chardev', '/dev/null', 1, 3, 0o666),
    device('blockdev', '/dev/loop0', 7, 0, 0o660),
    { type: 'fifo', path: '/run/initctl', mode: 0o600, ...meta },
  ];
  return { entries, files };
}

interface ListedEntry {
  perms: string;
  nlink: number;
  uid: number;
  gid: number;
  size?: number;
  dev?: [number, number];
  name: string;
  target?: string;
}

/** `cpio -itvn` (numeric owners), one object per line. */
function cpioList(archive: Buffer): ListedEntry[] {
  const out = execFileSync('cpio', ['-itvn', '--quiet'], { input: archive, env: { ...process.env, TZ: 'UTC' } });
  return out
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m =
        /^(\S{10})\s+(\d+)\s+(\d+)\s+(\d+)\s+(?:(\d+),\s+(\d+)|(\d+)) \w{3} [ \d]\d (?: \d{4}|\d\d:\d\d) (.*)$/.exec(
          line,
        );
      if (!m) throw new Error(`unexpected cpio -itv line: ${line}`);
      const [name, target] = (m[8] ?? '').split(' -> ');
      return {
        perms: m[1] ?? '',
        nlink: Number(m[2]),
        uid: Number(m[3]),
        gid: Number(m[4]),
        ...(m[7] !== undefined ? { size: Number(m[7]) } : { dev: [Number(m[5]), Number(m[6])] as [number, number] }),
        name: name ?? '',
        ...(target !== undefined ? { target } : {}),
      };
    });
}

function extract(archive: Buffer, name: string): string {
  const dest = join(work, name);
  execFileSync('mkdir', ['-p', dest]);
  // Devices need root to extract; their listing is checked instead.
  execFileSync(
    'cpio',
    ['-i', '--quiet', '-d', '--preserve-modification-time', '--no-absolute-filenames', '-f', 'dev/*'],
    {
      cwd: dest,
      input: archive,
    },
  );
  return dest;
}

describe('writeCpio', () => {
  const { entries, files } = richTree();
  let archive: Buffer;

  it('writes newc that GNU cpio lists entry by entry as planned', async () => {
    archive = await writeCpio(entries, files, { mtime: MTIME });
    expect(archive.subarray(0, 6).toString()).toBe('070701');
    const listed = cpioList(archive);
    const planned = planCpio(entries);
    expect(listed.map((l) => l.name)).toEqual(planned.map((r) => r.name));

    const byName = new Map(listed.map((l) => [l.name, l]));
    const at = (name: string): ListedEntry => {
      const entry = byName.get(name);
      if (!entry) throw new Error(`${name} not listed`);
      return entry;
    };
    expect(at('.')).toMatchObject({ perms: 'drwxr-xr-x', uid: 0, gid: 0 });
    expect(at('root').perms).toBe('drwx------');
    expect(at('tmp').perms).toBe('drwxrwxrwt');
    expect(at('usr/bin/su')).toMatchObject({ perms: '-rwsr-xr-x', size: 10 });
    expect(at('usr/bin/chage')).toMatchObject({ perms: '-rwxr-sr-x', uid: 0, gid: 42 });
    expect(at('etc/shadow')).toMatchObject({ perms: '-rw-r-----', gid: 42 });
    expect(at('etc/empty')).toMatchObject({ perms: '-rw-r--r--', size: 0, nlink: 1 });
    expect(at('etc/five').size).toBe(5);
    expect(at('usr/lib/big.bin').size).toBe(2 * 1024 * 1024);
    expect(at('bin')).toMatchObject({ perms: 'lrwxrwxrwx', target: 'usr/bin', size: 7 });
    expect(at('etc/mtab').target).toBe('/proc/self/mounts');
    expect(at('dev/console')).toMatchObject({ perms: 'crw-------', dev: [5, 1] });
    expect(at('dev/null')).toMatchObject({ perms: 'crw-rw-rw-', dev: [1, 3] });
    expect(at('dev/loop0')).toMatchObject({ perms: 'brw-rw----', dev: [7, 0] });
    expect(at('run/initctl').perms).toBe('prw-------');
    expect(at(LONG_NAME.slice(1)).size).toBe(5);
    for (const n of UNICODE_NAMES) expect(at(n.slice(1)).size).toBe(Buffer.byteLength(`${n}\n`));
    // Three names of one file: nlink 3 on each, the data on the last name in archive order.
    const links = ['usr/bin/a-perl', 'usr/bin/perl', 'usr/bin/perl5.36.0'].map(at);
    expect(links.map((l) => l.nlink)).toEqual([3, 3, 3]);
    expect(links.map((l) => l.size)).toEqual([0, 0, 12]);
  });

  it('puts every parent directory before its children, sorted by path bytes, "." first', () => {
    const names = planCpio(entries).map((r) => r.name);
    expect(names[0]).toBe('.');
    const rest = names.slice(1).map((n) => Buffer.from(n));
    expect([...rest].sort((a, b) => Buffer.compare(a, b))).toEqual(rest);
    for (const [i, name] of names.entries()) {
      const parent = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '.';
      if (name !== '.') expect(names.indexOf(parent), `${parent} before ${name}`).toBeLessThan(i);
    }
    // Parents the input did not list are made 0755 root:root.
    const made = planCpio(entries).filter((r) => r.implicit);
    expect(made.map((r) => r.name)).toContain('usr/share/doc');
    expect(made.every((r) => r.mode === 0o40755 && r.uid === 0 && r.gid === 0)).toBe(true);
  });

  it('extracts with GNU cpio to the same contents, modes, owners, mtimes, symlinks and hard links', () => {
    const dest = extract(archive, 'rich');
    for (const [path, data] of files) {
      expect(readFileSync(join(dest, path)).equals(data), path).toBe(true);
      expect(statSync(join(dest, path)).mtimeMs / 1000, path).toBe(MTIME);
    }
    const root = process.getuid?.() === 0;
    for (const e of entries) {
      if (e.type === 'chardev' || e.type === 'blockdev' || e.type === 'hardlink') continue;
      const st = lstatSync(join(dest, e.path));
      const perms = st.mode & 0o7777;
      // Only root may keep setgid for a group it is not in, and chown at all.
      if (root) {
        expect(perms, e.path).toBe(e.type === 'symlink' ? 0o777 : e.mode);
        expect([st.uid, st.gid], e.path).toEqual([e.uid, e.gid]);
      } else expect(perms & 0o777, e.path).toBe(e.type === 'symlink' ? 0o777 : e.mode & 0o777);
      if (e.type === 'symlink') expect(readlinkSync(join(dest, e.path))).toBe(e.target);
      if (e.type === 'fifo') expect(st.isFIFO()).toBe(true);
      if (e.type === 'dir') expect(st.isDirectory()).toBe(true);
    }
    const inodes = ['perl', 'perl5.36.0', 'a-perl'].map((n) => statSync(join(dest, 'usr/bin', n)));
    expect(new Set(inodes.map((s) => s.ino)).size).toBe(1);
    expect(inodes.map((s) => s.nlink)).toEqual([3, 3, 3]);
    expect(readFileSync(join(dest, 'usr/bin/a-perl'), 'utf8')).toBe('perl binary\n');
  });

  it('writes non-ASCII names with their UTF-8 byte count as the name size (cpio-stream counts UTF-16 units)', async () => {
    const info = await inspectInitrd(archive);
    const names = info.segments[0]?.entries.map((e) => e.name) ?? [];
    for (const n of UNICODE_NAMES) expect(names).toContain(n.slice(1));
    // Read the header of the emoji name by hand: namesize = UTF-8 bytes + NUL.
    const name = Buffer.from(UNICODE_NAMES[2]?.slice(1) ?? '', 'utf8');
    const at = archive.indexOf(Buffer.concat([name, Buffer.from([0])]));
    expect(at).toBeGreaterThan(110);
    const header = archive.subarray(at - 110, at).toString('latin1');
    expect(header.slice(0, 6)).toBe('070701');
    expect(parseInt(header.slice(94, 102), 16)).toBe(name.length + 1);
  });

  it('gives every entry the mtime, numbers inodes from 1, keeps uid/gid', async () => {
    const entriesRead = (await inspectInitrd(archive)).segments[0]?.entries ?? [];
    expect(entriesRead.every((e) => e.mtime === MTIME)).toBe(true);
    const inos = [...new Set(entriesRead.map((e) => e.ino))];
    expect(inos).toEqual(Array.from({ length: inos.length }, (_, i) => i + 1));
    expect(entriesRead.find((e) => e.name === 'usr/bin/chage')).toMatchObject({ uid: 0, gid: 42, mode: 0o102755 });
  });

  it('pads the archive to a multiple of 512 (hence 4), with nothing but zeros after the trailer', async () => {
    expect(archive.length % 512).toBe(0);
    const trailer = archive.lastIndexOf(Buffer.from('TRAILER!!!\0'));
    expect(archive.subarray(trailer + 11).every((b) => b === 0)).toBe(true);
    expect(archive.length - (trailer + 11)).toBeLessThan(512 + 4);
    // A tiny archive and one whose data length ends off a 4-byte boundary.
    const { files: f, add } = fileSet();
    for (const size of [0, 1, 3, 513, 1021, 4099]) {
      const out = await writeCpio([add('/x', Buffer.alloc(size, 1))], f, { mtime: 0 });
      expect(out.length % 512, `size ${size}`).toBe(0);
      expect(cpioList(out).map((l) => l.name)).toEqual(['.', 'x']);
    }
  });

  it('fixes cpio-stream traps: mtime 0 stays 0, mode 0 stays 0, the type bits are set', async () => {
    const { files: f, add } = fileSet();
    const out = await writeCpio([add('/locked', 'x', 0o000)], f, { mtime: 0 });
    const read = (await inspectInitrd(out)).segments[0]?.entries ?? [];
    expect(read.find((e) => e.name === 'locked')).toMatchObject({ mode: 0o100000, mtime: 0 });
    expect(read.find((e) => e.name === '.')).toMatchObject({ mode: 0o40755, mtime: 0 });
  });

  it('needs its wrapper: cpio-stream alone pads after the trailer off 4 bytes and miscounts non-ASCII names', async () => {
    const lib = createRequire(import.meta.url)('cpio-stream') as {
      pack(o: { format: string }): NodeJS.ReadableStream & {
        entry(h: object, d: Buffer): void;
        finalize(): void;
      };
    };
    const pack = lib.pack({ format: 'newc' });
    const chunks: Buffer[] = [];
    pack.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((done) => pack.on('end', done));
    pack.entry({ name: 'é', type: 'file', mode: 0o644, mtime: new Date(0) }, Buffer.alloc(401));
    pack.finalize();
    await ended;
    const raw = Buffer.concat(chunks);
    expect(raw.length % 4).not.toBe(0); // 112 + 404 + 124 + a 511-byte fill
    expect(parseInt(raw.toString('latin1', 94, 102), 16)).toBe(2); // "é" + NUL is 3 bytes in UTF-8
    // Ours: aligned, and the name size counts bytes.
    const { files: f, add } = fileSet();
    const out = await writeCpio([add('/é', Buffer.alloc(401))], f, { mtime: 0 });
    expect(out.length % 512).toBe(0);
    const at = out.indexOf(Buffer.from('é\0'));
    expect(parseInt(out.toString('latin1', at - 16, at - 8), 16)).toBe(3);
  });

  it('is deterministic: same bytes for the same input in any order', async () => {
    const again = await writeCpio([...entries].reverse(), files, { mtime: MTIME });
    expect(again.equals(archive)).toBe(true);
    const streamed: Buffer[] = [];
    for await (const chunk of cpioStream(entries, files, { mtime: MTIME })) streamed.push(chunk as Buffer);
    expect(Buffer.concat(streamed).equals(archive)).toBe(true);
  });

  it('is deterministic across time zones and umasks (separate processes)', () => {
    const script = join(work, 'det.mts');
    const cpioModule = resolve('src/initrd/cpio.ts');
    writeFileSync(
      script,
      `import { createHash } from 'node:crypto';
import { writeCpio, generatedFile } from ${JSON.stringify(cpioModule)};
const files = new Map();
const add = (p, d, mode) => { const b = Buffer.from(d); files.set(p, b); return generatedFile(p, b, { mode }); };
const entries = [add('/init', '#!/bin/sh\\n', 0o755), add('/etc/x', 'x', 0o600),
  { type: 'dir', path: '/var', mode: 0o755, uid: 0, gid: 0, mtime: 5 }];
const out = await writeCpio(entries, files, { mtime: 1700000000 });
process.stdout.write(createHash('sha256').update(out).digest('hex'));
`,
    );
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const run = (tz: string, umask: string): string =>
      execFileSync('sh', ['-c', `umask ${umask}; exec "${process.execPath}" --import "${tsx}" "${script}"`], {
        env: { ...process.env, TZ: tz, LANG: 'C' },
      }).toString();
    const a = run('UTC', '022');
    const b = run('Pacific/Chatham', '077');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it('reads file data from a blob store, once per file, and checks it', async () => {
    const store = new MemoryBlobStore();
    const data = Buffer.from('from the store\n');
    const sha256 = await store.put(data);
    const entry: TreeEntry = {
      type: 'file',
      path: '/s',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: data.length,
      sha256,
    };
    let reads = 0;
    const counting: BlobStore = {
      get: (h) => {
        reads += 1;
        return store.get(h);
      },
      has: (h) => store.has(h),
      put: (d) => store.put(d),
    };
    const out = await writeCpio([entry, hardlink('/t', '/s')], counting, { mtime: 0 });
    expect(reads).toBe(1);
    expect(cpioList(out).map((l) => [l.name, l.size])).toEqual([
      ['.', 0],
      ['s', 0],
      ['t', data.length],
    ]);
  });
});

describe('writeCpio refuses what the kernel would not unpack as meant', () => {
  const { files, add } = fileSet();
  const file = add('/f', 'data');

  async function refusal(
    entries: TreeEntry[],
    contents: Map<string, Buffer> = files,
    mtime = 0,
  ): Promise<BootforgeError> {
    try {
      await writeCpio(entries, contents, { mtime });
    } catch (e) {
      if (e instanceof BootforgeError) return e;
      throw e;
    }
    throw new Error('expected a refusal');
  }

  it.each([
    [
      'a mode with file-type bits',
      [{ ...file, mode: 0o100644 }],
      'initramfs entry "/f" has mode 0100644; a tree entry\'s mode is permission bits only (at most 07777), the writer adds the type',
    ],
    ['a relative path', [{ ...file, path: 'f' }], 'initramfs entry "f" is not an absolute path'],
    [
      'a path with an escape sequence and a bidi override (escaped before printing)',
      [{ ...file, path: 'f\x1b[2J\u202e' }],
      'initramfs entry "f\\x1b[2J\\u202e" is not an absolute path',
    ],
    [
      'a ".." component',
      [{ ...file, path: '/a/../f' }],
      'initramfs entry "/a/../f" is not in normal form (empty, "." or ".." components, or a trailing "/")',
    ],
    [
      'a root that is not a directory',
      [symlink('/', 'x')],
      'initramfs entry "/" is a symlink; the root must be a directory',
    ],
    ['the same path twice', [file, dir('/f')], 'initramfs entry "/f" appears twice in the entry list'],
    [
      'a hard link to nothing',
      [hardlink('/h', '/missing')],
      'initramfs entry "/h" is a hard link to /missing, which is not in this archive; a hard link must name a file of the same archive',
    ],
    [
      'a hard link to a directory',
      [dir('/d'), hardlink('/h', '/d')],
      'initramfs entry "/h" is a hard link to /d, which is a dir; a hard link must name a file of the same archive',
    ],
    [
      'a child of a symlink',
      [symlink('/lib', 'usr/lib'), { ...file, path: '/lib/f' }],
      'initramfs entry "/lib/f" has the parent /lib, which is a symlink; the kernel would follow or trip over it, so every parent must be a directory',
    ],
    [
      'a name longer than PATH_MAX',
      [dir(`/${'a'.repeat(PATH_MAX)}`)],
      `initramfs entry "/${'a'.repeat(PATH_MAX)}" has a ${PATH_MAX + 1}-byte name (with its NUL); the kernel skips entries whose name exceeds PATH_MAX (4096)`,
    ],
    [
      'a lone surrogate',
      [dir('/bad\uD800')],
      'initramfs entry "/bad\\ud800" is not valid Unicode (a lone surrogate): it has no UTF-8 form',
    ],
    [
      'a device major above 4095',
      [device('chardev', '/dev/x', 4096, 0)],
      'initramfs entry "/dev/x" is device 4096:0; Linux device numbers have majors up to 4095 and minors up to 1048575',
    ],
    [
      'a symlink target of PATH_MAX bytes',
      [symlink('/l', 'x'.repeat(PATH_MAX))],
      'initramfs entry "/l" has a 4096-byte symlink target; Linux allows at most 4095',
    ],
    [
      'a file of 4 GiB',
      [{ ...file, size: 2 ** 32 }],
      'initramfs entry "/f" is 4294967296 bytes; a newc archive stores sizes below 4 GiB',
    ],
  ] as const)('%s', async (_what, entries, message) => {
    const e = await refusal([...entries]);
    expect(e.code).toBe('BF_CPIO_ENTRY');
    expect(e.message).toBe(message);
  });

  it('content that does not match its entry', async () => {
    const wrongSize = await refusal([file], new Map([['/f', Buffer.from('datum')]]));
    expect(wrongSize.message).toBe('initramfs entry "/f" should hold 4 bytes, but its content source gave 5');
    const wrongHash = await refusal([file], new Map([['/f', Buffer.from('DATA')]]));
    expect(wrongHash.message).toMatch(
      /^initramfs entry "\/f" should have SHA-256 [0-9a-f]{64}, but its content has [0-9a-f]{64}$/,
    );
    const missing = await refusal([file], new Map());
    expect(missing.message).toBe('initramfs entry "/f" has no content in the map of generated files');
  });

  it('an mtime newc cannot store', async () => {
    for (const mtime of [-1, 2 ** 32, 1.5]) {
      const e = await refusal([file], files, mtime);
      expect(e.code).toBe('BF_INVALID_VALUE');
    }
  });

  it('accepts the limits themselves', async () => {
    const name = `/${'a'.repeat(PATH_MAX - 1)}`; // PATH_MAX bytes with the NUL
    const out = await writeCpio(
      [dir(name), symlink('/l', 'x'.repeat(PATH_MAX - 1)), device('blockdev', '/b', 4095, 0xfffff)],
      files,
      {
        mtime: 2 ** 32 - 1,
      },
    );
    const listed = cpioList(out);
    expect(listed.map((l) => l.name)).toEqual(['.', name.slice(1), 'b', 'l']);
    expect(listed[2]?.dev).toEqual([4095, 0xfffff]);
    expect(createHash('sha256').update(out).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
  });
});
