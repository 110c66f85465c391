import { beforeAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { MemoryBlobStore } from '../../../src/fstree/blobs.js';
import { FsTree } from '../../../src/fstree/tree.js';
import { binaryClosure, traceLinks } from '../../../src/initrd/binaries.js';
import { EM_AARCH64, ET_DYN, makeElf } from '../../helpers/make-elf.js';

const meta = { uid: 0, gid: 0, mtime: 0 };
const LD = '/lib64/ld-linux-x86-64.so.2';
const MULTIARCH = '/usr/lib/x86_64-linux-gnu';

let tree: FsTree;
let blobs: MemoryBlobStore;

/** A userland as bookworm lays it out: merged /usr, libraries behind soname links, ld.so reached through /lib64. */
async function userland(): Promise<{ tree: FsTree; blobs: MemoryBlobStore }> {
  const t = FsTree.withMergedUsr([...['bin', 'sbin', 'lib', 'lib64']]);
  const b = new MemoryBlobStore();
  const file = async (path: string, data: Buffer, mode = 0o755, pkg = 'test') =>
    t.add({ ...meta, mode, type: 'file', path, size: data.length, sha256: await b.put(data) }, { package: pkg });
  const link = (path: string, target: string) => t.add({ ...meta, mode: 0o777, type: 'symlink', path, target });
  const lib = (soname: string, needed: string[] = [], extra: Parameters<typeof makeElf>[0] = {}) =>
    makeElf({ type: ET_DYN, soname, needed, ...extra });

  await file(`${MULTIARCH}/ld-linux-x86-64.so.2`, lib('ld-linux-x86-64.so.2'));
  link('/usr/lib64/ld-linux-x86-64.so.2', `/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`);
  await file(`${MULTIARCH}/libc-2.36.so`, lib('libc.so.6', ['ld-linux-x86-64.so.2'], { interp: LD }));
  link(`${MULTIARCH}/libc.so.6`, 'libc-2.36.so');
  await file(`${MULTIARCH}/libext2fs.so.2.4`, lib('libext2fs.so.2', ['libcom_err.so.2', 'libc.so.6']));
  link(`${MULTIARCH}/libext2fs.so.2`, 'libext2fs.so.2.4');
  await file(`${MULTIARCH}/libcom_err.so.2.1`, lib('libcom_err.so.2', ['libc.so.6']));
  link(`${MULTIARCH}/libcom_err.so.2`, 'libcom_err.so.2.1');
  // A library of the wrong machine earlier in the search path: ld.so passes over it.
  await file(`${MULTIARCH}/libskip.so.1`, lib('libskip.so.1', [], { machine: EM_AARCH64 }));
  await file('/usr/lib/libskip.so.1', lib('libskip.so.1', ['libc.so.6']));

  const program = (needed: string[], extra: Parameters<typeof makeElf>[0] = {}) =>
    makeElf({ type: ET_DYN, interp: LD, needed, ...extra });
  await file('/usr/sbin/mke2fs', program(['libext2fs.so.2', 'libcom_err.so.2', 'libc.so.6']));
  link('/usr/sbin/mkfs.ext4', 'mke2fs');
  await file('/usr/bin/busybox', makeElf({ type: 2, sections: [{ name: '.text', data: Buffer.alloc(8) }] }));
  await file('/usr/bin/dash', program(['libc.so.6']));
  link('/usr/bin/sh', 'dash');
  await file('/usr/bin/hello', Buffer.from('#!/bin/sh -e\necho hello\n'));
  await file('/usr/bin/skipper', program(['libskip.so.1', 'libc.so.6']));
  // A private library found through DT_RUNPATH ($ORIGIN), as packages with plugins do.
  await file('/usr/lib/tool/bin/tool', program(['libtool-private.so.1', 'libc.so.6'], { runpath: '$ORIGIN/../lib' }));
  await file('/usr/lib/tool/lib/libtool-private.so.1', lib('libtool-private.so.1', ['libc.so.6']));
  link('/usr/bin/tool', '../lib/tool/bin/tool');
  await file('/usr/bin/broken', program(['libext2fs.so.2', 'libmissing.so.7']));
  return { tree: t, blobs: b };
}

beforeAll(async () => {
  ({ tree, blobs } = await userland());
});

async function rejection(p: Promise<unknown>): Promise<BootforgeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  throw new Error('expected a BootforgeError');
}

describe('traceLinks', () => {
  it('follows links inside the tree and lists them, merged-/usr ones included', () => {
    const t = traceLinks(tree, LD);
    expect(t.entry?.path).toBe(`${MULTIARCH}/ld-linux-x86-64.so.2`);
    expect(t.links.map((l) => `${l.path} -> ${l.target}`)).toEqual([
      '/lib64 -> usr/lib64',
      '/usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      '/lib -> usr/lib',
    ]);
    expect(traceLinks(tree, '/usr/bin/nothing')).toMatchObject({ entry: undefined, failedAt: '/usr/bin/nothing' });
    expect(traceLinks(tree, '/../../usr/bin/dash').entry?.path).toBe('/usr/bin/dash');
  });
});

describe('binaryClosure', () => {
  it('resolves a program through its symlink, with interpreter and library closure inside the tree', async () => {
    const c = await binaryClosure(tree, blobs, ['mkfs.ext4']);
    expect(c.binaries).toEqual([
      {
        name: 'mkfs.ext4',
        path: '/usr/sbin/mkfs.ext4',
        file: '/usr/sbin/mke2fs',
        interpreter: LD,
        needed: ['libext2fs.so.2', 'libcom_err.so.2', 'libc.so.6'],
        static: false,
      },
    ]);
    expect(c.paths.map((p) => `${p.type} ${p.path}${p.target === undefined ? '' : ` -> ${p.target}`}`)).toEqual([
      'symlink /lib -> usr/lib',
      'symlink /lib64 -> usr/lib64',
      'file /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      'file /usr/lib/x86_64-linux-gnu/libc-2.36.so',
      'symlink /usr/lib/x86_64-linux-gnu/libc.so.6 -> libc-2.36.so',
      'symlink /usr/lib/x86_64-linux-gnu/libcom_err.so.2 -> libcom_err.so.2.1',
      'file /usr/lib/x86_64-linux-gnu/libcom_err.so.2.1',
      'symlink /usr/lib/x86_64-linux-gnu/libext2fs.so.2 -> libext2fs.so.2.4',
      'file /usr/lib/x86_64-linux-gnu/libext2fs.so.2.4',
      'symlink /usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      'file /usr/sbin/mke2fs',
      'symlink /usr/sbin/mkfs.ext4 -> mke2fs',
    ]);
    const why = (path: string) => c.paths.find((p) => p.path === path)?.reasons;
    expect(why('/usr/sbin/mkfs.ext4')).toEqual(['program mkfs.ext4']);
    // Depth first, in DT_NEEDED order: libext2fs.so.2 leads to libcom_err.so.2, which needs libc first.
    expect(why(`${MULTIARCH}/libc-2.36.so`)).toEqual([
      `library libc.so.6 of ${MULTIARCH}/libcom_err.so.2.1`,
      `library libc.so.6 of ${MULTIARCH}/libext2fs.so.2.4`,
      'library libc.so.6 of /usr/sbin/mke2fs',
    ]);
    expect(why(`${MULTIARCH}/ld-linux-x86-64.so.2`)).toEqual([
      'interpreter of /usr/sbin/mke2fs',
      `library ld-linux-x86-64.so.2 of ${MULTIARCH}/libc-2.36.so`,
    ]);
    expect(c.libraries.find((l) => l.soname === 'libc.so.6')).toEqual({
      soname: 'libc.so.6',
      path: `${MULTIARCH}/libc.so.6`,
      file: `${MULTIARCH}/libc-2.36.so`,
      neededBy: [
        '/usr/lib/x86_64-linux-gnu/libcom_err.so.2.1',
        '/usr/lib/x86_64-linux-gnu/libext2fs.so.2.4',
        '/usr/sbin/mke2fs',
      ],
    });
  });

  it('takes a static program alone, by name or by absolute path', async () => {
    for (const name of ['busybox', '/usr/bin/busybox', '/bin/busybox']) {
      const c = await binaryClosure(tree, blobs, [name]);
      expect(c.binaries[0]).toMatchObject({ file: '/usr/bin/busybox', static: true, needed: [] });
      expect(c.paths.filter((p) => p.type === 'file').map((p) => p.path)).toEqual(['/usr/bin/busybox']);
      expect(c.libraries).toEqual([]);
    }
  });

  it('searches DT_RUNPATH with $ORIGIN before the system directories', async () => {
    const c = await binaryClosure(tree, blobs, ['tool']);
    expect(c.binaries[0]).toMatchObject({ path: '/usr/bin/tool', file: '/usr/lib/tool/bin/tool' });
    expect(c.libraries.find((l) => l.soname === 'libtool-private.so.1')).toMatchObject({
      path: '/usr/lib/tool/bin/../lib/libtool-private.so.1',
      file: '/usr/lib/tool/lib/libtool-private.so.1',
    });
    expect(c.paths.map((p) => p.path)).toContain('/usr/bin/tool');
  });

  it('passes over a library built for another machine, as ld.so does', async () => {
    const c = await binaryClosure(tree, blobs, ['skipper']);
    expect(c.libraries.find((l) => l.soname === 'libskip.so.1')?.path).toBe('/usr/lib/libskip.so.1');
    expect(c.paths.map((p) => p.path)).not.toContain(`${MULTIARCH}/libskip.so.1`);
  });

  it('follows a script to its interpreter and the interpreter to its libraries', async () => {
    const c = await binaryClosure(tree, blobs, ['hello']);
    expect(c.binaries.map((b) => [b.name, b.file, b.interpreter])).toEqual([
      ['hello', '/usr/bin/hello', '/bin/sh'],
      ['/bin/sh', '/usr/bin/dash', LD],
    ]);
    expect(c.paths.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/bin', '/usr/bin/sh', '/usr/bin/dash', `${MULTIARCH}/libc-2.36.so`]) as unknown,
    );
  });

  it('names the program, the missing library and who needs it', async () => {
    const e = await rejection(binaryClosure(tree, blobs, ['broken']));
    expect(e.code).toBe('BF_BINARY_NOT_FOUND');
    expect(e.message).toBe(
      'broken: library libmissing.so.7, needed by /usr/bin/broken, is not in the package tree (searched ' +
        '/usr/lib/x86_64-linux-gnu/libmissing.so.7, /lib/x86_64-linux-gnu/libmissing.so.7, /usr/lib/libmissing.so.7, ' +
        '/lib/libmissing.so.7, /lib64/libmissing.so.7)',
    );
    expect(e.hint).toBe('add the Debian package that ships libmissing.so.7 to the profile');
  });

  it('refuses a program that is not there, suggesting a near name, reporting every problem', async () => {
    const e = await rejection(binaryClosure(tree, blobs, ['mkfs.ext5', 'broken', '/usr/bin/none', 'bin/x']));
    expect(e.message).toBe('program mkfs.ext5 is not in the package tree (looked in /usr/sbin, /usr/bin, /sbin, /bin)');
    expect(e.hint).toBe('did you mean mkfs.ext4? Otherwise add the package that ships it');
    expect(e.also.map((x) => x.message)).toEqual([
      expect.stringMatching(/^broken: library libmissing\.so\.7/) as unknown,
      'program /usr/bin/none is not a file in the package tree',
      'program "bin/x" is neither a bare name nor an absolute path',
    ]);
  });

  it('refuses a program built for another machine', async () => {
    const t = FsTree.withMergedUsr();
    const b = new MemoryBlobStore();
    const data = makeElf({ type: 2, machine: EM_AARCH64 });
    t.add({
      ...meta,
      mode: 0o755,
      type: 'file',
      path: '/usr/bin/armprog',
      size: data.length,
      sha256: await b.put(data),
    });
    const e = await rejection(binaryClosure(t, b, ['armprog']));
    expect(e.code).toBe('BF_BAD_ELF');
    expect(e.message).toBe('/usr/bin/armprog (program armprog) is not built for ELF machine 62');
  });
});
