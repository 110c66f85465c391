import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/exec/run.js';
import type { FsTree } from '../../../src/fstree/tree.js';
import type { BlobStore } from '../../../src/fstree/types.js';
import { binaryClosure, fileAt } from '../../../src/initrd/binaries.js';
import { moduleNameFromPath, parseSoftdep } from '../../../src/initrd/modinfo.js';
import {
  indexKernelModules,
  moduleClosure,
  readKmodIndex,
  writeModuleFiles,
  type ModuleClosure,
  type ModuleIndex,
} from '../../../src/initrd/modules.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { PackageStore } from '../../../src/packages/unpack.js';
import { assembleTreeOf, openPackageSource, resolveClosures, unpackPackages } from '../../../src/pipeline/packages.js';

// The real Debian generic kernel through the mirror the host's apt uses, as test/integration/packages/live.test.ts
// gets it (the package cache makes this fast after the first run). BOOTFORGE_SKIP_LIVE=1 skips it.
const PACKAGES = ['linux-image-amd64', 'kmod', 'busybox-static', 'e2fsprogs', 'dosfstools'];
// What an installer initrd loads to find its disks and media (see the field notes).
const INSTALLER_MODULES = [
  'virtio_blk',
  'virtio_pci',
  'virtio_scsi',
  'sd_mod',
  'nvme',
  'ahci',
  'xhci_pci',
  'usb_storage',
  'uas',
  'ext4',
  'vfat',
  'nls_cp437',
  'nls_ascii',
];

const report = (line: string) => process.stdout.write(`[real-kernel] ${line}\n`);
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

describe.skipIf(process.env.BOOTFORGE_SKIP_LIVE === '1')('the real Debian generic kernel', () => {
  let tree: FsTree;
  let blobs: BlobStore;
  let kver: string;
  let index: ModuleIndex;
  let closure: ModuleClosure;
  const tmp = mkdtempSync(join(tmpdir(), 'bootforge-real-kernel-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }), 120_000);

  beforeAll(async () => {
    const start = performance.now();
    const source = openPackageSource(
      { suites: ['bookworm', 'bookworm-updates', 'bookworm-security'], components: ['main'], architecture: 'amd64' },
      {},
      new RecordingReporter(),
    );
    const { closures } = await resolveClosures(source, {
      kernel: { requests: PACKAGES, essential: false, priorities: [] },
    });
    const list = closures.kernel ?? [];
    const image = list.find((p) => /^linux-image-6\.\d+\.\d+-\d+-amd64$/.test(p.record.name));
    if (image === undefined) throw new Error('no versioned generic kernel in the closure');
    kver = image.record.name.replace('linux-image-', '');
    tree = assembleTreeOf(
      await unpackPackages(
        source,
        list.map((p) => p.record),
      ),
    );
    blobs = new PackageStore(source.cacheRoot).blobs;
    report(
      `kernel ${kver}: ${list.length} packages resolved and unpacked in ${Math.round(performance.now() - start)} ms`,
    );
  }, 15 * 60_000);

  it('indexes every module quickly', async () => {
    const start = performance.now();
    index = await indexKernelModules(tree, blobs, kver);
    const ms = Math.round(performance.now() - start);
    report(`indexed ${index.modules.length} modules and ${index.builtins.length} built-ins in ${ms} ms`);
    expect(index.modules.length).toBeGreaterThan(3500);
    expect(index.builtins.length).toBeGreaterThan(100);
    expect(index.module('ext4')?.depends).toEqual(expect.arrayContaining(['jbd2', 'mbcache']) as unknown);
    // A warm run reads a few KiB of each module; allow slack for a loaded CI machine.
    expect(ms).toBeLessThan(10_000);
    const json = JSON.stringify(index);
    report(`index as JSON: ${mib(json.length)}`);
  });

  it('writes the same modules.dep, modules.alias and indexes as depmod, for every module', async (ctx) => {
    const depmod = findDepmod(tree, blobs, join(tmp, 'bin'));
    if (depmod === undefined) {
      ctx.skip('no depmod on the host and no kmod in the package tree');
      return;
    }
    const root = join(tmp, 'depmod');
    const moddir = join(root, 'lib', 'modules', kver);
    for (const m of index.modules) {
      const file = fileAt(tree, index.treePath(m));
      const source = file === undefined ? undefined : blobs.pathOf?.(file.sha256);
      if (source === undefined) throw new Error(`no blob file for ${m.path}`);
      mkdirSync(dirname(join(moddir, m.path)), { recursive: true });
      symlinkSync(source, join(moddir, m.path));
    }
    for (const name of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      const file = fileAt(tree, `${index.dir}/${name}`);
      if (file === undefined) throw new Error(`the kernel package has no ${name}`);
      writeFileSync(join(moddir, name), await blobs.get(file.sha256));
    }
    const start = performance.now();
    await run([depmod, '-b', root, kver], { timeoutMs: 120_000 });
    report(`depmod (${depmod}) took ${Math.round(performance.now() - start)} ms`);
    const theirs = (name: string) => readFileSync(join(moddir, name));

    const all = moduleClosure(index, ['*']);
    expect(all.modules.length).toBe(index.modules.length);
    expect(all.cycles).toEqual([]);
    const ours = writeModuleFiles(all, kver).files;
    const mine = (name: string) => ours.get(name) ?? Buffer.alloc(0);

    // modules.dep: module → set of dependencies, for all of them.
    const depMap = (text: string) =>
      new Map(
        text
          .trim()
          .split('\n')
          .map((line) => {
            const [mod, deps] = line.split(':');
            return [mod ?? '', [...new Set((deps ?? '').split(' ').filter((d) => d !== ''))].sort()] as const;
          }),
      );
    const theirDeps = depMap(theirs('modules.dep').toString());
    const ourDeps = depMap(mine('modules.dep').toString());
    expect(ourDeps.size).toBe(theirDeps.size);
    const depDiffs = [...theirDeps].filter(([m, d]) => JSON.stringify(ourDeps.get(m)) !== JSON.stringify(d));
    expect(depDiffs).toEqual([]);
    // And the same order of lines (modules.order).
    expect([...ourDeps.keys()]).toEqual([...theirDeps.keys()]);

    // modules.alias: every line.
    const lines = (b: Buffer) =>
      b
        .toString()
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .sort();
    const theirAliases = lines(theirs('modules.alias'));
    expect(lines(mine('modules.alias'))).toEqual(theirAliases);
    report(
      `modules.dep: ${theirDeps.size} modules identical (as sets); modules.alias: ${theirAliases.length} lines identical`,
    );

    // modules.softdep: the same pre/post lists per module.
    const softdeps = (b: Buffer) => {
      const map = new Map<string, { pre: string[]; post: string[] }>();
      for (const line of b.toString().split('\n')) {
        const m = /^softdep (\S+) (.*)$/.exec(line);
        if (m === null) continue;
        const entry = map.get(m[1] ?? '') ?? { pre: [], post: [] };
        parseSoftdep(m[2] ?? '', entry);
        map.set(m[1] ?? '', entry);
      }
      return new Map([...map].filter(([, v]) => v.pre.length + v.post.length > 0));
    };
    expect(softdeps(mine('modules.softdep'))).toEqual(softdeps(theirs('modules.softdep')));

    // kmod's binary indexes, read back: the same keys and values.
    const sameIndex = (name: string, normalise: (value: string) => string = (v) => v) => {
      const a = readKmodIndex(theirs(name));
      const b = readKmodIndex(mine(name));
      const flat = (m: Map<string, { value: string }[]>) =>
        [...m]
          .map(
            ([k, vs]) =>
              `${k} ${vs
                .map((v) => normalise(v.value))
                .sort()
                .join(',')}`,
          )
          .sort();
      expect(flat(b), name).toEqual(flat(a));
      return { keys: a.size, identical: theirs(name).equals(mine(name)) };
    };
    const depLineSet = (v: string) => {
      const [mod, deps] = v.split(':');
      return `${mod}:${(deps ?? '')
        .split(' ')
        .filter((d) => d !== '')
        .sort()
        .join(' ')}`;
    };
    const results = {
      'modules.dep.bin': sameIndex('modules.dep.bin', depLineSet),
      'modules.alias.bin': sameIndex('modules.alias.bin'),
      'modules.builtin.bin': sameIndex('modules.builtin.bin'),
      ...(existsSync(join(moddir, 'modules.builtin.alias.bin'))
        ? { 'modules.builtin.alias.bin': sameIndex('modules.builtin.alias.bin') }
        : {}),
    };
    for (const [name, r] of Object.entries(results))
      report(`${name}: ${r.keys} keys, same content; ${r.identical ? 'byte-identical' : 'bytes differ (value order)'}`);
  }, 180_000);

  it('closes the installer module set: virtio, NVMe, AHCI, USB storage, ext4, vfat', () => {
    closure = moduleClosure(index, INSTALLER_MODULES);
    const names = closure.modules.map((m) => m.module.name);
    report(
      `installer closure: ${names.length} modules, ${mib(closure.size)}; built-in: ${closure.builtins.join(' ') || 'none'}`,
    );
    report(`load order: ${names.join(' ')}`);
    for (const m of INSTALLER_MODULES) if (!closure.builtins.includes(m)) expect(names).toContain(m);
    // ext4's soft dependency crypto-crc32c brings the crc32c implementations.
    expect(names).toEqual(expect.arrayContaining(['crc32c_generic', 'jbd2', 'mbcache', 'fat', 'scsi_mod']) as unknown);
    expect(names.length).toBeGreaterThan(20);
    expect(names.length).toBeLessThan(60);
    expect(closure.size).toBeLessThan(12 * 1048576);
    const position = new Map(names.map((n, i) => [n, i]));
    for (const { module } of closure.modules)
      for (const d of module.depends) expect(position.get(d) ?? -1).toBeLessThan(position.get(module.name) ?? -1);
  });

  it("lets kmod's modprobe resolve names and modaliases from our files alone", async (ctx) => {
    const kmod = fileAt(tree, '/usr/bin/kmod');
    const kmodBlob = kmod === undefined ? undefined : blobs.pathOf?.(kmod.sha256);
    if (kmodBlob === undefined) {
      ctx.skip('no kmod in the package tree');
      return;
    }
    const bin = join(tmp, 'kmod-bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(kmodBlob, join(bin, 'kmod'));
    chmodSync(join(bin, 'kmod'), 0o755);
    if (!existsSync(join(bin, 'modprobe'))) symlinkSync('kmod', join(bin, 'modprobe'));
    const root = join(tmp, 'initrd-kmod');
    writeInitrdModules(root, closure, kver);
    const modprobe = async (what: string) =>
      (await run([join(bin, 'modprobe'), '-d', root, '-S', kver, '--show-depends', what])).stdout
        .toString()
        .trim()
        .split('\n')
        .map((l) => /^(insmod|builtin) (\S+)/.exec(l))
        .map((m) => (m?.[1] === 'builtin' ? `builtin ${m[2]}` : moduleNameFromPath(m?.[2] ?? '?')));
    // By name: the module comes last, after everything modules.dep lists for it.
    const ext4 = await modprobe('ext4');
    expect(ext4.at(-1)).toBe('ext4');
    expect(ext4).toEqual(expect.arrayContaining(['jbd2', 'mbcache', 'crc16', 'crc32c_generic']) as unknown);
    // By modalias: a virtio block device, an AHCI controller, a USB mass-storage interface.
    expect((await modprobe('pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00')).at(-1)).toBe('virtio_pci');
    expect(await modprobe('pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01')).toContain('ahci');
    expect(await modprobe('usb:v0781p5581d0100dc00dsc00dp00ic08isc06ip50in00')).toContain('usb_storage');
    // By alias (fs-vfat) and a built-in.
    expect((await modprobe('fs-vfat')).at(-1)).toBe('vfat');
    const builtin = index.builtins.find((b) => b.path !== undefined)?.name ?? 'unix';
    expect(await modprobe(builtin)).toEqual([`builtin ${builtin}`]);
  });

  it("lets busybox's modprobe resolve names and modaliases from our files alone", async (ctx) => {
    const busybox = fileAt(tree, '/usr/bin/busybox');
    const blob = busybox === undefined ? undefined : blobs.pathOf?.(busybox.sha256);
    if (blob === undefined || process.getuid?.() !== 0 || !existsSync('/usr/sbin/chroot')) {
      ctx.skip('needs root and chroot (busybox modprobe reads /lib/modules/$(uname -r) only)');
      return;
    }
    // busybox opens /lib/modules/<running kernel>/...: a chroot with our files under the host's release.
    const root = join(tmp, 'initrd-busybox');
    writeInitrdModules(root, closure, release(), false);
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'proc'), { recursive: true });
    writeFileSync(join(root, 'proc', 'modules'), '');
    copyFileSync(blob, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const modprobe = async (what: string) =>
      (await run(['chroot', root, '/bin/busybox', 'modprobe', '-D', what], { okCodes: [0, 1] })).stdout
        .toString()
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('insmod '))
        .map((l) => moduleNameFromPath(l.split(' ')[1] ?? '?'));
    const ext4 = await modprobe('ext4');
    expect(ext4.at(-1)).toBe('ext4');
    expect(ext4).toEqual(expect.arrayContaining(['jbd2', 'mbcache', 'crc16']) as unknown);
    // busybox does not read modules.softdep: crc32c is not pulled in (the init script loads the whole closure).
    expect(ext4).not.toContain('crc32c_generic');
    expect((await modprobe('pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00')).at(-1)).toBe('virtio_pci');
    expect((await modprobe('usb-storage')).at(-1)).toBe('usb_storage');
    expect((await modprobe('fs-vfat')).at(-1)).toBe('vfat');
    // Loading in the closure's order satisfies busybox too: each module's deps come first.
    const seen = new Set<string>();
    for (const { module } of closure.modules) {
      const plan = await modprobe(module.name);
      for (const step of plan.slice(0, -1)) expect(seen.has(step), `${step} before ${module.name}`).toBe(true);
      seen.add(module.name);
    }
  }, 120_000);

  it('resolves the installer programs and their libraries inside the tree', async () => {
    const c = await binaryClosure(tree, blobs, ['busybox', 'mkfs.ext4', 'mkfs.fat', 'modprobe']);
    report(
      `programs: ${c.binaries.map((b) => `${b.name} -> ${b.file}`).join(', ')}; ${c.libraries.length} libraries; ` +
        `${c.paths.length} paths`,
    );
    expect(c.binaries.find((b) => b.name === 'busybox')?.static).toBe(true);
    expect(c.binaries.find((b) => b.name === 'mkfs.ext4')?.file).toBe('/usr/sbin/mke2fs');
    expect(c.binaries.find((b) => b.name === 'modprobe')?.file).toBe('/usr/bin/kmod');
    const sonames = c.libraries.map((l) => l.soname);
    expect(sonames).toEqual(expect.arrayContaining(['libc.so.6', 'libext2fs.so.2', 'libzstd.so.1']) as unknown);
    expect(c.paths.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/lib64', '/usr/sbin/mkfs.ext4', '/usr/sbin/mke2fs']) as unknown,
    );
  });
});

/** depmod from the host, else kmod from the package tree under the name depmod (kmod picks its applet by name). */
function findDepmod(tree: FsTree, blobs: BlobStore, bin: string): string | undefined {
  for (const p of ['/usr/sbin/depmod', '/sbin/depmod']) if (existsSync(p)) return p;
  const kmod = fileAt(tree, '/usr/bin/kmod');
  const blob = kmod === undefined ? undefined : blobs.pathOf?.(kmod.sha256);
  if (blob === undefined) return undefined;
  mkdirSync(bin, { recursive: true });
  const depmod = join(bin, 'depmod');
  copyFileSync(blob, depmod);
  chmodSync(depmod, 0o755);
  return depmod;
}

/** An initrd's /lib/modules/<kver> on disk: our module files, and (with `withModules`) the closure's .ko files. */
function writeInitrdModules(root: string, closure: ModuleClosure, kver: string, withModules = true): void {
  const dir = join(root, 'lib', 'modules', kver);
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of writeModuleFiles(closure, closure.kver).files) writeFileSync(join(dir, name), data);
  if (!withModules) return;
  for (const { module } of closure.modules) {
    mkdirSync(dirname(join(dir, module.path)), { recursive: true });
    writeFileSync(join(dir, module.path), '');
  }
}
