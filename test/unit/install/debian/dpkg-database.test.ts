import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archivePaths } from '../../../../src/install/debian/archive-paths.js';
import { statusStanza } from '../../../../src/install/debian/dpkg-status.js';
import type { DebianConfiguration } from '../../../../src/install/debian/index.js';
import { hasTool } from '../../../helpers/debrepo.js';
import { BASE_FILES, configure, fileOf, writeOut, type TestPackage } from './debs.js';

const BASH: TestPackage = {
  name: 'bash',
  version: '5.2.15-2+b2',
  control: {
    Essential: 'yes',
    'Multi-Arch': 'foreign',
    Priority: 'required',
    Section: 'shells',
    'Installed-Size': '7164',
    Homepage: 'http://tiswww.case.edu/php/chet/bash/bashtop.html',
    'Pre-Depends': 'libc6 (>= 2.36)',
    Depends: 'base-files (>= 2.1.12)',
    Source: 'bash (5.2.15-2)',
    Description: 'GNU Bourne Again SHell\n Bash is an sh-compatible command language interpreter.\n .\n It is free.',
  },
  files: {
    'bin/bash': { content: '#!bash\n', mode: 0o755 },
    'etc/bash.bashrc': '# system-wide .bashrc\n',
    'usr/bin/bashbug': { content: '#!/bin/sh\n', mode: 0o755 },
  },
  symlinks: { 'bin/rbash': 'bash' },
  controlFiles: { conffiles: '/etc/bash.bashrc\n' },
  postinst: '#!/bin/sh\nset -e\nexit 0\n',
};

const LIBC: TestPackage = {
  name: 'libc6',
  version: '2.36-9+deb12u4',
  control: { 'Multi-Arch': 'same', Priority: 'optional', Section: 'libs', Source: 'glibc' },
  files: { 'lib/x86_64-linux-gnu/libc.so.6': 'ELF', 'usr/share/doc/libc6/copyright': 'GPL' },
  symlinks: { 'lib64/ld-linux-x86-64.so.2': '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
  controlFiles: {
    triggers: '# Triggers added by dh_makeshlibs\nactivate-noawait ldconfig\n',
    shlibs: 'libc 6 libc6 (>= 2.36)\n',
  },
};

const LIBC_BIN: TestPackage = {
  name: 'libc-bin',
  version: '2.36-9+deb12u4',
  control: { Essential: 'yes', 'Multi-Arch': 'foreign' },
  files: { 'sbin/ldconfig': { content: 'ELF', mode: 0o755 } },
  controlFiles: { triggers: 'interest-await ldconfig\n' },
};

const GLIB: TestPackage = {
  name: 'libglib2.0-0',
  version: '2.74.6-2',
  control: { 'Multi-Arch': 'same' },
  files: { 'usr/lib/x86_64-linux-gnu/libglib-2.0.so.0': 'ELF' },
  controlFiles: {
    triggers: 'interest-noawait /usr/lib/x86_64-linux-gnu/gio/modules\ninterest-await /usr/share/glib-2.0/schemas\n',
  },
};

describe('the dpkg database', () => {
  let config: DebianConfiguration;
  beforeAll(async () => {
    config = await configure([BASE_FILES, LIBC, LIBC_BIN, BASH, GLIB]);
  }, 60_000);

  it("writes one stanza per package, in dpkg's field order, with conffiles and their MD5", () => {
    const status = fileOf(config, '/var/lib/dpkg/status') ?? '';
    const stanzas = status.split('\n\n').filter((s) => s.trim() !== '');
    expect(stanzas.map((s) => /^Package: (.*)$/m.exec(s)?.[1])).toEqual([
      'base-files',
      'bash',
      'libc-bin',
      'libc6',
      'libglib2.0-0',
    ]);
    const md5 = createHash('md5').update('# system-wide .bashrc\n').digest('hex');
    expect(stanzas[1]).toBe(
      [
        'Package: bash',
        'Essential: yes',
        'Status: install ok installed',
        'Priority: required',
        'Section: shells',
        'Installed-Size: 7164',
        'Maintainer: Bootforge Tests <tests@bootforge.invalid>',
        'Architecture: amd64',
        'Multi-Arch: foreign',
        'Source: bash (5.2.15-2)',
        'Version: 5.2.15-2+b2',
        'Depends: base-files (>= 2.1.12)',
        'Pre-Depends: libc6 (>= 2.36)',
        'Conffiles:',
        ` /etc/bash.bashrc ${md5}`,
        'Description: GNU Bourne Again SHell',
        ' Bash is an sh-compatible command language interpreter.',
        ' .',
        ' It is free.',
        'Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html',
      ].join('\n'),
    );
  });

  it('lists every path as the archive names it, "/." first, merged-/usr links by their old names', () => {
    expect(fileOf(config, '/var/lib/dpkg/info/bash.list')).toBe(
      [
        '/.',
        '/bin',
        '/bin/bash',
        '/bin/rbash',
        '/etc',
        '/etc/bash.bashrc',
        '/usr',
        '/usr/bin',
        '/usr/bin/bashbug',
        '',
      ].join('\n'),
    );
  });

  it('names the files of Multi-Arch: same packages pkg:arch, and keeps the control files dpkg keeps', () => {
    const info = config.files.filter((f) => f.path.startsWith('/var/lib/dpkg/info/libc6')).map((f) => f.path);
    expect(info.sort()).toEqual([
      '/var/lib/dpkg/info/libc6:amd64.list',
      '/var/lib/dpkg/info/libc6:amd64.md5sums',
      '/var/lib/dpkg/info/libc6:amd64.shlibs',
      '/var/lib/dpkg/info/libc6:amd64.triggers',
    ]);
    expect(config.files.find((f) => f.path === '/var/lib/dpkg/info/bash.postinst')?.mode).toBe(0o755);
    expect(fileOf(config, '/var/lib/dpkg/info/bash.conffiles')).toBe('/etc/bash.bashrc\n');
    expect(fileOf(config, '/var/lib/dpkg/info/format')).toBe('1\n');
    expect(fileOf(config, '/var/lib/dpkg/arch')).toBe('amd64\n');
  });

  it('registers trigger interests as dpkg does', () => {
    expect(fileOf(config, '/var/lib/dpkg/triggers/File')).toBe(
      '/usr/lib/x86_64-linux-gnu/gio/modules libglib2.0-0:amd64/noawait\n/usr/share/glib-2.0/schemas libglib2.0-0:amd64\n',
    );
    expect(fileOf(config, '/var/lib/dpkg/triggers/ldconfig')).toBe('libc-bin\n');
  });

  describe("read by the host's dpkg", () => {
    let root: string;
    let skip = false;
    beforeAll(async () => {
      skip = !(await hasTool('dpkg-query'));
      root = mkdtempSync(join(tmpdir(), 'bf-dpkgdb-'));
      writeOut(config, root);
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const admin = () => join(root, 'var/lib/dpkg');

    it('dpkg-query lists every package as installed', (ctx) => {
      if (skip) ctx.skip('dpkg-query is not installed');
      const r = spawnSync('dpkg-query', [`--admindir=${admin()}`, '-W', '-f=${Package} ${Version} ${Status}\\n'], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        [
          'base-files 12.4 install ok installed',
          'bash 5.2.15-2+b2 install ok installed',
          'libc-bin 2.36-9+deb12u4 install ok installed',
          'libc6 2.36-9+deb12u4 install ok installed',
          'libglib2.0-0 2.74.6-2 install ok installed',
          '',
        ].join('\n'),
      );
    });

    it('dpkg-query -L and -S find the files; dpkg --audit finds nothing wrong', (ctx) => {
      if (skip) ctx.skip('dpkg-query is not installed');
      const list = spawnSync('dpkg-query', [`--admindir=${admin()}`, '-L', 'libc6'], { encoding: 'utf8' });
      expect(list.stdout.split('\n')).toContain('/lib64/ld-linux-x86-64.so.2');
      const search = spawnSync('dpkg-query', [`--admindir=${admin()}`, '-S', '/bin/bash'], { encoding: 'utf8' });
      expect(search.stdout).toBe('bash: /bin/bash\n');
      const audit = spawnSync('dpkg', [`--admindir=${admin()}`, '--audit'], { encoding: 'utf8' });
      expect({ status: audit.status, out: audit.stdout + audit.stderr }).toEqual({ status: 0, out: '' });
    });
  });
});

describe('archive paths', () => {
  it('come back from md5sums for files and from archive order for the rest', () => {
    const entries = [
      { type: 'dir', path: '/' },
      { type: 'dir', path: '/usr/bin' },
      { type: 'file', path: '/usr/bin/bash' },
      { type: 'symlink', path: '/usr/bin/rbash' },
      { type: 'dir', path: '/usr' },
      { type: 'dir', path: '/usr/bin' },
      { type: 'file', path: '/usr/bin/bashbug' },
      { type: 'dir', path: '/usr/lib' },
    ].map((e) => ({ ...e, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, sha256: '', target: 'x' })) as never[];
    expect(
      archivePaths({
        entries,
        md5sums: 'aa'.repeat(16) + '  bin/bash\n' + 'bb'.repeat(16) + '  usr/bin/bashbug\n',
        mergedDirs: ['bin', 'lib'],
      }),
    ).toEqual(['/.', '/bin', '/bin/bash', '/bin/rbash', '/usr', '/usr/bin', '/usr/bin/bashbug', '/usr/lib']);
  });

  it('leave a package without merged directories alone', () => {
    expect(
      statusStanza({ control: { Package: 'x', Version: '1', Essential: 'no', Description: 'x' }, conffiles: [] }),
    ).toBe('Package: x\nStatus: install ok installed\nVersion: 1\nDescription: x\n\n');
  });
});
