import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FsTree } from '../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../fstree/types.js';
import { binaryClosure, type InitrdPath } from '../initrd/binaries.js';
import { generatedFile } from '../initrd/cpio.js';
import { firmwareClosure } from '../initrd/firmware.js';
import { findKernel, type KernelInTree } from '../initrd/kernel.js';
import { indexKernelModules, moduleClosure, ModuleIndex, writeModuleFiles } from '../initrd/modules.js';
import { buildSegment, writeInitrd, type BuiltSegment } from '../initrd/segments.js';
import type { SegmentCompression } from '../initrd/compress.js';
import type { Reporter } from '../log/events.js';
import { startTask } from '../log/progress.js';
import { readJsonEntry, writeJsonEntry } from '../packages/cache.js';
import { storeBlobs } from '../packages/unpack.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import type { InitrdRole } from '../templates/contexts.js';
import { installStageContext } from '../install/installer.js';
import { renderTemplate } from '../templates/render.js';
import { assembleTreeOf, buildEpoch, closurePackages, unpackPackages, type PackageSource } from './packages.js';

// busybox applets every bootforge initrd links: what /init and the stage scripts call.
const BUSYBOX_APPLETS = [
  'sh',
  'ash',
  'mount',
  'umount',
  'modprobe',
  'insmod',
  'lsmod',
  'mkdir',
  'mknod',
  'cat',
  'ls',
  'echo',
  'printf',
  'sleep',
  'poweroff',
  'reboot',
  'halt',
  'switch_root',
  'chroot',
  'dmesg',
  'grep',
  'sed',
  'awk',
  'tr',
  'cut',
  'head',
  'tail',
  'wc',
  'sort',
  'uniq',
  'test',
  '[',
  'ln',
  'cp',
  'mv',
  'rm',
  'rmdir',
  'sync',
  'uname',
  'sha256sum',
  'dd',
  'find',
  'xargs',
  'stat',
  'readlink',
  'basename',
  'dirname',
  'date',
  'hostname',
  'setsid',
  'cttyhack',
  'blkid',
  'env',
  'true',
  'false',
  'kill',
  'ps',
  'touch',
  'chmod',
  'chown',
  'id',
  'seq',
  'expr',
  'tee',
  'od',
  'hexdump',
];

/** Programs each role needs besides busybox (resolved with their libraries inside the package tree). */
const ROLE_PROGRAMS: Record<InitrdRole, readonly string[]> = {
  probe: [],
  installer: ['sfdisk', 'mkfs.ext4', 'mkfs.fat', 'mkswap', 'wipefs', 'blkid', 'tar', 'zstd'],
  generation: ['blkid'],
};

/** Modules each role needs whatever the hardware: the filesystems it writes or mounts. */
const ROLE_MODULES: Record<InitrdRole, readonly string[]> = {
  probe: [],
  installer: ['ext4', 'vfat', 'nls_cp437', 'nls_ascii'],
  generation: ['ext4', 'overlay', 'vfat', 'nls_cp437', 'nls_ascii'],
};

export interface InitrdBuildOptions {
  readonly profile: ResolvedProfile;
  readonly source: PackageSource;
  readonly role: InitrdRole;
  readonly out: string;
  /** For the probe role: the line `bootforge-probe: OK <marker>` a boot test waits for. */
  readonly marker?: string;
  readonly compression?: SegmentCompression;
  readonly level?: number;
  /** Timestamp of every entry; default: SOURCE_DATE_EPOCH, else the lock's, else 0. */
  readonly sourceDateEpoch?: number;
  /** The installer closure, already unpacked by a caller that needs it too (build); else resolved here. */
  readonly installer?: { readonly tree: FsTree; readonly epoch: number };
}

export interface InitrdArtifact {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly kernel: { readonly release: string; readonly vmlinuz: string; readonly sha256: string };
  readonly segments: readonly { name: string; compression: string; size: number; sha256: string; cached: boolean }[];
  readonly modules: readonly string[];
  readonly builtins: readonly string[];
  readonly firmware: { readonly included: number; readonly missing: readonly string[] };
  readonly binaries: readonly string[];
  readonly timings: Readonly<Record<string, number>>;
}

/** The installer closure's packages (from the lock when current), unpacked into one tree. */
export async function installerTree(
  profile: ResolvedProfile,
  source: PackageSource,
): Promise<{ tree: FsTree; epoch: number }> {
  const packages = await closurePackages(profile, source);
  return { tree: assembleTreeOf(await unpackPackages(source, packages.installer)), epoch: packages.epoch };
}

/**
 * The module index of a kernel, cached by the SHA-256 of its image (the same
 * image has the same modules). A corrupt entry is warned about and rebuilt; one
 * of an older index version is rebuilt quietly.
 */
export async function moduleIndexFor(
  tree: FsTree,
  blobs: BlobStore,
  kernel: KernelInTree,
  cacheRoot: string,
  reporter?: Reporter,
): Promise<ModuleIndex> {
  const path = join(cacheRoot, 'modindex', `${kernel.vmlinuz.sha256}.json`);
  const entry = readJsonEntry(path, (_v): _v is unknown => true);
  if ('value' in entry) {
    try {
      return ModuleIndex.fromJSON(entry.value);
    } catch {
      // an index of an older version: made again below
    }
  } else if (entry.corrupt) {
    reporter?.emit({ type: 'warning', message: `the cached module index ${path} was corrupt; indexing again` });
  }
  const index = await indexKernelModules(tree, blobs, kernel.release);
  writeJsonEntry(path, index.toJSON());
  return index;
}

function entriesOf(tree: FsTree, paths: readonly InitrdPath[]): TreeEntry[] {
  return paths.flatMap((p) => {
    const e = tree.get(p.path);
    return e ? [e] : [];
  });
}

const dir = (path: string, mode = 0o755): TreeEntry => ({ type: 'dir', path, mode, uid: 0, gid: 0, mtime: 0 });

/**
 * Builds an initrd for a profile: the kernel and tools from the installer
 * closure, the module closure of the profile's (and hardware's) initrd modules
 * with their firmware, busybox and the role's programs with their libraries,
 * and the rendered /init. Three segments, each cached by its inputs: a change
 * to the profile's configuration re-packs only the small config segment.
 */
export async function buildInitrd(options: InitrdBuildOptions): Promise<InitrdArtifact> {
  const timings: Record<string, number> = {};
  const t = <T>(label: string, v: Promise<T> | T): Promise<T> => {
    const start = performance.now();
    return Promise.resolve(v).then((r) => {
      timings[label] = Math.round(performance.now() - start);
      return r;
    });
  };
  const { profile, source } = options;
  const { tree, epoch } = options.installer ?? (await t('unpack', installerTree(profile, source)));
  const blobs = storeBlobs(source.cacheRoot);
  const kernel = findKernel(tree);

  const index = await t('module index', moduleIndexFor(tree, blobs, kernel, source.cacheRoot, source.reporter));
  const closure = moduleClosure(index, [...new Set([...profile.data.kernel.modules, ...ROLE_MODULES[options.role]])]);
  const moduleFiles = writeModuleFiles(closure, kernel.release);
  const globs = profile.data.firmware.map((f) => ({ package: f.package, files: f.files }));
  const firmware = firmwareClosure(tree, closure.firmware, globs, { kver: kernel.release });
  const programs = ['busybox', ...ROLE_PROGRAMS[options.role]];
  const binaries = await t('binaries', binaryClosure(tree, blobs, programs));
  const busybox = binaries.binaries.find((b) => b.name === 'busybox')?.path ?? '/usr/bin/busybox';
  const mtime = buildEpoch(options.sourceDateEpoch, epoch);

  const generated = new Map<string, Buffer>();
  const gen = (path: string, data: Buffer | string, mode = 0o644): TreeEntry => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    generated.set(path, buf);
    return generatedFile(path, buf, { mode });
  };
  const contents = (entry: TreeEntry & { sha256: string }) => generated.get(entry.path) ?? blobs.get(entry.sha256);

  // Segment 1: kernel modules and firmware (changes with the kernel or the module list).
  const modulesDir = `/usr/lib/modules/${kernel.release}`;
  const moduleEntries: TreeEntry[] = [
    ...closure.modules.flatMap((m) => {
      const e = tree.get(m.treePath);
      return e ? [e] : [];
    }),
    ...[...moduleFiles.files].map(([name, data]) => gen(`${modulesDir}/${name}`, data)),
    ...entriesOf(tree, firmware.paths),
  ];
  // Segment 2: busybox, programs, libraries, and the skeleton (changes with the package set).
  const baseEntries: TreeEntry[] = [
    ...['/dev', '/proc', '/sys', '/run', '/root', '/etc', '/mnt', '/usr/bin', '/usr/sbin', '/usr/lib'].map((p) =>
      dir(p),
    ),
    { type: 'dir', path: '/tmp', mode: 0o1777, uid: 0, gid: 0, mtime: 0 },
    ...(['bin', 'sbin', 'lib', 'lib64'] as const).map((d): TreeEntry => ({
      type: 'symlink',
      path: `/${d}`,
      target: `usr/${d}`,
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 0,
    })),
    { type: 'chardev', path: '/dev/console', mode: 0o600, uid: 0, gid: 0, mtime: 0, major: 5, minor: 1 },
    { type: 'chardev', path: '/dev/null', mode: 0o666, uid: 0, gid: 0, mtime: 0, major: 1, minor: 3 },
    ...entriesOf(tree, binaries.paths),
    ...BUSYBOX_APPLETS.filter((a) => !binaries.paths.some((p) => p.path.endsWith(`/${a}`))).map((a): TreeEntry => ({
      type: 'symlink',
      path: `/usr/bin/${a}`,
      target: busybox,
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 0,
    })),
  ];
  // Segment 3: what bootforge renders from the profile (changes with any setting). Paths are
  // canonical (/usr/lib, not /lib): a "lib" directory here would replace the merged-/usr link.
  const init = renderTemplate('initrd/init.sh.hbs', {
    name: `${profile.name}-${options.role}`,
    role: options.role,
    // The whole closure in load order: busybox modprobe reads modules.dep but not modules.softdep.
    modules: closure.modules.map((m) => m.module.name),
    rescueShell: profile.data.installer.rescueShell,
    // A generation that cannot start reboots (boot counting then picks another); an installer
    // powers off: rebooting would start it again.
    failureAction: options.role === 'generation' ? 'reboot' : 'poweroff',
    failureDelaySeconds: 10,
  });
  const configEntries: TreeEntry[] = [
    gen('/init', init, 0o755),
    dir('/usr/lib/bootforge'),
    dir('/usr/lib/bootforge/stage.d'),
  ];
  const stage = (name: string, script: string) =>
    configEntries.push(gen(`/usr/lib/bootforge/stage.d/${name}`, script, 0o755));
  switch (options.role) {
    case 'probe':
      stage('50-probe.sh', renderTemplate('initrd/stage-probe.sh.hbs', { marker: options.marker ?? profile.name }));
      break;
    case 'installer':
      stage('10-disks.sh', renderTemplate('initrd/lib-disks.sh.hbs', {}));
      stage('10-hardware.sh', renderTemplate('initrd/lib-hardware.sh.hbs', {}));
      stage('10-progress.sh', renderTemplate('initrd/lib-progress.sh.hbs', {}));
      stage('50-install.sh', renderTemplate('initrd/stage-install.sh.hbs', installStageContext(profile)));
      break;
    case 'generation':
      stage('50-generation.sh', renderTemplate('initrd/stage-generation.sh.hbs', {}));
      break;
  }

  const cacheDir = source.cacheRoot;
  const compression = options.compression ?? 'zstd';
  const specs = [
    { name: 'modules', entries: moduleEntries },
    { name: 'base', entries: baseEntries },
    { name: 'config', entries: configEntries },
  ];
  // Compression is one call per segment: progress counts segments.
  const task = startTask(
    source.reporter,
    `initrd:${options.role}`,
    `${options.role} initrd: ${compression} segments`,
    specs.length,
    'items',
  );
  const segments: BuiltSegment[] = await t(
    'segments',
    Promise.all(
      specs.map(async (s) => {
        const built = await buildSegment(
          {
            name: s.name,
            compression,
            ...(options.level !== undefined ? { level: options.level } : {}),
            entries: dedupe(s.entries),
            contents: contents,
          },
          { mtime, cacheDir },
        );
        task.advance(1);
        return built;
      }),
    ),
  );
  task.finish();
  mkdirSync(dirname(options.out), { recursive: true });
  const written = await t('write', writeInitrd(segments, options.out));
  if (firmware.missing.length > 0) {
    source.reporter.emit({
      type: 'warning',
      message: `firmware not available in the configured packages (the modules may still work): ${firmware.missing.join(', ')}`,
    });
  }
  return {
    path: written.path,
    sha256: written.sha256,
    size: written.size,
    kernel: {
      release: kernel.release,
      vmlinuz: blobs.pathOf?.(kernel.vmlinuz.sha256) ?? '',
      sha256: kernel.vmlinuz.sha256,
    },
    segments: segments.map((s) => ({
      name: s.name,
      compression: s.compression,
      size: s.size,
      sha256: s.sha256,
      cached: s.cached,
    })),
    modules: closure.modules.map((m) => m.module.name),
    builtins: [...closure.builtins],
    firmware: { included: firmware.paths.length, missing: firmware.missing },
    binaries: binaries.binaries.map((b) => b.name),
    timings,
  };
}

/** One entry per path: the first wins (a generated file never shadows a package file silently twice). */
function dedupe(entries: readonly TreeEntry[]): TreeEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => (seen.has(e.path) ? false : (seen.add(e.path), true)));
}
