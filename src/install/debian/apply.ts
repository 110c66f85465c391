/**
 * Puts a DebianConfiguration into the package tree: removals first, then
 * directories (new ones, or new metadata for one already there), files and
 * symlinks, which replace what is at their path. FsTree keeps the first
 * metadata of a directory, so a directory whose mode or owner changes is
 * taken out and put back with everything below it.
 */
import type { FsTree } from '../../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../../fstree/types.js';
import type { DebianConfiguration } from './types.js';

export async function applyDebianConfiguration(
  tree: FsTree,
  blobs: BlobStore,
  config: DebianConfiguration,
  mtime: number,
  owner = 'bootforge',
): Promise<void> {
  const base = { mtime };
  for (const path of config.remove) tree.remove(path);
  for (const d of config.dirs) {
    const existing = tree.get(d.path);
    const entry: TreeEntry = { type: 'dir', path: d.path, mode: d.mode, uid: d.uid, gid: d.gid, ...base };
    if (existing === undefined) tree.add(entry, { package: owner });
    else if (
      existing.type === 'dir' &&
      (existing.mode !== d.mode || existing.uid !== d.uid || existing.gid !== d.gid)
    ) {
      replaceDirectory(tree, { ...existing, mode: d.mode, uid: d.uid, gid: d.gid });
    }
  }
  for (const f of config.files) {
    const sha256 = await blobs.put(f.data);
    tree.add(
      { type: 'file', path: f.path, mode: f.mode, uid: f.uid, gid: f.gid, size: f.data.length, sha256, ...base },
      { package: owner },
    );
  }
  for (const l of config.symlinks) {
    tree.add(
      { type: 'symlink', path: l.path, target: l.target, mode: 0o777, uid: 0, gid: 0, ...base },
      { package: owner },
    );
  }
}

/** Swaps a directory's entry for `entry`, keeping what is below it and who owns what. */
function replaceDirectory(tree: FsTree, entry: TreeEntry): void {
  const prefix = `${entry.path}/`;
  const owners = tree.owner;
  const below = tree.entries().filter((e) => e.path.startsWith(prefix));
  const ownerOf = new Map(below.map((e) => [e.path, owners.get(e.path)]));
  const dirOwner = owners.get(entry.path);
  tree.remove(entry.path);
  tree.add(entry, dirOwner === undefined ? {} : { package: dirOwner });
  // Hard links name a file that must be there first.
  for (const e of [...below.filter((e) => e.type !== 'hardlink'), ...below.filter((e) => e.type === 'hardlink')]) {
    const pkg = ownerOf.get(e.path);
    tree.add(e, pkg === undefined ? {} : { package: pkg });
  }
}
