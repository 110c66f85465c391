/**
 * Tiny real .debs for the Debian-configuration tests: made by test/helpers/make-deb.ts with
 * the layout dpkg-deb writes (sorted members, every directory listed, "./" first), unpacked
 * by bootforge's own extractor, and assembled into a merged-/usr tree.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MemoryBlobStore } from '../../../../src/fstree/blobs.js';
import type { FsTree } from '../../../../src/fstree/tree.js';
import {
  debianConfiguration,
  type DebianConfiguration,
  type DebianOptions,
} from '../../../../src/install/debian/index.js';
import { extractDeb } from '../../../../src/packages/deb.js';
import { assembleTree, type UnpackedPackage } from '../../../../src/packages/unpack.js';
import { makeDeb, type TarInput } from '../../../helpers/make-deb.js';

export interface TestPackage {
  readonly name: string;
  readonly version?: string;
  readonly architecture?: string;
  /** Extra control fields (Depends, Multi-Arch, Description, ...). */
  readonly control?: Readonly<Record<string, string>>;
  /** Archive path ("bin/bash", "usr/share/doc/x") → content; a leading "./" or "/" is optional. */
  readonly files?: Readonly<Record<string, string | { content: string; mode: number }>>;
  readonly symlinks?: Readonly<Record<string, string>>;
  readonly postinst?: string;
  /** Other control.tar members (conffiles, triggers, templates, ...). */
  readonly controlFiles?: Readonly<Record<string, string>>;
}

const clean = (p: string) => p.replace(/^(\.\/|\/)+/, '');

/** The data.tar members dpkg-deb would write for these files: sorted, every directory listed. */
function members(pkg: TestPackage): TarInput[] {
  const dirs = new Set<string>();
  const all = [...Object.keys(pkg.files ?? {}), ...Object.keys(pkg.symlinks ?? {})].map(clean);
  for (const p of all) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: { name: string; input: TarInput }[] = [{ name: '', input: { name: './', type: 'directory' } }];
  for (const d of dirs) entries.push({ name: `${d}/`, input: { name: `./${d}/`, type: 'directory' } });
  for (const [p, f] of Object.entries(pkg.files ?? {})) {
    const content = typeof f === 'string' ? f : f.content;
    const mode = typeof f === 'string' ? 0o644 : f.mode;
    entries.push({ name: clean(p), input: { name: `./${clean(p)}`, content, mode } });
  }
  for (const [p, target] of Object.entries(pkg.symlinks ?? {})) {
    entries.push({ name: clean(p), input: { name: `./${clean(p)}`, type: 'symlink', linkname: target } });
  }
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))).map((e) => e.input);
}

function md5sums(pkg: TestPackage): string {
  const conffiles = new Set((pkg.controlFiles?.['conffiles'] ?? '').split('\n').filter((l) => l !== ''));
  return Object.entries(pkg.files ?? {})
    .filter(([p]) => !conffiles.has(`/${clean(p)}`))
    .map(([p, f]) => {
      const content = typeof f === 'string' ? f : f.content;
      return `${createHash('md5').update(content).digest('hex')}  ${clean(p)}\n`;
    })
    .sort()
    .join('');
}

export async function unpackTestPackage(pkg: TestPackage, blobs: MemoryBlobStore): Promise<UnpackedPackage> {
  const bytes = await makeDeb({
    package: pkg.name,
    control: {
      Version: pkg.version ?? '1.0-1',
      Architecture: pkg.architecture ?? 'amd64',
      Maintainer: 'Bootforge Tests <tests@bootforge.invalid>',
      ...pkg.control,
      Description: pkg.control?.['Description'] ?? `${pkg.name} test package`,
    },
    controlFiles: {
      md5sums: md5sums(pkg),
      ...(pkg.postinst === undefined ? {} : { postinst: pkg.postinst }),
      ...pkg.controlFiles,
    },
    data: members(pkg),
    compression: 'gz',
    controlCompression: 'gz',
  });
  const extracted = await extractDeb(bytes, { package: pkg.name, blobs });
  const controlFiles: Record<string, string> = {};
  for (const [name, data] of Object.entries(extracted.controlFiles)) controlFiles[name] = await blobs.put(data);
  return {
    name: pkg.name,
    version: pkg.version ?? '1.0-1',
    architecture: pkg.architecture ?? 'amd64',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    control: extracted.control,
    controlFiles,
    entries: extracted.entries,
  };
}

export interface TestSystem {
  readonly packages: UnpackedPackage[];
  readonly tree: FsTree;
  readonly blobs: MemoryBlobStore;
}

export async function testSystem(pkgs: readonly TestPackage[]): Promise<TestSystem> {
  const blobs = new MemoryBlobStore();
  const packages: UnpackedPackage[] = [];
  for (const p of pkgs) packages.push(await unpackTestPackage(p, blobs));
  return { packages, tree: assembleTree(packages), blobs };
}

/** base-passwd's masters as bookworm ships them (the parts the tests need). */
export const BASE_PASSWD: TestPackage = {
  name: 'base-passwd',
  version: '3.6.1',
  control: { Essential: 'yes', Priority: 'required', Section: 'admin' },
  files: {
    'usr/share/base-passwd/passwd.master':
      'root:*:0:0:root:/root:/bin/bash\ndaemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nmail:*:8:8:mail:/var/mail:/usr/sbin/nologin\n_apt:*:42:65534::/nonexistent:/usr/sbin/nologin\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    'usr/share/base-passwd/group.master':
      'root:*:0:\ndaemon:*:1:\nmail:*:8:\nsudo:*:27:\nshadow:*:42:\nutmp:*:43:\nnogroup:*:65534:\n',
  },
  postinst: `#!/bin/sh
set -e
if [ ! "$1" = "configure" ] ; then
    exit 0
fi
if [ ! -e "$DPKG_ROOT/etc/passwd" ] ; then
	cp "$DPKG_ROOT/usr/share/base-passwd/passwd.master" "$DPKG_ROOT/etc/passwd"
fi
if [ ! -e "$DPKG_ROOT/etc/group" ] ; then
	cp "$DPKG_ROOT/usr/share/base-passwd/group.master" "$DPKG_ROOT/etc/group"
fi
exit 0
`,
};

/** A package that gives the tree /etc (most scripts write there). */
export const BASE_FILES: TestPackage = {
  name: 'base-files',
  version: '12.4',
  control: { Essential: 'yes', Priority: 'required' },
  files: { 'etc/debian_version': '12.11\n', 'usr/share/base-files/motd': 'motd\n' },
};

/** The epilogue dh_installdeb writes around snippets: a "#DEBHELPER#" expansion inside a script. */
export function dhScript(body: string): string {
  return `#!/bin/sh\nset -e\n\n${body}\n\nexit 0\n`;
}

export const OPTIONS: DebianOptions = { init: 'systemd', enable: [], disable: [], epochSeconds: 1_700_000_000 };

/** debianConfiguration on test packages. */
export async function configure(
  pkgs: readonly TestPackage[],
  options: Partial<DebianOptions> = {},
): Promise<DebianConfiguration & { system: TestSystem }> {
  const system = await testSystem(pkgs);
  const config = await debianConfiguration({ ...system, options: { ...OPTIONS, ...options } });
  return { ...config, system };
}

export function fileOf(config: DebianConfiguration, path: string): string | undefined {
  return config.files.find((f) => f.path === path)?.data.toString('utf8');
}

export function linkOf(config: DebianConfiguration, path: string): string | undefined {
  return config.symlinks.find((s) => s.path === path)?.target;
}

/** Writes the configuration's files and symlinks under a directory, for the host's dpkg tools. */
export function writeOut(config: DebianConfiguration, root: string): void {
  for (const d of config.dirs) mkdirSync(join(root, d.path), { recursive: true });
  for (const f of config.files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.data);
  }
  for (const s of config.symlinks) {
    mkdirSync(dirname(join(root, s.path)), { recursive: true });
    symlinkSync(s.target, join(root, s.path));
  }
}
