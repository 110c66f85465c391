import { join } from 'node:path';
import { DiskBlobStore } from '../fstree/blobs.js';
import { FsTree } from '../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../fstree/types.js';
import type { Reporter } from '../log/events.js';
import { readJsonEntry, writeJsonEntry } from './cache.js';
import { extractDeb } from './deb.js';

/** A package's files and control data, as extracted once and kept by the .deb's SHA-256. */
export interface UnpackedPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
  /** The control file's fields (Package, Version, Depends, Description, ...). */
  readonly control: Readonly<Record<string, string>>;
  /** control.tar members (md5sums, conffiles, postinst, ...) by name → blob SHA-256. */
  readonly controlFiles: Readonly<Record<string, string>>;
  readonly entries: readonly TreeEntry[];
}

export interface PackageIdentity {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly sha256: string;
}

// Bump when the manifest's shape or the extraction rules change, so old manifests are not trusted.
const MANIFEST_VERSION = 1;

/** Blobs hashed at once when checking a cached package. */
const VERIFY_PARALLEL = 8;

/**
 * Extracted packages: file contents in a content-addressed blob store, and a
 * manifest per .deb (<root>/unpacked/<sha256>.json). A package is extracted
 * once per machine; a warm build only reads manifests.
 */
export class PackageStore {
  readonly blobs: DiskBlobStore;
  /** Blobs hashed right by this store already: a package shared by two closures is checked once. */
  readonly #verified = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly reporter?: Reporter,
  ) {
    this.blobs = new DiskBlobStore(join(root, 'blobs'));
  }

  private manifestPath(sha256: string): string {
    return join(this.root, 'unpacked', `${sha256}.json`);
  }

  /** The package's manifest when a whole one is there; a corrupt one is removed (and warned about). */
  cached(pkg: PackageIdentity): UnpackedPackage | undefined {
    const entry = readJsonEntry(this.manifestPath(pkg.sha256), isManifest);
    if ('value' in entry)
      return entry.value.v === MANIFEST_VERSION && entry.value.name === pkg.name ? entry.value : undefined;
    if (entry.corrupt) this.warn(`the cached manifest of ${pkg.name} ${pkg.version} was corrupt; unpacking it again`);
    return undefined;
  }

  /** The unpacked package; `bytes` (already verified against `pkg.sha256`) is fetched only on a miss. */
  async unpack(pkg: PackageIdentity, bytes: () => Promise<Buffer>): Promise<UnpackedPackage> {
    const hit = this.cached(pkg);
    if (hit && (await this.blobsIntact(hit))) return hit;
    if (hit) this.warn(`cached files of ${pkg.name} ${pkg.version} were corrupt; unpacking it again`);
    const extracted = await extractDeb(await bytes(), { package: pkg.name, blobs: this.blobs });
    const controlFiles: Record<string, string> = {};
    for (const [name, data] of Object.entries(extracted.controlFiles)) controlFiles[name] = await this.blobs.put(data);
    const unpacked: UnpackedPackage = {
      name: pkg.name,
      version: pkg.version,
      architecture: pkg.architecture,
      sha256: pkg.sha256,
      control: extracted.control,
      controlFiles,
      entries: extracted.entries,
    };
    writeJsonEntry(this.manifestPath(pkg.sha256), { v: MANIFEST_VERSION, ...unpacked });
    return unpacked;
  }

  /**
   * Hashes every blob the package's manifest names. All of them, not up to the
   * first bad one: `verify` removes each corrupt blob, so unpacking again restores them all.
   */
  private async blobsIntact(pkg: UnpackedPackage): Promise<boolean> {
    const files = pkg.entries.flatMap((e) => (e.type === 'file' ? [e.sha256] : []));
    const todo = [...new Set([...files, ...Object.values(pkg.controlFiles)])].filter((h) => !this.#verified.has(h));
    let intact = true;
    for (let i = 0; i < todo.length; i += VERIFY_PARALLEL) {
      const batch = todo.slice(i, i + VERIFY_PARALLEL);
      const ok = await Promise.all(batch.map((h) => this.blobs.verify(h)));
      batch.forEach((h, j) => (ok[j] ? this.#verified.add(h) : (intact = false)));
    }
    return intact;
  }

  private warn(message: string): void {
    this.reporter?.emit({ type: 'warning', message });
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A manifest's shape, as far as the tree and the blob check rely on it. */
function isManifest(value: unknown): value is UnpackedPackage & { v: number } {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<Record<keyof UnpackedPackage | 'v', unknown>>;
  const strings = (o: unknown, valid = (_: string) => true): boolean =>
    typeof o === 'object' && o !== null && Object.values(o).every((v) => typeof v === 'string' && valid(v));
  return (
    typeof m.v === 'number' &&
    [m.name, m.version, m.architecture, m.sha256].every((s) => typeof s === 'string') &&
    strings(m.control) &&
    strings(m.controlFiles, (h) => SHA256_HEX.test(h)) &&
    Array.isArray(m.entries) &&
    m.entries.every(isEntry)
  );
}

function isEntry(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as { path?: unknown; type?: unknown; sha256?: unknown; size?: unknown };
  if (typeof e.path !== 'string' || typeof e.type !== 'string') return false;
  return (
    e.type !== 'file' || (typeof e.sha256 === 'string' && SHA256_HEX.test(e.sha256) && Number.isSafeInteger(e.size))
  );
}

/**
 * One tree from many packages, as debootstrap lays them out: merged /usr, each
 * file owned by its package, in the order given (later packages overwrite, and
 * the tree records it).
 */
export function assembleTree(packages: readonly UnpackedPackage[]): FsTree {
  const tree = FsTree.withMergedUsr();
  for (const p of packages) for (const entry of p.entries) tree.add(entry, { package: p.name });
  return tree;
}

/** The blob store of the package store under a cache root (file contents by SHA-256). */
export function storeBlobs(cacheRoot: string): BlobStore {
  return new PackageStore(cacheRoot).blobs;
}
