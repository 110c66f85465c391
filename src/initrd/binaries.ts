/**
 * The programs the initrd runs, with everything they need to start: the
 * symlinks that name them (`mkfs.ext4 -> mke2fs`), their ELF interpreter, and
 * the DT_NEEDED closure of shared libraries, all resolved inside the package
 * tree and never on the build host.
 *
 * Library search follows glibc's ld.so without a cache: DT_RPATH (only when
 * there is no DT_RUNPATH), DT_RUNPATH, then the trusted directories, which
 * Debian's glibc extends with the multiarch ones. The initrd has no
 * ld.so.cache, so directories listed only in /etc/ld.so.conf.d are not
 * searched: a library there would be found here and missed at boot.
 */
import { BootforgeError } from '../errors/index.js';
import type { FsTree, Trace } from '../fstree/tree.js';
import type { BlobStore, FileEntry, TreeEntry } from '../fstree/types.js';
import { didYouMean } from '../schema/suggest.js';
import { EM_X86_64, ElfFile, isElf } from './elf.js';

/** Where a bare program name is looked up, in order (merged /usr makes /sbin and /bin the same directories). */
export const PROGRAM_DIRS: readonly string[] = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Where libraries are looked up after the object's run paths (Debian amd64). */
export const LIBRARY_DIRS: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib',
  '/lib',
  '/lib64',
];

/** A path of the package tree to copy into the initrd, and why. */
export interface InitrdPath {
  /** Canonical path in the tree ("/usr/sbin/mke2fs"; merged-/usr links appear as themselves, "/lib64"). */
  readonly path: string;
  readonly type: 'file' | 'symlink' | 'hardlink';
  /** For symlinks, the link text; for hard links, the file they name. */
  readonly target?: string;
  readonly reasons: readonly string[];
}

/** Collects paths to copy, merging the reasons of a path added twice. */
export class PathSet {
  readonly #items = new Map<string, { entry: TreeEntry; reasons: Set<string> }>();

  add(entry: TreeEntry, reason: string): void {
    if (entry.type !== 'file' && entry.type !== 'symlink' && entry.type !== 'hardlink') return;
    let item = this.#items.get(entry.path);
    if (item === undefined) this.#items.set(entry.path, (item = { entry, reasons: new Set() }));
    item.reasons.add(reason);
  }

  has(path: string): boolean {
    return this.#items.has(path);
  }

  /** Sorted by path (byte order). */
  list(): InitrdPath[] {
    return [...this.#items.values()]
      .sort((a, b) => Buffer.compare(Buffer.from(a.entry.path), Buffer.from(b.entry.path)))
      .map(({ entry, reasons }) => ({
        path: entry.path,
        type: entry.type as InitrdPath['type'],
        ...(entry.type === 'symlink' || entry.type === 'hardlink' ? { target: entry.target } : {}),
        reasons: [...reasons],
      }));
  }
}

export type { Trace } from '../fstree/tree.js';

/**
 * Follows `path` inside the tree as the kernel would with the tree as its root
 * and reports the symlinks it went through (see FsTree.trace).
 */
export function traceLinks(tree: FsTree, path: string): Trace {
  return tree.trace(path);
}

/** The regular file a path leads to (through symlinks and a hard link), or undefined. */
export function fileAt(tree: FsTree, path: string): FileEntry | undefined {
  // The common case first: a plain file, its parents real directories or merged-/usr links.
  const direct = tree.get(path);
  if (direct?.type === 'file') return direct;
  const { entry } = traceLinks(tree, path);
  if (entry?.type === 'file') return entry;
  if (entry?.type === 'hardlink') {
    const target = tree.get(entry.target);
    return target?.type === 'file' ? target : undefined;
  }
  return undefined;
}

/** Adds a traced path (its links, the entry, and a hard link's file) to the set; returns the file reached. */
export function addTraced(tree: FsTree, set: PathSet, trace: Trace, reason: string): FileEntry | undefined {
  for (const link of trace.links) set.add(link, reason);
  const entry = trace.entry;
  if (entry === undefined) return undefined;
  set.add(entry, reason);
  if (entry.type === 'hardlink') {
    const target = tree.get(entry.target);
    if (target?.type !== 'file') return undefined;
    set.add(target, `${reason} (hard link target)`);
    return target;
  }
  return entry.type === 'file' ? entry : undefined;
}

export interface ResolvedBinary {
  /** As requested ("mkfs.ext4", "/usr/bin/busybox"). */
  readonly name: string;
  /** Where the name was found; may be a symlink ("/usr/sbin/mkfs.ext4"). */
  readonly path: string;
  /** The file it leads to ("/usr/sbin/mke2fs"). */
  readonly file: string;
  /** PT_INTERP, or the "#!" interpreter of a script. */
  readonly interpreter?: string;
  /** Its direct DT_NEEDED sonames. */
  readonly needed: readonly string[];
  /** No interpreter and no needed libraries (busybox-static), or not ELF at all. */
  readonly static: boolean;
}

export interface ResolvedLibrary {
  readonly soname: string;
  /** Where the search found it ("/usr/lib/x86_64-linux-gnu/libc.so.6", maybe a symlink). */
  readonly path: string;
  /** The file it leads to. */
  readonly file: string;
  /** The real files that need it. */
  readonly neededBy: readonly string[];
}

export interface BinaryClosure {
  readonly binaries: readonly ResolvedBinary[];
  readonly libraries: readonly ResolvedLibrary[];
  /** Everything to copy: files, symlinks and hard links, sorted by path, each with its reasons. */
  readonly paths: readonly InitrdPath[];
}

export interface BinaryClosureOptions {
  /** ELF machine the programs must be built for (default EM_X86_64). */
  readonly machine?: number;
  /** Directories searched after the run paths (default LIBRARY_DIRS). */
  readonly libraryDirs?: readonly string[];
  /** What `$LIB` in a run path stands for (Debian amd64: "lib/x86_64-linux-gnu"). */
  readonly libToken?: string;
  /** What `$PLATFORM` in a run path stands for (default "x86_64"). */
  readonly platform?: string;
}

interface ObjectInfo {
  readonly elf: boolean;
  readonly interpreter?: string;
  readonly needed: readonly string[];
  readonly runpath: readonly string[];
  readonly rpath: readonly string[];
  readonly machineOk: boolean;
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** "#!/bin/sh -e" → "/bin/sh". */
function shebang(data: Buffer): string | undefined {
  if (data.length < 3 || data[0] !== 0x23 || data[1] !== 0x21) return undefined;
  let end = data.indexOf(0x0a);
  if (end < 0) end = Math.min(data.length, 256);
  const line = data.toString('utf8', 2, end).trim();
  const interp = line.split(/\s+/)[0];
  return interp === undefined || interp === '' ? undefined : interp;
}

/**
 * Resolves programs and their shared-library closure inside the tree. Names
 * without "/" are looked up in PROGRAM_DIRS; absolute paths are taken as
 * they are. Every symlink on the way is kept. Errors (BF_BINARY_NOT_FOUND)
 * name the program, the missing library and the object that needs it; all
 * problems are reported at once.
 */
export async function binaryClosure(
  tree: FsTree,
  blobs: BlobStore,
  names: readonly string[],
  options: BinaryClosureOptions = {},
): Promise<BinaryClosure> {
  const machine = options.machine ?? EM_X86_64;
  const libraryDirs = options.libraryDirs ?? LIBRARY_DIRS;
  const libToken = options.libToken ?? 'lib/x86_64-linux-gnu';
  const platform = options.platform ?? 'x86_64';
  const set = new PathSet();
  const errors: BootforgeError[] = [];
  const infoCache = new Map<string, ObjectInfo>();
  const binaries: ResolvedBinary[] = [];
  const libraries = new Map<string, { soname: string; path: string; file: string; neededBy: Set<string> }>();
  const doneFiles = new Set<string>();

  const infoOf = async (file: FileEntry): Promise<ObjectInfo> => {
    const cached = infoCache.get(file.path);
    if (cached !== undefined) return cached;
    const data = await blobs.get(file.sha256);
    let info: ObjectInfo;
    if (!isElf(data)) {
      const interp = shebang(data);
      info = {
        elf: false,
        needed: [],
        runpath: [],
        rpath: [],
        machineOk: true,
        ...(interp ? { interpreter: interp } : {}),
      };
    } else {
      const elf = ElfFile.parse(data, file.path);
      const dyn = elf.dynamic();
      const interp = elf.interpreter();
      info = {
        elf: true,
        needed: dyn.needed,
        runpath: dyn.runpath,
        rpath: dyn.rpath,
        machineOk: elf.machine === machine,
        ...(interp === undefined ? {} : { interpreter: interp }),
      };
    }
    infoCache.set(file.path, info);
    return info;
  };

  const expand = (dir: string, origin: string): string =>
    dir
      .replaceAll(/\$\{ORIGIN\}|\$ORIGIN/g, origin)
      .replaceAll(/\$\{LIB\}|\$LIB/g, libToken)
      .replaceAll(/\$\{PLATFORM\}|\$PLATFORM/g, platform);

  /** Finds a soname for the object `from` (a real file path); returns the trace and file, or what was tried. */
  const findLibrary = async (
    soname: string,
    from: string,
    info: ObjectInfo,
  ): Promise<{ trace: Trace; file: FileEntry; path: string } | { tried: string[]; skipped: string[] }> => {
    const origin = dirname(from);
    const runPaths = (info.runpath.length > 0 ? info.runpath : info.rpath).map((d) => expand(d, origin));
    const candidates = soname.includes('/')
      ? [soname]
      : [...runPaths.filter((d) => d.startsWith('/')), ...libraryDirs].map((d) => `${d.replace(/\/+$/, '')}/${soname}`);
    const skipped: string[] = [];
    for (const path of candidates) {
      const trace = traceLinks(tree, path);
      const file = trace.entry === undefined ? undefined : fileAt(tree, path);
      if (file === undefined) continue;
      // ld.so passes over a file of the wrong class or machine and keeps searching.
      let ok: boolean;
      try {
        const libInfo = await infoOf(file);
        ok = libInfo.elf && libInfo.machineOk;
      } catch (e) {
        if (!(e instanceof BootforgeError) || e.code !== 'BF_BAD_ELF') throw e;
        ok = false;
      }
      if (ok) return { trace, file, path };
      skipped.push(path);
    }
    return { tried: candidates, skipped };
  };

  /** Adds an object's libraries, depth first; `program` names the binary for errors. */
  const addLibraries = async (file: FileEntry, info: ObjectInfo, program: string): Promise<void> => {
    if (doneFiles.has(file.path)) return;
    doneFiles.add(file.path);
    for (const soname of info.needed) {
      const found = await findLibrary(soname, file.path, info);
      if ('tried' in found) {
        const skipped =
          found.skipped.length > 0 ? `; passed over (not ${machine}-machine ELF64): ${found.skipped.join(', ')}` : '';
        errors.push(
          new BootforgeError(
            'BF_BINARY_NOT_FOUND',
            `${program}: library ${soname}, needed by ${file.path}, is not in the package tree (searched ${found.tried.join(', ')}${skipped})`,
            { hint: `add the Debian package that ships ${soname} to the profile` },
          ),
        );
        continue;
      }
      const reason = `library ${soname} of ${file.path}`;
      addTraced(tree, set, found.trace, reason);
      const key = found.file.path;
      let lib = libraries.get(key);
      if (lib === undefined) {
        libraries.set(key, (lib = { soname, path: found.path, file: key, neededBy: new Set() }));
      }
      lib.neededBy.add(file.path);
      await addLibraries(found.file, await infoOf(found.file), program);
    }
  };

  const resolveProgram = async (name: string, why: string, depth: number): Promise<void> => {
    let path: string | undefined;
    let trace: Trace | undefined;
    if (name.startsWith('/')) {
      path = name;
      trace = traceLinks(tree, name);
    } else if (!name.includes('/') && name !== '' && name !== '.' && name !== '..') {
      for (const dir of PROGRAM_DIRS) {
        const t = traceLinks(tree, `${dir}/${name}`);
        if (t.entry !== undefined && fileAt(tree, `${dir}/${name}`) !== undefined) {
          path = `${dir}/${name}`;
          trace = t;
          break;
        }
      }
    }
    const file = path === undefined ? undefined : fileAt(tree, path);
    if (trace === undefined || path === undefined || file === undefined) {
      const base = name.slice(name.lastIndexOf('/') + 1);
      const suggestion = didYouMean(base, programNames(tree));
      errors.push(
        new BootforgeError(
          'BF_BINARY_NOT_FOUND',
          name.startsWith('/')
            ? `${why} ${name} is not a file in the package tree`
            : name.includes('/') || name === ''
              ? `${why} ${JSON.stringify(name)} is neither a bare name nor an absolute path`
              : `${why} ${name} is not in the package tree (looked in ${PROGRAM_DIRS.join(', ')})`,
          suggestion === undefined
            ? {}
            : { hint: `did you mean ${suggestion}? Otherwise add the package that ships it` },
        ),
      );
      return;
    }
    addTraced(tree, set, trace, `${why} ${name}`);
    const info = await infoOf(file).catch((e: unknown) => {
      if (e instanceof BootforgeError) errors.push(e);
      else throw e;
      return undefined;
    });
    if (info === undefined) return;
    if (info.elf && !info.machineOk) {
      errors.push(
        new BootforgeError('BF_BAD_ELF', `${file.path} (${why} ${name}) is not built for ELF machine ${machine}`),
      );
      return;
    }
    if (depth === 0 || binaries.every((b) => b.file !== file.path)) {
      binaries.push({
        name,
        path,
        file: file.path,
        needed: info.needed,
        static: info.interpreter === undefined && info.needed.length === 0,
        ...(info.interpreter === undefined ? {} : { interpreter: info.interpreter }),
      });
    }
    if (info.interpreter !== undefined) {
      if (!info.interpreter.startsWith('/')) {
        errors.push(
          new BootforgeError('BF_BINARY_NOT_FOUND', `${file.path} names a relative interpreter ${info.interpreter}`),
        );
      } else if (depth < 4) {
        const interpTrace = traceLinks(tree, info.interpreter);
        const interpFile = fileAt(tree, info.interpreter);
        if (interpFile === undefined) {
          errors.push(
            new BootforgeError(
              'BF_BINARY_NOT_FOUND',
              `${name}: its interpreter ${info.interpreter} (from ${file.path}) is not in the package tree`,
              {
                hint: info.elf
                  ? 'add libc6 (the dynamic loader) to the package set'
                  : 'add the package of the interpreter',
              },
            ),
          );
        } else if (info.elf) {
          addTraced(tree, set, interpTrace, `interpreter of ${file.path}`);
        } else {
          // A script's interpreter is a program in its own right, with its own libraries.
          await resolveProgram(info.interpreter, `interpreter of ${file.path}:`, depth + 1);
        }
      }
    }
    await addLibraries(file, info, name);
  };

  for (const name of names) await resolveProgram(name, 'program', 0);
  BootforgeError.throwAll(errors);
  return {
    binaries,
    libraries: [...libraries.values()]
      .map((l) => ({ soname: l.soname, path: l.path, file: l.file, neededBy: [...l.neededBy].sort() }))
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
    paths: set.list(),
  };
}

/** Names of the programs in PROGRAM_DIRS, for "did you mean". */
function programNames(tree: FsTree): string[] {
  const out = new Set<string>();
  for (const dir of PROGRAM_DIRS) {
    const d = traceLinks(tree, dir).entry;
    if (d?.type !== 'dir') continue;
    const prefix = `${d.path}/`;
    for (const e of tree.entries()) {
      if (e.path.startsWith(prefix) && !e.path.slice(prefix.length).includes('/')) out.add(e.path.slice(prefix.length));
    }
  }
  return [...out];
}
