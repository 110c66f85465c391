/**
 * The paths a package's entries have in its archive, as dpkg records them in
 * <pkg>.list: "./bin/bash" is "/bin/bash" there even though the tree keeps it
 * at /usr/bin/bash (merged /usr). The manifest keeps only the tree's paths,
 * so the archive name is worked out from what dpkg-deb writes:
 *
 * - md5sums names every regular file but conffiles by its archive path;
 * - every directory has its own member, in sorted order, so ./bin/ ./lib/
 *   ./sbin/ come before ./usr/: a directory seen before the "/usr" member
 *   came from the top level;
 * - symbolic links are written last (sorted among themselves): a link's
 *   directory tells where it came from when that directory exists in only one
 *   of the two places, and their order decides otherwise.
 */
import type { TreeEntry } from '../../fstree/types.js';

export interface ArchivePathsInput {
  readonly entries: readonly TreeEntry[];
  /** The package's md5sums file ("<md5>  usr/bin/x" lines), if it has one. */
  readonly md5sums?: string;
  /** Top-level directories that are symlinks into /usr in the tree ("bin", "lib", ...). */
  readonly mergedDirs: readonly string[];
}

/** Each entry's archive path in dpkg's form ("/." for the root, no trailing "/"), in archive order. */
export function archivePaths(input: ArchivePathsInput): string[] {
  const listed = new Set(md5sumPaths(input.md5sums ?? ''));
  const merged = new Set(input.mergedDirs);
  const { entries } = input;
  const usrAt = entries.findIndex((e) => e.type === 'dir' && e.path === '/usr');
  const mergedOf = (path: string) => {
    const m = /^\/usr\/([^/]+)(\/.*)?$/.exec(path);
    return m?.[1] !== undefined && merged.has(m[1]) ? `/${m[1]}${m[2] ?? ''}` : undefined;
  };
  // Directories by the part of the archive they were in.
  const topDirs = new Set<string>();
  const usrDirs = new Set<string>();
  entries.forEach((e, i) => {
    if (e.type !== 'dir' || mergedOf(e.path) === undefined) return;
    (usrAt < 0 || i < usrAt ? topDirs : usrDirs).add(e.path);
  });
  // The trailing run of links, and where links of genuine /usr paths start in it.
  let tail = entries.length;
  while (tail > 0 && (entries[tail - 1]?.type === 'symlink' || entries[tail - 1]?.type === 'hardlink')) tail--;
  const firstUsrLink = entries.findIndex(
    (e, i) => i >= tail && e.path.startsWith('/usr/') && mergedOf(e.path) === undefined,
  );

  const filesSide = (canonicalDir: string): 'top' | 'usr' | undefined => {
    const top = `/${canonicalDir.slice('/usr/'.length)}/`;
    const usr = `${canonicalDir}/`;
    const direct = (p: string, dir: string) => p.startsWith(dir) && !p.slice(dir.length).includes('/');
    const fromTop = [...listed].some((p) => direct(p, top));
    const fromUsr = [...listed].some((p) => direct(p, usr));
    return fromTop === fromUsr ? undefined : fromTop ? 'top' : 'usr';
  };

  return entries.map((e, i) => {
    if (e.path === '/') return '/.';
    const outside = mergedOf(e.path);
    if (outside === undefined) return e.path;
    if (e.type === 'file' && listed.has(outside) !== listed.has(e.path)) return listed.has(outside) ? outside : e.path;
    if (e.type !== 'dir') {
      const parent = e.path.slice(0, e.path.lastIndexOf('/'));
      const inTop = topDirs.has(parent);
      const inUsr = usrDirs.has(parent);
      if (inTop !== inUsr) return inTop ? outside : e.path;
      if (e.type === 'symlink') {
        // A link to a sibling sits where the sibling does.
        const target = e.target;
        if (!target.includes('/')) {
          const top = `${outside.slice(0, outside.lastIndexOf('/'))}/${target}`;
          const usr = `${parent}/${target}`;
          if (listed.has(top) !== listed.has(usr)) return listed.has(top) ? outside : e.path;
        }
        // Otherwise where the package's files in that directory come from, when that is one place.
        const side = filesSide(parent);
        if (side !== undefined) return side === 'top' ? outside : e.path;
      }
      if (i >= tail) return firstUsrLink >= 0 && i >= firstUsrLink ? e.path : outside;
    }
    return usrAt >= 0 && i > usrAt ? e.path : outside;
  });
}

/** The paths of an md5sums file, absolute. */
export function md5sumPaths(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]{32} [ *]?(.+)$/.exec(line);
    if (m?.[1] !== undefined) out.push(`/${m[1].replace(/^\.?\//, '')}`);
  }
  return out;
}
