/**
 * The file tree bootforge assembles in memory: absolute normal-form paths to
 * entries, with the package each entry came from. It is the one place that
 * decides where an archive entry may land, so every archive-traversal rule
 * lives here, whatever format the entry came from (.deb today, cpio later).
 */
import { BootforgeError } from '../errors/index.js';
import type { DirEntry, SymlinkEntry, TreeEntry } from './types.js';

export interface AddOptions {
  /** The package the entry comes from: recorded as its owner and named in errors. */
  readonly package?: string;
}

/** The outcome of following a path through the tree, with every symlink met on the way. */
export interface Trace {
  /** The entry reached (a hard link is returned as itself), or undefined when the path leads nowhere. */
  readonly entry: TreeEntry | undefined;
  /** The symlinks followed, in order, directory links included: copying them keeps the path valid. */
  readonly links: readonly SymlinkEntry[];
  /** Where the lookup failed, when it did. */
  readonly failedAt?: string;
}

/** A non-directory entry replaced by one from another package (dpkg needs --force-overwrite for these). */
export interface Overwrite {
  readonly path: string;
  readonly previousPackage: string | undefined;
  readonly newPackage: string | undefined;
  /** Same kind, metadata and content or target: the replacement changes nothing. */
  readonly identical: boolean;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (default true; false is lstat). */
  readonly follow?: boolean;
}

/**
 * The top-level directories bookworm's debootstrap turns into symlinks to /usr.
 * (On amd64 debootstrap also links lib32 and libx32; pass them to withMergedUsr
 * when the package set ships files there.)
 */
export const MERGED_USR_DIRS: readonly string[] = ['bin', 'sbin', 'lib', 'lib64'];

/** Linux gives up after 40 symlinks in one lookup (MAXSYMLINKS); so do we. */
const MAX_SYMLINK_HOPS = 40;

export class FsTree {
  readonly #entries = new Map<string, TreeEntry>();
  readonly #owner = new Map<string, string>();
  /** Directory symlinks that paths are canonicalised through: "/bin" → "/usr/bin". */
  readonly #merged = new Map<string, string>();
  /** Directories made only because something went below them: an explicit entry later sets their metadata. */
  readonly #implicit = new Set<string>();
  /** File path → the paths of hard links naming it. */
  readonly #linksTo = new Map<string, Set<string>>();
  readonly #overwrites: Overwrite[] = [];

  constructor() {
    this.#entries.set('/', rootDir('/'));
  }

  /**
   * The layout debootstrap makes before unpacking anything in bookworm: real
   * directories under /usr and top-level symlinks to them. No bookworm package
   * ships these links; packages still ship files under ./bin and ./lib, which
   * land in /usr.
   */
  static withMergedUsr(dirs: readonly string[] = MERGED_USR_DIRS): FsTree {
    const tree = new FsTree();
    tree.add(rootDir('/usr'));
    for (const dir of dirs) {
      tree.add(rootDir(`/usr/${dir}`));
      tree.add({ ...rootDir(`/${dir}`), type: 'symlink', mode: 0o777, target: `usr/${dir}` });
      tree.#merged.set(`/${dir}`, `/usr/${dir}`);
    }
    return tree;
  }

  /** Which package each path came from (canonical paths; entries added without a package have none). */
  get owner(): ReadonlyMap<string, string> {
    return this.#owner;
  }

  /** Non-directory entries that replaced another package's entry, in the order it happened. */
  get overwrites(): readonly Overwrite[] {
    return this.#overwrites;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Puts an entry into the tree and returns it as placed, or, when it merged
   * into something already there (a directory, or a symlink dpkg would keep),
   * the entry that stayed. The path may be absolute or archive-relative
   * ("./usr/bin/sh"); either way it is taken from the tree's root.
   *
   * Refused with BF_UNSAFE_ARCHIVE: empty names, NUL or newline in a name,
   * ".." components, a parent that is a symlink other than the merged-/usr
   * ones, a hard link to anything but a file already in the tree from the same
   * package. Refused with BF_PATH_CONFLICT: a non-directory over a directory
   * (or the reverse), a parent that is not a directory.
   */
  add(entry: TreeEntry, options: AddOptions = {}): TreeEntry {
    const pkg = options.package;
    const fail = failer(pkg, entry.path);
    const parts = pathParts(entry.path, fail);
    const name = parts.pop();
    if (name === undefined) {
      if (entry.type !== 'dir') throw fail.conflict(`would replace the root directory with a ${entry.type}`);
      return this.#entries.get('/') ?? rootDir('/');
    }
    const { dir, missing } = this.#parents(parts, fail);
    const path = join(dir, name);
    const existing = missing.length > 0 ? undefined : this.#entries.get(path);

    if (existing?.type === 'symlink') {
      const merged = this.#merged.get(path);
      if (merged !== undefined) {
        if (entry.type !== 'dir')
          throw fail.unsafe(`would replace the merged-/usr symlink ${path} -> ${existing.target}`);
        return this.add({ ...entry, path: merged }, options);
      }
      // dpkg keeps a symlink where a package ships a directory. That is safe
      // here because anything a package then puts below it is refused.
      if (entry.type === 'dir') return existing;
    }

    const placed: TreeEntry =
      entry.type === 'hardlink'
        ? { ...entry, path, target: this.#hardlinkTarget(entry.target, path, pkg, fail) }
        : { ...entry, path };

    if (existing !== undefined) {
      if (existing.type === 'dir') {
        if (placed.type !== 'dir') throw fail.conflict(`would replace the directory ${path} with a ${placed.type}`);
        // Two packages sharing a directory: the first one's metadata stays, as with dpkg.
        if (!this.#implicit.has(path)) return existing;
        this.#implicit.delete(path);
        this.#entries.set(path, placed);
        this.#setOwner(path, pkg);
        return placed;
      }
      if (placed.type === 'dir') throw fail.conflict(`would replace the ${existing.type} ${path} with a directory`);
      const previous = this.#owner.get(path);
      if (previous !== pkg) {
        this.#overwrites.push({
          path,
          previousPackage: previous,
          newPackage: pkg,
          identical: sameEntry(existing, placed),
        });
      }
      this.#detach(path);
    }

    for (const made of missing) {
      this.#entries.set(made, rootDir(made));
      this.#implicit.add(made);
      this.#setOwner(made, pkg);
    }
    this.#entries.set(path, placed);
    this.#setOwner(path, pkg);
    if (placed.type === 'hardlink') this.#linkSet(placed.target).add(path);
    return placed;
  }

  /**
   * The entry at a path, looked up as `add` would store it: parents through the
   * merged-/usr symlinks ("/bin/sh" finds "/usr/bin/sh"), the last component
   * not followed ("/bin" is the symlink). Other symlinks are not followed: use
   * `resolve` for that.
   */
  get(path: string): TreeEntry | undefined {
    const canonical = this.#canonical(path);
    return canonical === undefined ? undefined : this.#entries.get(canonical);
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /**
   * Removes an entry (a directory with everything below it). Hard links to a
   * removed file keep its content: the first of them becomes the file. Returns
   * false when nothing was there.
   */
  remove(path: string): boolean {
    const canonical = this.#canonical(path);
    const entry = canonical === undefined ? undefined : this.#entries.get(canonical);
    if (canonical === undefined || entry === undefined) return false;
    if (canonical === '/')
      throw new BootforgeError('BF_INTERNAL', 'the root directory of a file tree cannot be removed');
    const doomed = [canonical];
    if (entry.type === 'dir') {
      const prefix = `${canonical}/`;
      for (const p of this.#entries.keys()) if (p.startsWith(prefix)) doomed.push(p);
    }
    for (const p of doomed) this.#detach(p);
    for (const p of doomed) {
      this.#entries.delete(p);
      this.#owner.delete(p);
      this.#implicit.delete(p);
      this.#merged.delete(p);
    }
    // A merged-/usr link whose directory is gone is an ordinary (dangling) symlink from now on.
    for (const [link, target] of this.#merged) if (!this.#entries.has(target)) this.#merged.delete(link);
    return true;
  }

  /** All entries, sorted by path in byte (UTF-8) order, so parents come before their children. */
  entries(): TreeEntry[] {
    return [...this.#entries.values()]
      .map((e) => ({ key: Buffer.from(e.path, 'utf8'), e }))
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .map(({ e }) => e);
  }

  /**
   * Follows symlinks inside the tree, as the kernel would with the tree as its
   * root: absolute targets start again at the tree's root, ".." stops at the
   * root. Returns the entry reached, or undefined when a component is missing,
   * a non-directory is used as a directory, or there are more than 40 symlinks.
   */
  resolve(path: string, options: ResolveOptions = {}): TreeEntry | undefined {
    return this.trace(path, options).entry;
  }

  /** Like `resolve`, and reports every symlink met on the way and where a lookup failed. */
  trace(path: string, options: ResolveOptions = {}): Trace {
    const follow = options.follow ?? true;
    const links: SymlinkEntry[] = [];
    if (path.includes('\0')) return { entry: undefined, links, failedAt: path };
    const parts = (p: string) => p.split('/').filter((x) => x !== '' && x !== '.');
    let pending = parts(path);
    let resolved: string[] = [];
    while (pending.length > 0) {
      const [part, ...rest] = pending;
      pending = rest;
      if (part === undefined) break;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const here = `/${[...resolved, part].join('/')}`;
      const entry = this.#entries.get(here);
      if (entry === undefined) return { entry: undefined, links, failedAt: here };
      const last = pending.length === 0;
      if (entry.type === 'symlink' && (!last || follow)) {
        if (links.length >= MAX_SYMLINK_HOPS || entry.target === '') return { entry: undefined, links, failedAt: here };
        links.push(entry);
        if (entry.target.startsWith('/')) resolved = [];
        pending = [...parts(entry.target), ...pending];
        continue;
      }
      if (!last && entry.type !== 'dir') return { entry: undefined, links, failedAt: here };
      resolved.push(part);
    }
    return { entry: this.#entries.get(`/${resolved.join('/')}`), links };
  }

  /**
   * Walks the parent components of a new entry. Missing directories are listed
   * (made only once the whole entry is known to be acceptable); the merged-/usr
   * symlinks are replaced by their directories; any other symlink is refused.
   */
  #parents(parts: readonly string[], fail: Failer): { dir: string; missing: string[] } {
    let dir = '/';
    const missing: string[] = [];
    for (const part of parts) {
      const path = join(dir, part);
      dir = path;
      if (missing.length > 0) {
        missing.push(path);
        continue;
      }
      const entry = this.#entries.get(path);
      if (entry === undefined) {
        missing.push(path);
        continue;
      }
      if (entry.type === 'dir') continue;
      if (entry.type === 'symlink') {
        const merged = this.#merged.get(path);
        if (merged !== undefined) {
          dir = merged;
          continue;
        }
        // "Symlink, then a file below it" is how archives write outside the
        // directory they are extracted to: GNU tar CVE-2007-4131, cpio
        // CVE-2015-1197, the scp/tar family of CVE-2018-20685; dpkg refuses
        // the same for a symlink shipped by the package itself.
        throw fail.unsafe(
          `goes through the symlink ${path} -> ${entry.target}; an archive may not write through a symlink`,
        );
      }
      throw fail.conflict(`needs ${path} to be a directory, but it is a ${entry.type}`);
    }
    return { dir, missing };
  }

  /** The canonical path of the file a hard link names; it must be a file of the same package, already here. */
  #hardlinkTarget(raw: string, linkPath: string, pkg: string | undefined, fail: Failer): string {
    const linkFail: Failer = {
      unsafe: (why) => fail.unsafe(`is a hard link to ${JSON.stringify(raw)}, whose name ${why}`),
      conflict: (why) => fail.conflict(`is a hard link to ${JSON.stringify(raw)}, whose name ${why}`),
    };
    const parts = pathParts(raw, linkFail);
    const name = parts.pop();
    if (name === undefined) throw fail.unsafe('is a hard link to the root directory');
    const { dir, missing } = this.#parents(parts, linkFail);
    let target = join(dir, name);
    let entry = missing.length > 0 ? undefined : this.#entries.get(target);
    if (entry?.type === 'hardlink') {
      target = entry.target;
      entry = this.#entries.get(target);
    }
    if (entry?.type !== 'file') {
      const what = entry === undefined ? 'is not in the tree' : `is a ${entry.type}`;
      throw fail.unsafe(
        `is a hard link to ${JSON.stringify(raw)}, which ${what}; a hard link must name a file extracted before it`,
      );
    }
    if (target === linkPath) throw fail.unsafe('is a hard link to itself');
    const targetOwner = this.#owner.get(target);
    if (pkg !== undefined && targetOwner !== pkg) {
      throw fail.unsafe(
        `is a hard link to ${target}, a file of ${targetOwner === undefined ? 'no package' : `package ${targetOwner}`}; a hard link may only name a file of its own package`,
      );
    }
    return target;
  }

  /**
   * Takes the entry at `path` out of the hard-link bookkeeping before it is
   * replaced or removed. Hard links to a file keep its content, as they would
   * on disk (dpkg unpacks a replacement as a new inode): the first becomes the
   * file, the others name it.
   */
  #detach(path: string): void {
    const entry = this.#entries.get(path);
    if (entry?.type === 'hardlink') {
      this.#linksTo.get(entry.target)?.delete(path);
      return;
    }
    if (entry?.type !== 'file') return;
    const links = this.#linksTo.get(path);
    this.#linksTo.delete(path);
    if (links === undefined) return;
    const [heir, ...rest] = sortedPaths([...links]);
    if (heir === undefined) return;
    this.#entries.set(heir, { ...entry, path: heir });
    for (const p of rest) {
      const link = this.#entries.get(p);
      if (link?.type === 'hardlink') this.#entries.set(p, { ...link, target: heir });
    }
    if (rest.length > 0) this.#linksTo.set(heir, new Set(rest));
  }

  #linkSet(target: string): Set<string> {
    let set = this.#linksTo.get(target);
    if (set === undefined) {
      set = new Set();
      this.#linksTo.set(target, set);
    }
    return set;
  }

  #setOwner(path: string, pkg: string | undefined): void {
    if (pkg === undefined) this.#owner.delete(path);
    else this.#owner.set(path, pkg);
  }

  /** The path as `add` would store it, or undefined when it cannot exist (".." components, a missing parent). */
  #canonical(path: string): string | undefined {
    if (pathProblem(path) !== undefined) return undefined;
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) return '/';
    let dir = '/';
    for (const part of parts) {
      const here = join(dir, part);
      const entry = this.#entries.get(here);
      const merged = this.#merged.get(here);
      if (entry?.type === 'dir') dir = here;
      else if (entry?.type === 'symlink' && merged !== undefined) dir = merged;
      else return undefined;
    }
    return join(dir, name);
  }
}

interface Failer {
  unsafe(why: string): BootforgeError;
  conflict(why: string): BootforgeError;
}

function failer(pkg: string | undefined, name: string): Failer {
  const who = `${pkg === undefined ? '' : `package ${pkg}: `}entry ${JSON.stringify(name)}`;
  return {
    unsafe: (why) => new BootforgeError('BF_UNSAFE_ARCHIVE', `${who} ${why}`),
    conflict: (why) => new BootforgeError('BF_PATH_CONFLICT', `${who} ${why}`),
  };
}

/** What makes a name unacceptable, if anything. */
function pathProblem(raw: string): string | undefined {
  if (raw === '') return 'is empty';
  if (raw.includes('\0')) return 'contains a NUL byte';
  if (raw.includes('\n')) return 'contains a newline';
  if (splitPath(raw).includes('..')) return 'has a ".." component; extracted, it could land outside the tree';
  return undefined;
}

function splitPath(raw: string): string[] {
  return raw.split('/').filter((p) => p !== '' && p !== '.');
}

function pathParts(raw: string, fail: Failer): string[] {
  const problem = pathProblem(raw);
  if (problem !== undefined) throw fail.unsafe(problem);
  return splitPath(raw);
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function rootDir(path: string): DirEntry {
  return { type: 'dir', path, mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 0 };
}

function sortedPaths(paths: string[]): string[] {
  return paths
    .map((p) => ({ key: Buffer.from(p, 'utf8'), p }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ p }) => p);
}

function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  switch (a.type) {
    case 'file':
      return b.type === 'file' && a.sha256 === b.sha256 && a.size === b.size;
    case 'symlink':
    case 'hardlink':
      return (b.type === 'symlink' || b.type === 'hardlink') && a.target === b.target;
    case 'chardev':
    case 'blockdev':
      return (b.type === 'chardev' || b.type === 'blockdev') && a.major === b.major && a.minor === b.minor;
    default:
      return true;
  }
}
