import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BootforgeError } from '../../../src/errors/index.js';
import { MemoryBlobStore } from '../../../src/fstree/blobs.js';
import { FsTree } from '../../../src/fstree/tree.js';
import type { TreeEntry } from '../../../src/fstree/types.js';
import { readAr } from '../../../src/packages/ar.js';
import { extractDeb } from '../../../src/packages/deb.js';
import { compress, makeAr, makeDeb, makeTar, type Compression, type TarInput } from '../../helpers/make-deb.js';
import { rejection } from '../../helpers/errors.js';

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

const LONG_DIR = `./usr/share/${'a'.repeat(60)}/${'b'.repeat(60)}`;

/** What a small bookworm package set looks like to the extractor: setuid, setgid+group, hard links, absolute links, ./bin. */
const NORMAL: TarInput[] = [
  { name: './', type: 'directory' },
  { name: './bin/', type: 'directory' },
  { name: './bin/sh', content: '#!dash\n', mode: 0o755 },
  { name: './usr/', type: 'directory' },
  { name: './usr/bin/', type: 'directory' },
  { name: './usr/bin/su', content: 'su binary', mode: 0o4755 },
  { name: './usr/bin/chage', content: 'chage binary', mode: 0o2755, gid: 42, gname: 'shadow' },
  { name: './usr/bin/perl5.36.0', content: 'perl binary', mode: 0o755 },
  { name: './usr/bin/perl', type: 'link', linkname: './usr/bin/perl5.36.0', mode: 0o755 },
  { name: './usr/bin/awk', type: 'symlink', linkname: '/etc/alternatives/awk' },
  { name: './usr/share/', type: 'directory' },
  { name: `${LONG_DIR}/`, type: 'directory' },
  { name: `${LONG_DIR}/file`, content: 'deep' },
  { name: './var/', type: 'directory' },
  { name: './var/spool/', type: 'directory' },
  { name: './var/spool/fifo', type: 'fifo', mode: 0o600 },
  { name: './var/spool/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: './var/spool/empty', content: '' },
];

const CONTROL = {
  Version: '5.36.0-7+deb12u1',
  Depends: 'libc6 (>= 2.36),\n libcrypt1 (>= 1:4.1.0)',
  Description: 'Larry Wall’s Practical Extraction and Report Language\n This is a test.\n .\n Second paragraph.',
};

describe('readAr', () => {
  const ar = makeAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'odd/', data: Buffer.from('abc') },
    { name: 'last', data: Buffer.from('z') },
  ]);

  it('reads members, GNU "name/" short names and odd-size padding', () => {
    expect(readAr(ar, 'x').map((m) => [m.name, m.data.toString()])).toEqual([
      ['debian-binary', '2.0\n'],
      ['odd', 'abc'],
      ['last', 'z'],
    ]);
    // The padding byte after an odd last member is optional.
    expect(readAr(ar.subarray(0, ar.length - 1), 'x')).toHaveLength(3);
  });

  it('refuses GNU and BSD long names and symbol tables, which dpkg never writes', () => {
    const withName = (name: string): Buffer => makeAr([{ name, data: Buffer.from('x') }]);
    expect(() => readAr(withName('//'), 'p')).toThrow(
      'p: member name "//" uses GNU ar long names, which dpkg never writes',
    );
    expect(() => readAr(withName('/0'), 'p')).toThrow('uses GNU ar long names');
    expect(() => readAr(withName('#1/20'), 'p')).toThrow(
      'p: member name "#1/20" uses BSD ar long names, which dpkg never writes',
    );
    expect(() => readAr(withName('/'), 'p')).toThrow('symbol table');
  });

  it('refuses bad magic, corrupt headers and truncation with BF_BAD_DEB', () => {
    expect(() => readAr(Buffer.from('PK\x03\x04'), 'p')).toThrow(
      'p: not an ar archive (the "!<arch>" magic is missing)',
    );
    const corrupt = Buffer.from(ar);
    corrupt[8 + 58] = 0x41;
    expect(() => readAr(corrupt, 'p')).toThrow('p: member header at offset 8 is corrupt (its end marker is missing)');
    expect(() => readAr(ar.subarray(0, 8 + 30), 'p')).toThrow(
      'p: truncated: 30 bytes after member 0 are too few for a header',
    );
    expect(() => readAr(ar.subarray(0, 8 + 62), 'p')).toThrow(
      'p: truncated: member "debian-binary" needs 4 bytes but the archive ends after 2',
    );
    expect(() => readAr(Buffer.from('nope'), 'p')).toThrow(expect.objectContaining({ code: 'BF_BAD_DEB' }));
  });
});

describe('extractDeb: a normal package', () => {
  for (const compression of ['xz', 'gz', 'none'] as Compression[]) {
    it(`extracts data.tar${compression === 'none' ? '' : `.${compression}`} into the tree and the blob store`, async () => {
      const deb = await makeDeb({
        package: 'perl-base',
        control: CONTROL,
        controlFiles: { md5sums: 'abc  usr/bin/perl\n', postinst: '#!/bin/sh\nexit 0\n' },
        data: NORMAL,
        compression,
        controlCompression: compression,
      });
      const blobs = new MemoryBlobStore();
      const tree = FsTree.withMergedUsr();
      const out = await extractDeb(deb, { package: 'perl-base', blobs, tree });

      expect({ ...out.control }).toEqual({
        Package: 'perl-base',
        Architecture: 'amd64',
        Version: '5.36.0-7+deb12u1',
        Depends: 'libc6 (>= 2.36),\nlibcrypt1 (>= 1:4.1.0)',
        Description: 'Larry Wall’s Practical Extraction and Report Language\nThis is a test.\n.\nSecond paragraph.',
      });
      expect(Object.keys(out.controlFiles).sort()).toEqual(['control', 'md5sums', 'postinst']);
      expect(out.controlFiles['postinst']?.toString()).toBe('#!/bin/sh\nexit 0\n');

      const byPath = new Map(out.entries.map((e) => [e.path, e]));
      // Archive order, paths as the tree placed them: ./bin/sh is /usr/bin/sh.
      expect(out.entries.map((e) => e.path)).toEqual([
        '/',
        '/usr/bin',
        '/usr/bin/sh',
        '/usr',
        '/usr/bin',
        '/usr/bin/su',
        '/usr/bin/chage',
        '/usr/bin/perl5.36.0',
        '/usr/bin/perl',
        '/usr/bin/awk',
        '/usr/share',
        LONG_DIR.slice(1),
        `${LONG_DIR.slice(1)}/file`,
        '/var',
        '/var/spool',
        '/var/spool/fifo',
        '/var/spool/null',
        '/var/spool/empty',
      ]);
      expect(byPath.get('/usr/bin/sh')).toMatchObject({ type: 'file', mode: 0o755, sha256: sha('#!dash\n'), size: 7 });
      expect(byPath.get('/usr/bin/su')).toMatchObject({ type: 'file', mode: 0o4755, uid: 0, uname: 'root' });
      expect(byPath.get('/usr/bin/chage')).toMatchObject({ mode: 0o2755, gid: 42, gname: 'shadow' });
      expect(byPath.get('/usr/bin/perl')).toEqual({
        type: 'hardlink',
        path: '/usr/bin/perl',
        target: '/usr/bin/perl5.36.0',
        mode: 0o755,
        uid: 0,
        gid: 0,
        uname: 'root',
        gname: 'root',
        mtime: 1_700_000_000,
      });
      expect(byPath.get('/usr/bin/awk')).toMatchObject({ type: 'symlink', target: '/etc/alternatives/awk' });
      expect(byPath.get('/var/spool/fifo')).toMatchObject({ type: 'fifo', mode: 0o600 });
      expect(byPath.get('/var/spool/null')).toMatchObject({ type: 'chardev', major: 1, minor: 3, mode: 0o666 });
      expect(byPath.get('/var/spool/empty')).toMatchObject({ type: 'file', size: 0, sha256: sha('') });

      expect((await blobs.get(sha('perl binary'))).toString()).toBe('perl binary');
      expect((await blobs.get(sha('deep'))).toString()).toBe('deep');
      expect(tree.get('/bin/sh')?.path).toBe('/usr/bin/sh');
      expect(tree.get('/bin')?.type).toBe('symlink');
      expect(tree.resolve('/bin/perl')?.type).toBe('hardlink');
      expect(tree.owner.get('/usr/bin/su')).toBe('perl-base');
      expect(tree.overwrites).toEqual([]);
    });
  }

  it('works without a tree, and with a blob store that has no putStream', async () => {
    const deb = await makeDeb({ data: NORMAL });
    const plain = new MemoryBlobStore();
    const blobs = { has: plain.has.bind(plain), get: plain.get.bind(plain), put: plain.put.bind(plain) };
    const out = await extractDeb(deb, { package: 'hello', blobs });
    expect(out.entries.find((e) => e.path === '/usr/bin/sh')?.type).toBe('file');
    expect((await plain.get(sha('su binary'))).toString()).toBe('su binary');
  });

  it('streams a file larger than 1 MiB to the store', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    const deb = await makeDeb({ data: [{ name: './vmlinuz', content: big }] });
    const blobs = new MemoryBlobStore();
    const out = await extractDeb(deb, { package: 'hello', blobs });
    expect(out.entries).toEqual([expect.objectContaining({ path: '/vmlinuz', size: big.length, sha256: sha(big) })]);
    expect((await blobs.get(sha(big))).equals(big)).toBe(true);
  });

  it('records files that replace another package’s in the shared tree', async () => {
    const tree = FsTree.withMergedUsr();
    const blobs = new MemoryBlobStore();
    const a = await makeDeb({ package: 'a', data: [{ name: './bin/tool', content: 'A' }] });
    const b = await makeDeb({ package: 'b', data: [{ name: './usr/bin/tool', content: 'B' }] });
    await extractDeb(a, { package: 'a', blobs, tree });
    await extractDeb(b, { package: 'b', blobs, tree });
    expect(tree.overwrites).toEqual([
      { path: '/usr/bin/tool', previousPackage: 'a', newPackage: 'b', identical: false },
    ]);
    expect(tree.owner.get('/usr/bin/tool')).toBe('b');
  });
});

describe('extractDeb: malicious archives', () => {
  const attempt = async (data: TarInput[], compression: Compression = 'xz'): Promise<BootforgeError> => {
    const deb = await makeDeb({ package: 'evil', data, compression });
    return rejection(extractDeb(deb, { package: 'evil', blobs: new MemoryBlobStore(), tree: FsTree.withMergedUsr() }));
  };

  it('refuses "../evil"', async () => {
    const e = await attempt([{ name: '../evil', content: 'x' }]);
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e.message).toBe(
      'package evil: entry "../evil" has a ".." component; extracted, it could land outside the tree',
    );
  });

  it('refuses "./a/../../evil"', async () => {
    const e = await attempt([
      { name: './a/', type: 'directory' },
      { name: './a/../../evil', content: 'x' },
    ]);
    expect(e.message).toBe(
      'package evil: entry "./a/../../evil" has a ".." component; extracted, it could land outside the tree',
    );
  });

  it('refuses an absolute name "/etc/evil"', async () => {
    const e = await attempt([{ name: '/etc/evil', content: 'x' }]);
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e.message).toBe('package evil: entry "/etc/evil" has an absolute name');
  });

  it('refuses a name with a newline', async () => {
    const e = await attempt([{ name: './etc/cron.d/x\n* * * * * root sh', content: 'x' }]);
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e.message).toBe('package evil: entry "./etc/cron.d/x\\n* * * * * root sh" contains a newline');
  });

  // Symlink then file through it: GNU tar CVE-2007-4131, cpio CVE-2015-1197,
  // CVE-2018-20685-style traversal; dpkg refuses the same sequence.
  it('refuses a file written through a symlink it planted (CVE-2007-4131, CVE-2015-1197)', async () => {
    const e = await attempt([
      { name: './usr/lib/x', type: 'symlink', linkname: '/etc' },
      { name: './usr/lib/x/passwd', content: 'root::0:0::/root:/bin/sh\n' },
    ]);
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e.message).toBe(
      'package evil: entry "./usr/lib/x/passwd" goes through the symlink /usr/lib/x -> /etc; an archive may not write through a symlink',
    );
  });

  it('refuses a hard link to a file that is not in the archive', async () => {
    const e = await attempt([{ name: './usr/bin/x', type: 'link', linkname: './etc/shadow' }]);
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e.message).toBe(
      'package evil: entry "./usr/bin/x" is a hard link to "./etc/shadow", which is not in the tree; a hard link must name a file extracted before it',
    );
  });

  it('refuses a hard link with an absolute target', async () => {
    const e = await attempt([{ name: './x', type: 'link', linkname: '/etc/shadow' }]);
    expect(e.message).toBe('package evil: entry "./x" is a hard link to the absolute name "/etc/shadow"');
  });

  it('accepts a hard link to a file named through a merged-/usr path', async () => {
    const deb = await makeDeb({
      data: [
        { name: './usr/bin/gzip', content: 'gzip', mode: 0o755 },
        { name: './bin/gunzip', type: 'link', linkname: './bin/gzip', mode: 0o755 },
      ],
    });
    const out = await extractDeb(deb, { package: 'hello', blobs: new MemoryBlobStore() });
    expect(out.entries[1]).toMatchObject({ type: 'hardlink', path: '/usr/bin/gunzip', target: '/usr/bin/gzip' });
  });

  it('leaves the xz decoder usable after an extraction stops half-way', async () => {
    const big = Buffer.alloc(2 << 20, 1);
    await attempt([
      { name: './a', content: big },
      { name: '../evil', content: 'x' },
      { name: './b', content: big },
    ]);
    // xz-decompress serialises all streams behind one lock; an abandoned stream would hang this.
    const ok = await makeDeb({ data: [{ name: './ok', content: 'fine' }] });
    const out = await extractDeb(ok, { package: 'hello', blobs: new MemoryBlobStore() });
    expect(out.entries.map((e) => e.path)).toEqual(['/ok']);
  });
});

describe('extractDeb: broken or unsupported files', () => {
  const blobs = new MemoryBlobStore();
  const extract = (deb: Buffer, pkg = 'hello'): Promise<BootforgeError> =>
    rejection(extractDeb(deb, { package: pkg, blobs }));

  it('stops a control.tar that expands past its bound (a bomb) while reading it', async () => {
    const deb = await makeDeb({
      data: [],
      controlFiles: { postinst: '\0'.repeat(65 * 1024 * 1024) },
      controlCompression: 'gz',
    });
    expect(deb.length).toBeLessThan(1024 * 1024);
    const e = await extract(deb);
    expect(e.code).toBe('BF_EXPANDS_TOO_FAR');
    expect(e.message).toBe('package hello: control.tar.gz expands past 64 MiB');
  });

  it('refuses a debian-binary other than "2.0\\n"', async () => {
    const e = await extract(await makeDeb({ data: [], debianBinary: '3.0\n' }));
    expect(e.code).toBe('BF_BAD_DEB');
    expect(e.message).toBe('package hello: debian-binary holds "3.0\\n"; bootforge reads format "2.0\\n" only');
  });

  it('refuses members in the wrong order', async () => {
    const deb = await makeDeb({ data: [], members: ([a, b, c]) => [b, a, c].filter((m) => m !== undefined) });
    expect((await extract(deb)).message).toBe('package hello: the first member is "control.tar.xz", not debian-binary');
  });

  it('skips "_" members and ignores members after data.tar', async () => {
    const deb = await makeDeb({
      data: [{ name: './x', content: 'x' }],
      members: ([a, b, c]) =>
        [a, { name: '_gpgorigin', data: Buffer.from('sig') }, b, c, { name: 'extra', data: Buffer.from('!') }].filter(
          (m) => m !== undefined,
        ),
    });
    expect((await extractDeb(deb, { package: 'hello', blobs })).entries).toHaveLength(1);
  });

  it('refuses a truncated archive', async () => {
    const deb = await makeDeb({ data: [{ name: './x', content: Buffer.alloc(50_000, 3) }], compression: 'gz' });
    const e = await extract(deb.subarray(0, deb.length - 100));
    expect(e.code).toBe('BF_BAD_DEB');
    expect(e.message).toMatch(
      /^package hello: truncated: member "data\.tar\.gz" needs \d+ bytes but the archive ends after \d+$/,
    );
  });

  it('refuses a truncated xz stream (and does not hang)', async () => {
    const deb = await makeDeb({
      data: [{ name: './x', content: Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251)) }],
      members: ([a, b, c]) =>
        [a, b, c && { name: c.name, data: c.data.subarray(0, c.data.length >> 1) }].filter((m) => m !== undefined),
    });
    const e = await extract(deb);
    expect(e.code).toBe('BF_BAD_DEB');
    expect(e.message).toBe(
      'package hello: data.tar.xz is corrupt or truncated: xz: the compressed data ends too early',
    );
  });

  it('refuses a gzip member with one flipped byte', async () => {
    const deb = await makeDeb({
      data: [{ name: './x', content: 'some content '.repeat(1000) }],
      compression: 'gz',
      members: ([a, b, c]) => {
        const data = Buffer.from(c?.data ?? Buffer.alloc(0));
        const at = data.length >> 1;
        data.writeUInt8(data.readUInt8(at) ^ 0xff, at);
        return [a, b, { name: 'data.tar.gz', data }].filter((m) => m !== undefined);
      },
    });
    const e = await extract(deb);
    expect(e.code).toBe('BF_BAD_DEB');
    expect(e.message).toBe('package hello: data.tar.gz is corrupt or truncated: incorrect data check');
  });

  it('says zstd and bzip2 data members are not supported', async () => {
    const rename = (name: string) => (m: { name: string; data: Buffer }[]) =>
      m.map((x) => (x.name.startsWith('data.tar') ? { name, data: Buffer.from('(not really compressed)') } : x));
    const zst = await extract(await makeDeb({ data: [], members: rename('data.tar.zst') }));
    expect(zst.code).toBe('BF_BAD_DEB');
    expect(zst.message).toBe(
      "package hello: data.tar.zst: zstd-compressed members are not supported yet (bookworm's packages use xz)",
    );
    const bz2 = await extract(await makeDeb({ data: [], members: rename('data.tar.bz2') }));
    expect(bz2.message).toBe(
      "package hello: data.tar.bz2: bz2-compressed members are not supported (bookworm's packages use xz)",
    );
  });

  it('refuses a package whose control file names another package', async () => {
    const e = await extract(await makeDeb({ package: 'other', data: [] }));
    expect(e.message).toBe('package hello: the control file names package "other", not hello');
  });

  it('refuses a control file with two stanzas or a stray line', async () => {
    const two = await extract(await makeDeb({ control: 'Package: hello\n\nPackage: again\n', data: [] }));
    expect(two.message).toBe('package hello: control file: line 3: a second stanza; a control file has one');
    const stray = await extract(await makeDeb({ control: 'Package: hello\nnonsense\n', data: [] }));
    expect(stray.message).toBe('package hello: control file: line 2: not a "Field: value" line');
  });

  it('refuses a data.tar that is not a tar', async () => {
    const deb = await makeDeb({
      data: [],
      members: (m) =>
        m.map((x) => (x.name === 'data.tar.xz' ? { name: x.name, data: compress(Buffer.alloc(1024, 65), 'xz') } : x)),
    });
    expect((await extract(deb)).message).toBe(
      'package hello: data.tar.xz is corrupt or truncated: Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?',
    );
  });

  it('refuses nested names in control.tar', async () => {
    const controlTar = await makeTar([
      { name: './control', content: 'Package: hello\n' },
      { name: './sub/x', content: '' },
    ]);
    const deb = await makeDeb({
      data: [],
      members: (m) => m.map((x) => (x.name.startsWith('control') ? { name: 'control.tar', data: controlTar } : x)),
    });
    expect((await extract(deb)).message).toBe(
      'package hello: control.tar holds "./sub/x" (file); it may hold only files',
    );
  });
});

/** ls-style permissions ("-rwsr-xr-x") to a mode. */
function lsMode(text: string): number {
  const special = [0o4000, 0o2000, 0o1000];
  let mode = 0;
  for (let i = 0; i < 3; i++) {
    const [r, w, x] = text.slice(1 + 3 * i, 4 + 3 * i);
    const shift = 3 * (2 - i);
    if (r === 'r') mode |= 4 << shift;
    if (w === 'w') mode |= 2 << shift;
    if (x === 'x' || x === 's' || x === 't') mode |= 1 << shift;
    if (x === 's' || x === 'S' || x === 't' || x === 'T') mode |= special[i] ?? 0;
  }
  return mode;
}

const TYPE_LETTER: Record<TreeEntry['type'], string> = {
  dir: 'd',
  file: '-',
  hardlink: 'h',
  symlink: 'l',
  fifo: 'p',
  chardev: 'c',
  blockdev: 'b',
};

const hasDpkgDeb = spawnSync('dpkg-deb', ['--version']).status === 0;

describe.skipIf(!hasDpkgDeb)('extractDeb against dpkg-deb', () => {
  const root = mkdtempSync(join(tmpdir(), 'bf-dpkg-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads what dpkg-deb --build writes (GNU tar, long names, hard links, setuid) as dpkg-deb -c lists it', async () => {
    const pkgRoot = join(root, 'pkg');
    const long = `usr/share/${'a'.repeat(60)}/${'b'.repeat(60)}`;
    for (const d of ['DEBIAN', 'usr/bin', 'usr/sbin', 'etc/secret', long])
      mkdirSync(join(pkgRoot, d), { recursive: true });
    writeFileSync(
      join(pkgRoot, 'DEBIAN/control'),
      'Package: bf-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: probe\n more\n',
    );
    writeFileSync(join(pkgRoot, 'DEBIAN/postinst'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(pkgRoot, 'usr/bin/tool'), 'tool\n');
    chmodSync(join(pkgRoot, 'usr/bin/tool'), 0o4755);
    linkSync(join(pkgRoot, 'usr/bin/tool'), join(pkgRoot, 'usr/bin/tool-alias'));
    writeFileSync(join(pkgRoot, 'usr/sbin/daemon'), 'daemon\n');
    chmodSync(join(pkgRoot, 'usr/sbin/daemon'), 0o2750);
    symlinkSync('/usr/bin/tool', join(pkgRoot, 'usr/sbin/abs-link'));
    symlinkSync('../bin/tool', join(pkgRoot, 'usr/sbin/rel-link'));
    writeFileSync(join(pkgRoot, long, 'deep-file'), 'deep\n');
    chmodSync(join(pkgRoot, 'etc/secret'), 0o700);
    chmodSync(join(pkgRoot, 'etc'), 0o1777);
    chmodSync(pkgRoot, 0o755);
    const debPath = join(root, 'probe.deb');
    const build = spawnSync('dpkg-deb', ['--build', '--root-owner-group', '-Zxz', pkgRoot, debPath]);
    expect(build.status, build.stderr.toString()).toBe(0);

    const listing = spawnSync('dpkg-deb', ['-c', debPath]).stdout.toString().trim().split('\n');
    const expected = listing.map((line) => {
      const m = /^(\S+) (\S+)\/(\S+)\s+\d+ \S+ \S+ (.+?)(?: -> (.+)| link to (.+))?$/.exec(line);
      if (!m) throw new Error(`unexpected dpkg-deb -c line: ${line}`);
      const [, perms = '', user, group, name = '', symlinkTarget, hardlinkTarget] = m;
      const path = `/${name.replace(/^\.\//, '').replace(/\/$/, '')}`;
      const target =
        symlinkTarget ?? (hardlinkTarget === undefined ? undefined : `/${hardlinkTarget.replace(/^\.\//, '')}`);
      return { path, type: perms[0], mode: lsMode(perms), owner: `${user}/${group}`, target };
    });

    const bytes = readFileSync(debPath);
    const blobs = new MemoryBlobStore();
    const out = await extractDeb(bytes, { package: 'bf-probe', blobs });
    const ours = out.entries.map((e) => ({
      path: e.path,
      type: TYPE_LETTER[e.type],
      mode: e.mode,
      owner: `${e.uname}/${e.gname}`,
      target: e.type === 'symlink' || e.type === 'hardlink' ? e.target : undefined,
    }));
    expect(ours).toEqual(expected);
    expect(expected.some((e) => e.mode === 0o4755)).toBe(true);
    expect(expected.some((e) => e.type === 'h')).toBe(true);
    expect(out.control['Description']).toBe('probe\nmore');
    expect(out.controlFiles['postinst']?.toString()).toBe('#!/bin/sh\nexit 0\n');
    expect((await blobs.get(sha('deep\n'))).toString()).toBe('deep\n');
  });
});
