import type { FsTree } from '../fstree/tree.js';
import type { BlobStore } from '../fstree/types.js';
import { FIRMWARE_DIR, firmwareClosure } from '../initrd/firmware.js';
import { findKernel } from '../initrd/kernel.js';
import { moduleClosure, writeModuleFiles } from '../initrd/modules.js';
import { activationContext } from '../install/activation.js';
import { applyDebianConfiguration, debianConfiguration } from '../install/debian/index.js';
import { busyboxApplets } from '../install/busybox.js';
import { generationAdditions } from '../install/generation.js';
import { compileLocales } from '../install/locale.js';
import { hardwareVariants } from '../install/hardware.js';
import type { Reporter } from '../log/events.js';
import type { UnpackedPackage } from '../packages/unpack.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { moduleIndexFor } from './initrd.js';

export interface GenerationOptions {
  readonly profile: ResolvedProfile;
  readonly epoch: number;
  /** The generation's initrd (role generation), built from the same kernel. */
  readonly initrd: Buffer;
  readonly kernelRelease: string;
  /** Package cache (the module index of the kernel is cached there). */
  readonly cacheRoot: string;
  /** The system's packages, for what their maintainer scripts would have configured (systemd systems). */
  readonly packages: readonly UnpackedPackage[];
  readonly reporter: Reporter;
}

const OWNER = { package: 'bootforge' };

/**
 * Adds to the system's package tree what makes it a generation (see
 * generationAdditions): files are stored as blobs and replace package files at
 * the same path; directories and symlinks are added only where the packages
 * put nothing.
 */
export async function addGeneration(tree: FsTree, blobs: BlobStore, options: GenerationOptions): Promise<void> {
  const { profile } = options;
  const busyboxPath = '/usr/bin/busybox';
  const busybox = tree.resolve(busyboxPath, { follow: true });
  const applets =
    profile.data.system.init === 'busybox' && busybox?.type === 'file'
      ? busyboxApplets(await blobs.get(busybox.sha256))
      : [];
  const additions = generationAdditions({
    profile,
    activation: activationContext(profile, options.epoch),
    kernel: { release: options.kernelRelease, path: `/boot/vmlinuz-${options.kernelRelease}` },
    initrd: options.initrd,
    busyboxApplets: applets,
    busyboxPath,
    epochSeconds: options.epoch,
    hardware: hardwareVariants(profile),
  });
  const base = { mtime: options.epoch };
  pruneFirmware(tree, profile);
  if (profile.data.system.init === 'systemd') {
    // A Debian system as its maintainer scripts would have left it (dpkg database,
    // alternatives, enabled units, system users, PAM, ...), computed, not run. Before the
    // generation's own files, so that the profile's win.
    const d = profile.data;
    const debian = await debianConfiguration({
      packages: options.packages,
      blobs,
      tree,
      options: {
        init: 'systemd',
        enable: d.services.enable,
        disable: d.services.disable,
        epochSeconds: options.epoch,
        architecture: d.packages.architecture,
      },
    });
    await applyDebianConfiguration(tree, blobs, debian, options.epoch);
    // locale-gen's work, done here: the profile's locale compiled from the target's sources.
    const locales = await compileLocales({ tree, blobs, locales: [d.system.locale] });
    await addToTree(tree, blobs, locales, base);
    // locales and tzdata are done here and by generationAdditions (/etc/localtime, /etc/timezone).
    const unhandled = debian.report.unhandled.filter((u) => u.package !== 'locales' && u.package !== 'tzdata');
    if (unhandled.length > 0) {
      const packages = [...new Set(unhandled.map((u) => u.package))].sort();
      options.reporter.emit({
        type: 'warning',
        message: `${unhandled.length} maintainer-script actions are not reproduced (packages: ${packages.join(', ')}); see the README's "Debian systems"`,
      });
    }
  }
  // What depmod writes when Debian installs the kernel (bootforge runs no maintainer scripts):
  // without modules.dep and modules.alias, neither modprobe nor udev can load a module.
  const kernel = findKernel(tree);
  const index = await moduleIndexFor(tree, blobs, kernel, options.cacheRoot);
  const wanted = profile.data.kernel.systemModules;
  const closure = moduleClosure(index, wanted ?? index.modules.map((m) => m.name));
  if (wanted !== undefined) pruneModules(tree, kernel.modulesDir, new Set(closure.modules.map((m) => m.module.path)));
  const moduleFiles = writeModuleFiles(closure, kernel.release);
  for (const [name, data] of moduleFiles.files) {
    const path = `${kernel.modulesDir}/${name}`;
    if (tree.get(path) !== undefined) continue;
    const sha256 = await blobs.put(data);
    tree.add({ type: 'file', path, mode: 0o644, uid: 0, gid: 0, size: data.length, sha256, ...base }, OWNER);
  }
  // The profile decides PID 1: a package that brings systemd-sysv's /sbin/init along (a
  // hardware daemon's dependencies can) does not make a busybox system boot systemd.
  if (additions.symlinks.some((l) => l.path === '/usr/sbin/init') && tree.get('/usr/sbin/init') !== undefined) {
    tree.remove('/usr/sbin/init');
  }
  await addToTree(tree, blobs, additions, base);
}

/**
 * Firmware packages bundle blobs for hundreds of devices; hardware descriptions name the
 * files their devices load (globs, `**` for all). Only those stay in the generation: a
 * fleet image would otherwise carry every firmware package whole, several hundred MiB.
 */
function pruneFirmware(tree: FsTree, profile: ResolvedProfile): void {
  const globs = profile.data.firmware.map((f) => ({ package: f.package, files: f.files }));
  if (globs.length === 0) return;
  const keep = new Set(firmwareClosure(tree, [], globs).paths.map((p) => p.path));
  const packages = new Set(globs.map((g) => g.package));
  for (const [path, pkg] of [...tree.owner]) {
    if (!packages.has(pkg) || !path.startsWith(`${FIRMWARE_DIR}/`) || keep.has(path)) continue;
    if (tree.get(path)?.type !== 'dir') tree.remove(path);
  }
}

/**
 * kernel.systemModules: the kernel package's module files that the closure of the listed
 * modules does not need are left out of the generation (the module index is written for
 * the rest, so modprobe never names a missing file).
 */
function pruneModules(tree: FsTree, modulesDir: string, keep: ReadonlySet<string>): void {
  const prefix = `${modulesDir}/`;
  for (const path of [...tree.owner.keys()]) {
    if (!path.startsWith(prefix) || !/\.ko(?:\.[a-z]+)?$/.test(path)) continue;
    if (keep.has(path.slice(prefix.length))) continue;
    if (tree.get(path)?.type === 'file') tree.remove(path);
  }
}

/**
 * Adds generated content: directories and symlinks only where the packages put nothing,
 * files (stored as blobs) over whatever is there.
 */
async function addToTree(
  tree: FsTree,
  blobs: BlobStore,
  add: {
    readonly dirs: readonly { readonly path: string; readonly mode: number }[];
    readonly files: readonly { path: string; data: Buffer; mode: number; uid: number; gid: number }[];
    readonly symlinks: readonly { readonly path: string; readonly target: string }[];
  },
  base: { readonly mtime: number },
): Promise<void> {
  for (const d of add.dirs) {
    if (!tree.has(d.path)) tree.add({ type: 'dir', path: d.path, mode: d.mode, uid: 0, gid: 0, ...base }, OWNER);
  }
  for (const f of add.files) {
    const sha256 = await blobs.put(f.data);
    tree.add(
      { type: 'file', path: f.path, mode: f.mode, uid: f.uid, gid: f.gid, size: f.data.length, sha256, ...base },
      OWNER,
    );
  }
  for (const l of add.symlinks) {
    if (tree.get(l.path) === undefined) {
      tree.add({ type: 'symlink', path: l.path, target: l.target, mode: 0o777, uid: 0, gid: 0, ...base }, OWNER);
    }
  }
}
