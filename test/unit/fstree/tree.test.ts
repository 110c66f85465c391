import { describe, expect, it } from 'vitest';
import { FsTree } from '../../../src/fstree/tree.js';
import type { DirEntry, FileEntry, HardlinkEntry, SymlinkEntry, TreeEntry } from '../../../src/fstree/types.js';
import { thrown } from '../../helpers/errors.js';

const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000 };
const file = (path: string, sha256 = 'a'.repeat(64), extra: Partial<FileEntry> = {}): FileEntry => ({
  ...meta,
  type: 'file',
  path,
  size: 1,
  sha256,
  ...extra,
});
const dir = (path: string, extra: Partial<DirEntry> = {}): DirEntry => ({
  ...meta,
  mode: 0o755,
  type: 'dir',
  path,
  ...extra,
});
const symlink = (path: string, target: string): SymlinkEntry => ({
  ...meta,
  mode: 0o777,
  type: 'symlink',
  path,
  target,
});
const hardlink = (path: string, target: string): HardlinkEntry => ({ ...meta, type: 'hardlink', path, target });

const paths = (tree: FsTree): string[] => tree.entries().map((e) => e.path);

describe('FsTree.withMergedUsr', () => {
  it('has the layout debootstrap makes for bookworm', () => {
    const tree = FsTree.withMergedUsr();
    expect(tree.entries().map((e) => [e.path, e.type, e.type === 'symlink' ? e.target : e.mode])).toEqual([
      ['/', 'dir', 0o755],
      ['/bin', 'symlink', 'usr/bin'],
      ['/lib', 'symlink', 'usr/lib'],
      ['/lib64', 'symlink', 'usr/lib64'],
      ['/sbin', 'symlink', 'usr/sbin'],
      ['/usr', 'dir', 0o755],
      ['/usr/bin', 'dir', 0o755],
      ['/usr/lib', 'dir', 0o755],
      ['/usr/lib64', 'dir', 0o755],
      ['/usr/sbin', 'dir', 0o755],
    ]);
    expect(tree.owner.size).toBe(0);
  });
});

describe('FsTree.add: placing entries', () => {
  it('stores paths through the merged-/usr links under /usr', () => {
    const tree = FsTree.withMergedUsr();
    expect(tree.add(file('./bin/sh'), { package: 'dash' }).path).toBe('/usr/bin/sh');
    expect(tree.add(file('/lib64/ld-linux-x86-64.so.2'), { package: 'libc6' }).path).toBe(
      '/usr/lib64/ld-linux-x86-64.so.2',
    );
    expect(tree.add(file('/sbin/x/y/z'), { package: 'p' }).path).toBe('/usr/sbin/x/y/z');
    expect(tree.get('/bin/sh')?.path).toBe('/usr/bin/sh');
    expect(tree.has('/usr/bin/sh')).toBe(true);
    expect(tree.get('/bin')?.type).toBe('symlink');
    expect(tree.owner.get('/usr/bin/sh')).toBe('dash');
  });

  it('merges a ./bin/ directory entry into /usr/bin, keeping the link', () => {
    const tree = FsTree.withMergedUsr();
    const placed = tree.add(dir('./bin/', { mode: 0o700 }), { package: 'coreutils' });
    expect(placed.path).toBe('/usr/bin');
    expect(tree.get('/bin')).toMatchObject({ type: 'symlink', target: 'usr/bin' });
    expect(tree.get('/usr/bin')?.mode).toBe(0o755);
  });

  it('normalises "./", "//" and "." and makes missing parents (0755 root), owned by the package', () => {
    const tree = new FsTree();
    expect(tree.add(file('.//usr/./share//doc/x'), { package: 'p' }).path).toBe('/usr/share/doc/x');
    expect(paths(tree)).toEqual(['/', '/usr', '/usr/share', '/usr/share/doc', '/usr/share/doc/x']);
    expect(tree.get('/usr/share')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    expect(tree.owner.get('/usr/share')).toBe('p');
  });

  it('lets an explicit directory set the metadata of one made implicitly, but keeps the first explicit one', () => {
    const tree = new FsTree();
    tree.add(file('/var/log/apt/x'), { package: 'apt' });
    tree.add(dir('/var/log', { mode: 0o2750, gid: 4, gname: 'adm' }), { package: 'a' });
    tree.add(dir('/var/log', { mode: 0o700 }), { package: 'b' });
    expect(tree.get('/var/log')).toMatchObject({ mode: 0o2750, gid: 4, gname: 'adm' });
    expect(tree.owner.get('/var/log')).toBe('a');
  });

  it('merges a root entry ("./") into the root, which stays 0755', () => {
    const tree = new FsTree();
    expect(tree.add(dir('./', { mode: 0o777 }), { package: 'p' }).path).toBe('/');
    expect(tree.get('/')?.mode).toBe(0o755);
    expect(thrown(() => tree.add(file('/'))).code).toBe('BF_PATH_CONFLICT');
  });

  it('records a file that replaces another package’s file, and keeps the new one', () => {
    const tree = new FsTree();
    tree.add(file('/usr/bin/x', 'a'.repeat(64)), { package: 'old' });
    tree.add(file('/usr/bin/x', 'b'.repeat(64)), { package: 'new' });
    tree.add(file('/usr/bin/y', 'c'.repeat(64)), { package: 'old' });
    tree.add(file('/usr/bin/y', 'c'.repeat(64)), { package: 'new' });
    tree.add(file('/usr/bin/y', 'c'.repeat(64)), { package: 'new' });
    expect(tree.get('/usr/bin/x')).toMatchObject({ sha256: 'b'.repeat(64) });
    expect(tree.owner.get('/usr/bin/x')).toBe('new');
    expect(tree.overwrites).toEqual([
      { path: '/usr/bin/x', previousPackage: 'old', newPackage: 'new', identical: false },
      { path: '/usr/bin/y', previousPackage: 'old', newPackage: 'new', identical: true },
    ]);
  });

  it('refuses to turn a directory into a file or a file into a directory', () => {
    const tree = new FsTree();
    tree.add(file('/etc/foo/bar'), { package: 'a' });
    tree.add(file('/etc/baz'), { package: 'a' });
    const e1 = thrown(() => tree.add(file('/etc/foo'), { package: 'b' }));
    expect(e1.code).toBe('BF_PATH_CONFLICT');
    expect(e1.message).toBe('package b: entry "/etc/foo" would replace the directory /etc/foo with a file');
    expect(thrown(() => tree.add(dir('/etc/baz'), { package: 'b' })).code).toBe('BF_PATH_CONFLICT');
    const e3 = thrown(() => tree.add(file('/etc/baz/qux'), { package: 'b' }));
    expect(e3.message).toBe('package b: entry "/etc/baz/qux" needs /etc/baz to be a directory, but it is a file');
  });

  it('refuses to replace a merged-/usr link with anything but a directory', () => {
    const tree = FsTree.withMergedUsr();
    const e = thrown(() => tree.add(symlink('./lib', '/tmp'), { package: 'evil' }));
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e.message).toBe('package evil: entry "./lib" would replace the merged-/usr symlink /lib -> usr/lib');
  });

  it('keeps a symlink where a later package ships a directory (as dpkg does)', () => {
    const tree = new FsTree();
    tree.add(symlink('/var/run', '/run'), { package: 'base-files' });
    expect(tree.add(dir('/var/run'), { package: 'other' })).toMatchObject({ type: 'symlink', target: '/run' });
  });
});

describe('FsTree.add: refusing entries that escape', () => {
  const refused = (tree: FsTree, entry: TreeEntry): string => {
    const e = thrown(() => tree.add(entry, { package: 'evil' }));
    expect(e.code).toBe('BF_UNSAFE_ARCHIVE');
    return e.message;
  };

  it('refuses ".." components, whatever the spelling', () => {
    const tree = FsTree.withMergedUsr();
    for (const name of ['../evil', './a/../../evil', '/../etc/evil', 'usr/..', './usr/bin/../../../x']) {
      expect(refused(tree, file(name))).toBe(
        `package evil: entry ${JSON.stringify(name)} has a ".." component; extracted, it could land outside the tree`,
      );
    }
    expect(paths(tree)).toEqual(paths(FsTree.withMergedUsr()));
  });

  it('refuses NUL and newline in names and empty names', () => {
    const tree = new FsTree();
    expect(refused(tree, file('./etc/a\nb'))).toBe('package evil: entry "./etc/a\\nb" contains a newline');
    expect(refused(tree, file('./etc/a\0b'))).toBe('package evil: entry "./etc/a\\u0000b" contains a NUL byte');
    expect(refused(tree, file(''))).toBe('package evil: entry "" is empty');
  });

  // The classic traversal: a symlink pointing out of the tree, then an entry
  // below it. GNU tar CVE-2007-4131, cpio CVE-2015-1197, CVE-2018-20685-style;
  // dpkg refuses the same "symlink then file" sequence.
  it('refuses an entry below a symlink (CVE-2007-4131, CVE-2015-1197)', () => {
    const tree = FsTree.withMergedUsr();
    tree.add(symlink('./usr/lib/x', '/etc'), { package: 'evil' });
    expect(refused(tree, file('./usr/lib/x/passwd'))).toBe(
      'package evil: entry "./usr/lib/x/passwd" goes through the symlink /usr/lib/x -> /etc; an archive may not write through a symlink',
    );
    // Through the merged link first, then the planted one: still refused.
    expect(refused(tree, file('/lib/x/shadow'))).toContain('goes through the symlink /usr/lib/x -> /etc');
    // A relative symlink is no better.
    tree.add(symlink('/usr/share/y', '../../..'), { package: 'evil' });
    expect(refused(tree, dir('/usr/share/y/etc'))).toContain('goes through the symlink /usr/share/y');
    expect(tree.has('/etc/passwd')).toBe(false);
    expect(tree.has('/usr/lib/x/passwd')).toBe(false);
  });

  it('refuses entries below another package’s symlink too', () => {
    const tree = new FsTree();
    tree.add(symlink('/usr/share/doc/libfoo-dev', 'libfoo1'), { package: 'libfoo-dev' });
    expect(thrown(() => tree.add(file('/usr/share/doc/libfoo-dev/README'), { package: 'other' })).message).toContain(
      'goes through the symlink /usr/share/doc/libfoo-dev -> libfoo1',
    );
  });

  it('leaves the tree unchanged when it refuses an entry', () => {
    const tree = new FsTree();
    tree.add(file('/a/f'), { package: 'p' });
    const before = tree.entries();
    thrown(() => tree.add(file('/b/c/d/../e'), { package: 'p' }));
    thrown(() => tree.add(file('/a/f/g/h'), { package: 'p' }));
    expect(tree.entries()).toEqual(before);
  });
});

describe('FsTree.add: hard links', () => {
  it('points a hard link at a file of the same package, canonicalised through merged /usr', () => {
    const tree = FsTree.withMergedUsr();
    tree.add(file('./usr/bin/perl5.36.0'), { package: 'perl-base' });
    const link = tree.add(hardlink('./usr/bin/perl', './bin/perl5.36.0'), { package: 'perl-base' });
    expect(link).toMatchObject({ type: 'hardlink', path: '/usr/bin/perl', target: '/usr/bin/perl5.36.0' });
    // A link to a link names the file.
    expect(tree.add(hardlink('/bin/perl-again', '/usr/bin/perl'), { package: 'perl-base' })).toMatchObject({
      path: '/usr/bin/perl-again',
      target: '/usr/bin/perl5.36.0',
    });
  });

  it('refuses a hard link to a missing entry, a directory, another package’s file, or itself', () => {
    const tree = FsTree.withMergedUsr();
    tree.add(file('/etc/shadow'), { package: 'base-passwd' });
    tree.add(file('/usr/bin/x'), { package: 'evil' });
    const e1 = thrown(() => tree.add(hardlink('./usr/bin/y', './usr/bin/missing'), { package: 'evil' }));
    expect(e1.code).toBe('BF_UNSAFE_ARCHIVE');
    expect(e1.message).toBe(
      'package evil: entry "./usr/bin/y" is a hard link to "./usr/bin/missing", which is not in the tree; a hard link must name a file extracted before it',
    );
    expect(thrown(() => tree.add(hardlink('/x', '/usr/lib'), { package: 'evil' })).message).toContain('which is a dir');
    expect(thrown(() => tree.add(hardlink('/x', '/etc/shadow'), { package: 'evil' })).message).toBe(
      'package evil: entry "/x" is a hard link to /etc/shadow, a file of package base-passwd; a hard link may only name a file of its own package',
    );
    expect(thrown(() => tree.add(hardlink('/usr/bin/x', '/bin/x'), { package: 'evil' })).message).toBe(
      'package evil: entry "/usr/bin/x" is a hard link to itself',
    );
    expect(thrown(() => tree.add(hardlink('/y', '../etc/shadow'), { package: 'evil' })).message).toContain(
      'has a ".." component',
    );
  });

  it('refuses a hard link whose target goes through a planted symlink', () => {
    const tree = new FsTree();
    tree.add(symlink('/a', '/etc'), { package: 'evil' });
    expect(thrown(() => tree.add(hardlink('/b', '/a/shadow'), { package: 'evil' })).message).toContain(
      'goes through the symlink /a -> /etc',
    );
  });

  it('keeps the content for the other names when a linked file is replaced or removed', () => {
    const tree = new FsTree();
    tree.add(file('/usr/bin/gzip', 'a'.repeat(64), { mode: 0o755 }), { package: 'gzip' });
    tree.add(hardlink('/usr/bin/gunzip', '/usr/bin/gzip'), { package: 'gzip' });
    tree.add(hardlink('/usr/bin/zcat', '/usr/bin/gzip'), { package: 'gzip' });
    tree.add(file('/usr/bin/gzip', 'b'.repeat(64)), { package: 'other' });
    expect(tree.get('/usr/bin/gunzip')).toMatchObject({ type: 'file', sha256: 'a'.repeat(64), mode: 0o755 });
    expect(tree.get('/usr/bin/zcat')).toMatchObject({ type: 'hardlink', target: '/usr/bin/gunzip' });
    expect(tree.remove('/usr/bin/gunzip')).toBe(true);
    expect(tree.get('/usr/bin/zcat')).toMatchObject({ type: 'file', sha256: 'a'.repeat(64) });
  });
});

describe('FsTree.resolve', () => {
  const tree = FsTree.withMergedUsr();
  tree.add(file('/usr/bin/dash'));
  tree.add(symlink('/usr/bin/sh', 'dash'));
  tree.add(symlink('/etc/alternatives/awk', '/usr/bin/mawk'));
  tree.add(file('/usr/bin/mawk'));
  tree.add(symlink('/usr/bin/awk', '/etc/alternatives/awk'));
  tree.add(symlink('/usr/share/up', '../../../../../../usr/bin/dash'));
  tree.add(symlink('/loop/a', 'b'));
  tree.add(symlink('/loop/b', 'a'));
  tree.add(symlink('/dangling', '/nowhere'));

  it('follows relative and absolute symlinks inside the tree', () => {
    expect(tree.resolve('/bin/sh')?.path).toBe('/usr/bin/dash');
    expect(tree.resolve('/bin/awk')?.path).toBe('/usr/bin/mawk');
    expect(tree.resolve('/lib/../bin/sh')?.path).toBe('/usr/bin/dash');
  });

  it('clamps ".." at the root of the tree', () => {
    expect(tree.resolve('/usr/share/up')?.path).toBe('/usr/bin/dash');
    expect(tree.resolve('/../../usr/bin/dash')?.path).toBe('/usr/bin/dash');
  });

  it('does not follow the last component when asked not to', () => {
    expect(tree.resolve('/bin/sh', { follow: false })).toMatchObject({ path: '/usr/bin/sh', type: 'symlink' });
    expect(tree.resolve('/bin', { follow: false })?.type).toBe('symlink');
    expect(tree.resolve('/bin')?.path).toBe('/usr/bin');
  });

  it('returns undefined for loops, dangling links and files used as directories', () => {
    expect(tree.resolve('/loop/a')).toBeUndefined();
    expect(tree.resolve('/dangling')).toBeUndefined();
    expect(tree.resolve('/usr/bin/dash/x')).toBeUndefined();
    expect(tree.resolve('/nope')).toBeUndefined();
  });
});

describe('FsTree entries, get, remove', () => {
  it('sorts paths in UTF-8 byte order, not UTF-16 order', () => {
    const tree = new FsTree();
    for (const p of ['/z', '/\uFFFD', '/\u{1F600}', '/a-b', '/a/b', '/A', '/é']) tree.add(file(p));
    // U+1F600 is a surrogate pair in UTF-16 (0xD83D...), which sorts before U+FFFD there; in UTF-8 it is F0 9F..., after EF BF BD.
    expect(paths(tree)).toEqual(['/', '/A', '/a', '/a-b', '/a/b', '/z', '/é', '/\uFFFD', '/\u{1F600}']);
  });

  it('removes a directory with everything below it, and the owners with it', () => {
    const tree = FsTree.withMergedUsr();
    tree.add(file('/usr/share/doc/a/copyright'), { package: 'a' });
    tree.add(file('/usr/share/doc/b'), { package: 'b' });
    expect(tree.remove('/usr/share/doc/a')).toBe(true);
    expect(tree.remove('/usr/share/doc/a')).toBe(false);
    expect(paths(tree).filter((p) => p.startsWith('/usr/share'))).toEqual([
      '/usr/share',
      '/usr/share/doc',
      '/usr/share/doc/b',
    ]);
    expect(tree.owner.has('/usr/share/doc/a/copyright')).toBe(false);
  });

  it('removes through merged /usr, and a merged link whose directory is gone stops being followed', () => {
    const tree = FsTree.withMergedUsr();
    tree.add(file('/bin/sh'));
    expect(tree.remove('/bin/sh')).toBe(true);
    expect(tree.has('/usr/bin/sh')).toBe(false);
    tree.remove('/usr/bin');
    expect(thrown(() => tree.add(file('/bin/sh'), { package: 'p' })).code).toBe('BF_UNSAFE_ARCHIVE');
  });

  it('answers undefined for paths that cannot exist', () => {
    const tree = new FsTree();
    expect(tree.get('/a/../b')).toBeUndefined();
    expect(tree.get('/no/such')).toBeUndefined();
    expect(tree.get('/')?.type).toBe('dir');
  });
});
