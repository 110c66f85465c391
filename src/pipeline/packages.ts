import { createHash } from 'node:crypto';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Reporter } from '../log/events.js';
import { startTask } from '../log/progress.js';
import { cacheRoot, DownloadCache } from '../packages/cache.js';
import { Downloader } from '../packages/fetch.js';
import {
  checkLockMatches,
  lockPathFor,
  makeLock,
  readLock,
  writeLock,
  type ClosureInputs,
  type LockFile,
  type LockInputs,
} from '../packages/lock.js';
import { resolveRepoConfig, type RepoConfig } from '../packages/repo-config.js';
import { loadRepository, type LoadedRepository } from '../packages/repository.js';
import { parsePackageRequest, resolveClosure, type ResolvedPackage } from '../packages/resolve.js';
import { Universe } from '../packages/universe.js';
import { assembleTree, PackageStore, type UnpackedPackage } from '../packages/unpack.js';
import type { FsTree } from '../fstree/tree.js';
import type { ResolvedProfile } from '../profile/resolve.js';

/** Command-line and environment settings of the package source. */
export interface SourceFlags {
  readonly mirror?: string;
  readonly securityMirror?: string;
  readonly keyring?: string;
  readonly insecure?: boolean;
  readonly aptDir?: string;
  readonly cacheDir?: string;
  readonly jobs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface PackageSource {
  readonly config: RepoConfig;
  readonly downloader: Downloader;
  readonly cache: DownloadCache;
  readonly cacheRoot: string;
  readonly reporter: Reporter;
  /** One per source, so a package in both closures has its files checked once. */
  readonly store: PackageStore;
}

export interface RepoSettings {
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly architecture: string;
  readonly mirror?: string;
  readonly securityMirror?: string;
  /** Relative to the profile that named it. */
  readonly keyring?: string;
}

/** A mirror given as a folder ("./mirror", "/srv/debian") is a file: URL, as apt's file: sources. */
function mirrorUrl(value: string | undefined): string | undefined {
  if (value === undefined || /^[a-z][a-z0-9+.-]*:/i.test(value)) return value;
  return pathToFileURL(resolvePath(value)).href;
}

export function openPackageSource(settings: RepoSettings, rawFlags: SourceFlags, reporter: Reporter): PackageSource {
  const flags = { ...rawFlags, mirror: mirrorUrl(rawFlags.mirror), securityMirror: mirrorUrl(rawFlags.securityMirror) };
  const config = resolveRepoConfig({
    suites: settings.suites,
    components: settings.components,
    architecture: settings.architecture,
    mirror: {
      ...(flags.mirror ? { flag: flags.mirror } : {}),
      ...(settings.mirror ? { profile: settings.mirror } : {}),
    },
    securityMirror: {
      ...(flags.securityMirror ? { flag: flags.securityMirror } : {}),
      ...(settings.securityMirror ? { profile: settings.securityMirror } : {}),
    },
    keyring: {
      ...(flags.keyring ? { flag: flags.keyring } : {}),
      ...(settings.keyring ? { profile: settings.keyring } : {}),
    },
    ...(flags.insecure ? { insecure: true } : {}),
    ...(flags.env ? { env: flags.env } : {}),
    ...(flags.aptDir ? { aptDir: flags.aptDir } : {}),
  });
  const root = cacheRoot(flags.cacheDir, flags.env);
  const cache = new DownloadCache(root);
  const downloader = new Downloader({ cache, reporter, ...(flags.jobs ? { concurrency: flags.jobs } : {}) });
  return { config, downloader, cache, cacheRoot: root, reporter, store: new PackageStore(root, reporter) };
}

/** The repository settings of a resolved profile, with its keyring made absolute. */
export function repoSettingsOf(profile: ResolvedProfile): RepoSettings {
  const p = profile.data.packages;
  return {
    suites: p.suites,
    components: p.components,
    architecture: p.architecture,
    ...(p.mirror ? { mirror: p.mirror } : {}),
    ...(p.securityMirror ? { securityMirror: p.securityMirror } : {}),
    ...(p.keyring ? { keyring: resolvePath(dirname(keyringOrigin(profile)), p.keyring) } : {}),
  };
}

function keyringOrigin(profile: ResolvedProfile): string {
  const origin = profile.origins['packages.keyring'] ?? profile.path;
  return origin.replace(/:\d+:\d+$/, '');
}

// Tools the installer runs from its initrd: busybox for the shell and coreutils,
// sfdisk (fdisk), mkfs.ext4 (e2fsprogs), mkfs.fat (dosfstools), wipefs/blkid/mkswap
// (util-linux), GNU tar (busybox tar drops setuid bits) and zstd for the payload, and
// systemd-boot for the installer's own ESP.
export const INSTALLER_PACKAGES = [
  'busybox-static',
  'fdisk',
  'e2fsprogs',
  'dosfstools',
  'util-linux',
  'tar',
  'zstd',
  'systemd-boot-efi',
];
// Every generation carries the boot loader it installs (the installer copies it from there),
// what bootforge-gen unpacks update bundles with (GNU tar keeps setuid bits; zstd), and
// fsck.vfat, which repairs the ESP at boot (systemd from fstab's pass number, rc.sysinit on busybox).
export const SYSTEM_PACKAGES = ['systemd-boot-efi', 'tar', 'zstd', 'dosfstools'];

/** The closures a build of this profile needs, and what each is made from. */
export function closureInputs(profile: ResolvedProfile): Record<string, ClosureInputs> {
  const d = profile.data;
  const firmware = d.firmware.map((f) => f.package);
  // With detection at install time the image carries every candidate's packages; the
  // installer applies only the matching description's configuration.
  const hardwarePackages =
    profile.hardware.mode === 'auto'
      ? profile.hardware.quirks
          .filter((q) => q.status !== 'skipped' && (q.kind === 'packages' || q.kind === 'firmware'))
          .map((q) => (q.kind === 'firmware' ? String((q.data as { package: string }).package) : q.value))
      : [];
  const systemInit = d.system.init === 'busybox' ? ['busybox-static'] : ['systemd-sysv'];
  const uniq = (xs: readonly string[]) => [...new Set(xs)];
  return {
    installer: { requests: uniq([d.kernel.package, ...INSTALLER_PACKAGES]), essential: false, priorities: [] },
    system: {
      requests: uniq([
        d.kernel.package,
        ...systemInit,
        ...SYSTEM_PACKAGES,
        ...d.packages.install,
        ...firmware,
        ...hardwarePackages,
      ]),
      // A Debian system (systemd init) gets Essential and Priority: required, as debootstrap's minbase does.
      essential: d.system.init === 'systemd',
      priorities: d.system.init === 'systemd' ? ['required'] : [],
    },
  };
}

export function lockInputsOf(profile: ResolvedProfile, closures: Record<string, ClosureInputs>): LockInputs {
  const p = profile.data.packages;
  return { architecture: p.architecture, suites: p.suites, components: p.components, closures };
}

export interface ClosureResult {
  readonly repository: LoadedRepository;
  readonly closures: Record<string, ResolvedPackage[]>;
}

export async function resolveClosures(
  source: PackageSource,
  closures: Record<string, ClosureInputs>,
): Promise<ClosureResult> {
  const repository = await loadRepository(source.config, {
    downloader: source.downloader,
    reporter: source.reporter,
    indexCacheDir: join(source.cacheRoot, 'index'),
  });
  const universe = new Universe(repository.records);
  const out: Record<string, ResolvedPackage[]> = {};
  for (const [name, c] of Object.entries(closures)) {
    out[name] = resolveClosure(universe, c.requests.map(parsePackageRequest), {
      essential: c.essential,
      priorities: c.priorities,
      architecture: source.config.architecture,
    });
    source.reporter.emit({ type: 'step', stage: 'packages', message: `${name}: ${out[name].length} packages` });
  }
  return { repository, closures: out };
}

/** Resolves every closure of the profile and writes <profile>.lock.json. */
export async function lockProfile(
  profile: ResolvedProfile,
  source: PackageSource,
): Promise<{ path: string; lock: LockFile; previous?: LockFile }> {
  const closures = closureInputs(profile);
  const inputs = lockInputsOf(profile, closures);
  const result = await resolveClosures(source, closures);
  const lock = makeLock(inputs, result.repository.suites, result.closures);
  const path = lockPathFor(profile.path);
  let previous: LockFile | undefined;
  try {
    previous = readLock(path);
  } catch {
    previous = undefined;
  }
  writeLock(path, lock);
  return { path, lock, ...(previous ? { previous } : {}) };
}

/** The profile's lock when it exists and still matches; undefined when there is none. */
export function currentLock(profile: ResolvedProfile): LockFile | undefined {
  const path = lockPathFor(profile.path);
  const lock = readLock(path);
  if (lock) checkLockMatches(path, lock, lockInputsOf(profile, closureInputs(profile)));
  return lock;
}
export { lockPathFor } from '../packages/lock.js';

/** What to fetch and unpack: a resolved record or a locked package. */
export interface PackageRef {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly suite: string;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Fetches (verified) and unpacks packages, each at most once per machine: a
 * package already unpacked is not even downloaded again. Downloads run in
 * parallel; extraction runs one at a time (the xz decoder is one per process).
 */
export async function unpackPackages(
  source: PackageSource,
  packages: readonly PackageRef[],
): Promise<UnpackedPackage[]> {
  const { store } = source;
  const uriOf = new Map(source.config.suites.map((s) => [s.suite, s.uri]));
  const fetches = new Map<string, Promise<Buffer>>();
  const fetchOf = (p: PackageRef): Promise<Buffer> => {
    let f = fetches.get(p.sha256);
    if (!f) {
      const uri = uriOf.get(p.suite) ?? source.config.suites[0]?.uri ?? '';
      f = source.downloader.get(`${uri}/${p.filename}`, p, `${p.name}_${p.version}`);
      fetches.set(p.sha256, f);
    }
    return f;
  };
  // Start every download that a cached manifest does not make unnecessary.
  for (const p of packages) if (!store.cached(p)) void fetchOf(p).catch(() => undefined);
  const out: UnpackedPackage[] = [];
  const task = startTask(source.reporter, 'unpack', `unpacking ${packages.length} packages`, packages.length, 'items');
  for (const p of packages) {
    out.push(await store.unpack(p, () => fetchOf(p)));
    fetches.delete(p.sha256); // let the bytes go
    task.advance(1);
  }
  task.finish();
  source.reporter.emit({ type: 'step', stage: 'packages', message: `unpacked ${out.length} packages` });
  return out;
}

/** One merged-/usr tree of unpacked packages (see assembleTree). */
export function assembleTreeOf(packages: readonly UnpackedPackage[]): FsTree {
  return assembleTree(packages);
}

/** The packages of both closures of a build, and the timestamp the build uses by default. */
export interface ClosurePackages {
  readonly installer: readonly PackageRef[];
  readonly system: readonly PackageRef[];
  /** The newest Release date the packages were resolved against (seconds). */
  readonly epoch: number;
  /** SHA-256 of the lock used, or null when the packages were resolved now. */
  readonly lockSha256: string | null;
}

/** The closures' packages: from the lock when it is current, else resolved now. */
export async function closurePackages(profile: ResolvedProfile, source: PackageSource): Promise<ClosurePackages> {
  const lock = currentLock(profile);
  if (lock) {
    return {
      lockSha256: createHash('sha256').update(JSON.stringify(lock)).digest('hex'),
      epoch: lock.sourceDateEpoch,
      installer: lock.closures.installer?.packages ?? [],
      system: lock.closures.system?.packages ?? [],
    };
  }
  const { repository, closures } = await resolveClosures(source, closureInputs(profile));
  const newest = Math.max(...repository.suites.map((s) => s.release.date.getTime()));
  return {
    lockSha256: null,
    epoch: Math.floor(newest / 1000),
    installer: (closures.installer ?? []).map((p) => p.record),
    system: (closures.system ?? []).map((p) => p.record),
  };
}

/** Every timestamp a build writes: an explicit one, else SOURCE_DATE_EPOCH, else the packages' epoch. */
export function buildEpoch(explicit: number | undefined, fromPackages: number): number {
  if (explicit !== undefined) return explicit;
  const env = process.env.SOURCE_DATE_EPOCH;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : fromPackages;
}
