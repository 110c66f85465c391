/**
 * Firmware for the initrd: the files the included modules may request
 * (their `firmware=` lines) and the files a profile asks for by package and
 * glob, taken from /lib/firmware of the package tree with the symlinks that
 * lead to them.
 *
 * Lookup follows the kernel's firmware loader (drivers/base/firmware_loader,
 * Linux 6.1): /lib/firmware/updates/<kver>, /lib/firmware/updates,
 * /lib/firmware/<kver>, /lib/firmware; the plain name in all of them first,
 * then "<name>.zst", then "<name>.xz" (CONFIG_FW_LOADER_COMPRESS_*). A
 * compressed file is copied as it is: the kernel decompresses it.
 */
import type { FsTree } from '../fstree/tree.js';
import { addTraced, fileAt, type InitrdPath, PathSet, traceLinks } from './binaries.js';
import { fnmatch } from './modules.js';

/** Where firmware lives in a merged-/usr tree. */
export const FIRMWARE_DIR = '/usr/lib/firmware';

const COMPRESSED_SUFFIXES = ['.zst', '.xz'];

export interface FirmwareGlob {
  /** The package whose files the globs select (a firmware-* package of the profile). */
  readonly package: string;
  /** Globs relative to /lib/firmware ("iwlwifi-*.ucode", "rtl_nic/rtl8168*"); "*" does not cross "/". */
  readonly files: readonly string[];
}

export interface FirmwareClosure {
  /** Files and symlinks to copy, sorted by path, each with its reasons. */
  readonly paths: readonly InitrdPath[];
  /** Requested name → the path in the tree that provides it (maybe a .zst or .xz sibling). */
  readonly found: ReadonlyMap<string, string>;
  /**
   * What nothing in the tree provides: requested names as given, and
   * "<package>: <glob>" for globs that match nothing. The caller warns: a
   * module's firmware list names every file it might ever load.
   */
  readonly missing: readonly string[];
}

export interface FirmwareOptions {
  /** The kernel version, for /lib/firmware/<kver> and /lib/firmware/updates/<kver>. */
  readonly kver?: string;
}

function firmwareDir(tree: FsTree): string {
  const entry = traceLinks(tree, '/lib/firmware').entry;
  return entry?.type === 'dir' ? entry.path : FIRMWARE_DIR;
}

/** A firmware name the loader could be asked for: relative, no "." or ".." components. */
function plausible(name: string): boolean {
  if (name === '' || name.startsWith('/') || name.includes('\0')) return false;
  return name.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

/**
 * The firmware files to include for `requested` names (as modules list them)
 * and for package `globs`, following symlinks inside the tree and keeping
 * them. Names that cannot be found are listed in `missing`, not thrown.
 */
export function firmwareClosure(
  tree: FsTree,
  requested: readonly string[],
  globs: readonly FirmwareGlob[],
  options: FirmwareOptions = {},
): FirmwareClosure {
  const set = new PathSet();
  const found = new Map<string, string>();
  const missing: string[] = [];
  const base = firmwareDir(tree);
  const dirs = [
    ...(options.kver === undefined ? [] : [`${base}/updates/${options.kver}`]),
    `${base}/updates`,
    ...(options.kver === undefined ? [] : [`${base}/${options.kver}`]),
    base,
  ];

  for (const name of [...new Set(requested)]) {
    if (!plausible(name)) {
      missing.push(name);
      continue;
    }
    let hit: string | undefined;
    for (const suffix of ['', ...COMPRESSED_SUFFIXES]) {
      for (const dir of dirs) {
        const path = `${dir}/${name}${suffix}`;
        if (fileAt(tree, path) === undefined) continue;
        addTraced(tree, set, traceLinks(tree, path), `firmware ${name}`);
        hit = path;
        break;
      }
      if (hit !== undefined) break;
    }
    if (hit === undefined) missing.push(name);
    else found.set(name, hit);
  }

  if (globs.length > 0) {
    const prefix = `${base}/`;
    const owned = new Map<string, string[]>();
    for (const [path, pkg] of tree.owner) {
      if (!path.startsWith(prefix)) continue;
      const list = owned.get(pkg);
      if (list === undefined) owned.set(pkg, [path]);
      else list.push(path);
    }
    for (const { package: pkg, files } of globs) {
      const paths = (owned.get(pkg) ?? []).sort();
      for (const glob of files) {
        const matchWith = (pattern: string) =>
          paths.filter((p) => {
            const e = tree.get(p);
            return e !== undefined && e.type !== 'dir' && fnmatch(pattern, p.slice(prefix.length), true);
          });
        let matched = matchWith(glob);
        for (const suffix of COMPRESSED_SUFFIXES) if (matched.length === 0) matched = matchWith(`${glob}${suffix}`);
        let any = false;
        for (const p of matched) {
          // A symlink that leads nowhere is not firmware: the loader would fail on it too.
          if (fileAt(tree, p) === undefined) continue;
          addTraced(tree, set, traceLinks(tree, p), `firmware ${glob} of ${pkg}`);
          any = true;
        }
        if (!any) missing.push(`${pkg}: ${glob}`);
      }
    }
  }
  return { paths: set.list(), found, missing };
}
