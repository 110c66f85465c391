import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiskBlobStore } from '../fstree/blobs.js';
import { FsTree } from '../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../fstree/types.js';
import { writeFileAtomic } from './cache.js';
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

/**
 * Extracted packages: file contents in a content-addressed blob store, and a
 * manifest per .deb (<root>/unpacked/<sha256>.json). A package is extracted
 * once per machine; a warm build only reads manifests.
 */
export class PackageStore {
  readonly blobs: BlobStore;
  constructor(private readonly root: string) {
    this.blobs = new DiskBlobStore(join(root, 'blobs'));
  }

  private manifestPath(sha256: string): string {
    return join(this.root, 'unpacked', `${sha256}.json`);
  }

  cached(pkg: PackageIdentity): UnpackedPackage | undefined {
    try {
      const m = JSON.parse(readFileSync(this.manifestPath(pkg.sha256), 'utf8')) as UnpackedPackage & { v: number };
      return m.v === MANIFEST_VERSION && m.name === pkg.name ? m : undefined;
    } catch {
      return undefined;
    }
  }

  /** The unpacked package; `bytes` (already verified against `pkg.sha256`) is fetched only on a miss. */
  async unpack(pkg: PackageIdentity, bytes: () => Promise<Buffer>): Promise<UnpackedPackage> {
    const hit = this.cached(pkg);
    if (hit) return hit;
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
    writeFileAtomic(this.manifestPath(pkg.sha256), JSON.stringify({ v: MANIFEST_VERSION, ...unpacked }));
    return unpacked;
  }
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
