/**
 * Kernel modules for the initrd: an index of every module of a kernel package
 * built from the modules' own `.modinfo` (the package ships no modules.dep;
 * depmod makes it at install time from the same data), the closure of the
 * modules a build asks for, and the files modprobe reads, written for that
 * closure.
 *
 * Both modprobes are served. busybox's (1.35, Debian's busybox-static) reads
 * the text files: `modules.dep` (each line lists ALL dependencies, the last
 * one loaded first), `modules.alias` ("alias <fnmatch pattern> <module>",
 * matched after "-" → "_" on both sides), `modules.builtin` (names that need
 * no loading); it does not read `modules.softdep`. kmod's (libkmod 30) reads
 * only the binary trie indexes for lookups: `modules.dep.bin`,
 * `modules.alias.bin`, `modules.builtin.bin`, `modules.builtin.alias.bin`;
 * without them it finds nothing. It reads `modules.softdep` as text.
 */
import { gunzipSync } from 'node:zlib';
import { BootforgeError } from '../errors/index.js';
import type { FsTree } from '../fstree/tree.js';
import type { BlobStore, FileEntry } from '../fstree/types.js';
import { didYouMean } from '../schema/suggest.js';
import { fileAt, traceLinks } from './binaries.js';
import { ElfFile, readElfSectionFromFile } from './elf.js';
import {
  isModulePath,
  moduleNameFromPath,
  normalizeAlias,
  normalizeModuleName,
  parseBuiltinModinfo,
  parseModinfo,
  parseModulesBuiltin,
  type SoftDeps,
} from './modinfo.js';

// ---------------------------------------------------------------------------
// fnmatch

/** Whether a string has fnmatch wildcards. */
export function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/**
 * The bracket expression at `p` ("[...]"): whether `c` matches it and where
 * the pattern continues; undefined when the bracket is not closed (then "["
 * is an ordinary character, as in glibc).
 */
function bracket(pattern: string, p: number, c: string): { match: boolean; next: number } | undefined {
  let i = p + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let match = false;
  let first = true;
  while (i < pattern.length) {
    let lo = pattern[i] ?? '';
    if (lo === ']' && !first) return { match: match !== negate, next: i + 1 };
    first = false;
    if (lo === '\\' && i + 1 < pattern.length) lo = pattern[++i] ?? '';
    let hi = lo;
    if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      hi = pattern[i + 2] ?? lo;
      if (hi === '\\' && i + 3 < pattern.length) {
        hi = pattern[i + 3] ?? hi;
        i++;
      }
      i += 2;
    }
    if (c >= lo && c <= hi) match = true;
    i++;
  }
  return undefined;
}

/**
 * POSIX fnmatch(3): `*`, `?`, `[...]` (ranges, `!`/`^` negation) and `\`
 * escapes. Without `pathname`, `*` and `?` match "/" too (modprobe's use);
 * with it they do not (file globs).
 */
export function fnmatch(pattern: string, text: string, pathname = false): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = -1;
  while (t < text.length) {
    const c = text[t] ?? '';
    const pc = pattern[p];
    if (pc === '*') {
      while (pattern[p] === '*') p++;
      starP = p;
      starT = t;
      continue;
    }
    if (pc !== undefined) {
      let next = -1;
      if (pc === '?') next = pathname && c === '/' ? -1 : p + 1;
      else if (pc === '[') {
        const b = bracket(pattern, p, c);
        if (b === undefined) next = c === '[' ? p + 1 : -1;
        else next = b.match && !(pathname && c === '/') ? b.next : -1;
      } else if (pc === '\\') {
        // A trailing backslash escapes nothing and matches nothing (glibc).
        next = p + 1 < pattern.length && pattern[p + 1] === c ? p + 2 : -1;
      } else next = pc === c ? p + 1 : -1;
      if (next >= 0) {
        p = next;
        t++;
        continue;
      }
    }
    // Mismatch: let the last star swallow one more character, if it may.
    if (starP < 0 || (pathname && text[starT] === '/')) return false;
    starT++;
    t = starT;
    p = starP;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

// ---------------------------------------------------------------------------
// The index

/** A loadable module of the kernel package. */
export interface KernelModule {
  /** Normalised name ("crc32c_intel"). */
  readonly name: string;
  /** Relative to the modules directory, as modules.dep writes it ("kernel/fs/ext4/ext4.ko"). */
  readonly path: string;
  readonly size: number;
  readonly depends: readonly string[];
  /** As the module declares them (modules.alias keeps this form). */
  readonly aliases: readonly string[];
  readonly softdeps: SoftDeps;
  readonly firmware: readonly string[];
  readonly license?: string;
}

/** A module built into the kernel image: nothing to load, but it satisfies requests. */
export interface BuiltinModule {
  readonly name: string;
  /**
   * As modules.builtin lists it ("kernel/net/unix/unix.ko"). Absent for the
   * built-ins only modules.builtin.modinfo knows (crypto_algapi and the like:
   * code that is never a module, which depmod leaves out of modules.builtin.bin).
   */
  readonly path?: string;
  readonly aliases: readonly string[];
  readonly firmware: readonly string[];
}

/** The JSON form of an index (what `toJSON` returns and `fromJSON` reads). */
export interface ModuleIndexJSON {
  readonly format: typeof INDEX_FORMAT;
  readonly version: typeof INDEX_VERSION;
  readonly kver: string;
  /** The modules directory in the tree ("/usr/lib/modules/6.1.0-18-amd64"). */
  readonly dir: string;
  /** In modules.order order (unlisted modules after, by path). */
  readonly modules: readonly KernelModule[];
  readonly builtins: readonly BuiltinModule[];
  /** The kernel's modules.order lines. */
  readonly order: readonly string[];
  /** The kernel's modules.builtin.modinfo, base64 (NUL-separated, copied as is). */
  readonly builtinModinfo: string;
}

const INDEX_FORMAT = 'bootforge-module-index';
const INDEX_VERSION = 1;

/** What a request (a name, a glob or an alias) leads to. */
export interface Lookup {
  /** Loadable modules, in index order. */
  readonly modules: readonly string[];
  readonly builtins: readonly string[];
}

/**
 * Every module of one kernel, by name and by alias. Immutable and
 * JSON-serialisable: a caller may cache `toJSON()` keyed by the kernel
 * package's SHA-256 and rebuild it with `fromJSON`.
 */
export class ModuleIndex {
  readonly kver: string;
  readonly dir: string;
  readonly modules: readonly KernelModule[];
  readonly builtins: readonly BuiltinModule[];
  readonly order: readonly string[];
  readonly builtinModinfo: Buffer;
  readonly #byName = new Map<string, KernelModule>();
  readonly #rank = new Map<string, number>();
  readonly #builtinByName = new Map<string, BuiltinModule>();
  #aliases: { pattern: string; name: string; builtin: boolean }[] | undefined;

  constructor(data: Omit<ModuleIndexJSON, 'format' | 'version' | 'builtinModinfo'> & { builtinModinfo: Buffer }) {
    this.kver = data.kver;
    this.dir = data.dir;
    this.modules = data.modules;
    this.builtins = data.builtins;
    this.order = data.order;
    this.builtinModinfo = data.builtinModinfo;
    data.modules.forEach((m, i) => {
      this.#byName.set(m.name, m);
      this.#rank.set(m.name, i);
    });
    for (const b of data.builtins) this.#builtinByName.set(b.name, b);
  }

  module(name: string): KernelModule | undefined {
    return this.#byName.get(normalizeModuleName(name));
  }

  builtin(name: string): BuiltinModule | undefined {
    return this.#builtinByName.get(normalizeModuleName(name));
  }

  /** Position in index order (modules.order); modules not in the index sort last. */
  rank(name: string): number {
    return this.#rank.get(name) ?? Number.MAX_SAFE_INTEGER;
  }

  /** Where a module's file is in the package tree. */
  treePath(module: KernelModule): string {
    return `${this.dir}/${module.path}`;
  }

  /** Every alias pattern, normalised, with its module (loadable ones first, in index order). */
  #aliasTable(): { pattern: string; name: string; builtin: boolean }[] {
    if (this.#aliases === undefined) {
      const table: { pattern: string; name: string; builtin: boolean }[] = [];
      for (const m of this.modules)
        for (const a of m.aliases) table.push({ pattern: normalizeAlias(a), name: m.name, builtin: false });
      for (const b of this.builtins)
        for (const a of b.aliases) table.push({ pattern: normalizeAlias(a), name: b.name, builtin: true });
      this.#aliases = table;
    }
    return this.#aliases;
  }

  /**
   * What modprobe would load for a request: a module name ("-" = "_"), else
   * a built-in's name, else (with wildcards) a glob over names, else every
   * module with an alias pattern matching the request (fnmatch, as modprobe).
   * A request with wildcards that matches no name is also compared the other
   * way round, as a glob over the alias patterns' text, so
   * "pci:v00001AF4d00001001sv*" finds virtio_blk.
   */
  lookup(request: string): Lookup {
    const name = normalizeModuleName(request);
    if (this.#byName.has(name)) return { modules: [name], builtins: [] };
    if (this.#builtinByName.has(name)) return { modules: [], builtins: [name] };
    const key = normalizeAlias(request);
    const glob = hasGlob(request);
    if (glob) {
      const modules = this.modules.filter((m) => fnmatch(key, m.name)).map((m) => m.name);
      const builtins = this.builtins.filter((b) => fnmatch(key, b.name)).map((b) => b.name);
      if (modules.length > 0 || builtins.length > 0) return { modules, builtins: sortUnique(builtins) };
    }
    const modules = new Set<string>();
    const builtins = new Set<string>();
    for (const a of this.#aliasTable()) {
      if (fnmatch(a.pattern, key) || (glob && fnmatch(key, a.pattern))) (a.builtin ? builtins : modules).add(a.name);
    }
    return {
      modules: [...modules].sort((x, y) => this.rank(x) - this.rank(y)),
      builtins: sortUnique([...builtins]),
    };
  }

  /** All names a request could have meant (for "did you mean"). */
  names(): string[] {
    return [...this.#byName.keys(), ...this.#builtinByName.keys()];
  }

  toJSON(): ModuleIndexJSON {
    return {
      format: INDEX_FORMAT,
      version: INDEX_VERSION,
      kver: this.kver,
      dir: this.dir,
      modules: this.modules,
      builtins: this.builtins,
      order: this.order,
      builtinModinfo: this.builtinModinfo.toString('base64'),
    };
  }

  /** Reads what `toJSON` wrote; anything else (an old format, a damaged cache) is refused with BF_IO. */
  static fromJSON(json: unknown): ModuleIndex {
    const bad = (why: string) =>
      new BootforgeError('BF_IO', `cached kernel module index is unusable: ${why}`, {
        hint: 'delete the cached index; it is rebuilt from the kernel package',
      });
    if (typeof json !== 'object' || json === null) throw bad('not an object');
    const j = json as Partial<Record<keyof ModuleIndexJSON, unknown>>;
    if (j.format !== INDEX_FORMAT || j.version !== INDEX_VERSION) throw bad('unknown format or version');
    const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (typeof j.kver !== 'string' || typeof j.dir !== 'string' || typeof j.builtinModinfo !== 'string')
      throw bad('kver, dir or builtinModinfo missing');
    if (!isStrings(j.order)) throw bad('order is not a list of strings');
    if (!Array.isArray(j.modules) || !Array.isArray(j.builtins)) throw bad('modules or builtins missing');
    const modules = (j.modules as unknown[]).map((m, i): KernelModule => {
      const r = m as Partial<Record<keyof KernelModule, unknown>>;
      const soft = r.softdeps as Partial<SoftDeps> | undefined;
      if (
        typeof r.name !== 'string' ||
        typeof r.path !== 'string' ||
        typeof r.size !== 'number' ||
        !isStrings(r.depends) ||
        !isStrings(r.aliases) ||
        !isStrings(r.firmware) ||
        !isStrings(soft?.pre) ||
        !isStrings(soft?.post) ||
        (r.license !== undefined && typeof r.license !== 'string')
      )
        throw bad(`module entry ${i} is malformed`);
      return {
        name: r.name,
        path: r.path,
        size: r.size,
        depends: r.depends,
        aliases: r.aliases,
        softdeps: { pre: soft.pre, post: soft.post },
        firmware: r.firmware,
        ...(r.license === undefined ? {} : { license: r.license }),
      };
    });
    const builtins = (j.builtins as unknown[]).map((b, i): BuiltinModule => {
      const r = b as Partial<Record<keyof BuiltinModule, unknown>>;
      if (
        typeof r.name !== 'string' ||
        (r.path !== undefined && typeof r.path !== 'string') ||
        !isStrings(r.aliases) ||
        !isStrings(r.firmware)
      )
        throw bad(`builtin entry ${i} is malformed`);
      return {
        name: r.name,
        ...(r.path === undefined ? {} : { path: r.path }),
        aliases: r.aliases,
        firmware: r.firmware,
      };
    });
    return new ModuleIndex({
      kver: j.kver,
      dir: j.dir,
      modules,
      builtins,
      order: j.order,
      builtinModinfo: Buffer.from(j.builtinModinfo, 'base64'),
    });
  }
}

function sortUnique(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort();
}

export interface IndexOptions {
  /**
   * Modules read at the same time from a store without files (default 16).
   * A disk store's files are read synchronously, a few KiB each.
   */
  readonly concurrency?: number;
}

/** The directory depmod searches first; then the kernel's own modules; then anything else (extra/, DKMS). */
function pathPriority(path: string): number {
  if (path.startsWith('updates/')) return 0;
  if (path.startsWith('kernel/')) return 1;
  return 2;
}

async function readTreeFile(tree: FsTree, blobs: BlobStore, path: string): Promise<Buffer | undefined> {
  const file = fileAt(tree, path);
  return file === undefined ? undefined : blobs.get(file.sha256);
}

/** The `.modinfo` section of a module file in the blob store, reading as little of it as possible. */
async function readModinfoSection(blobs: BlobStore, file: FileEntry, label: string): Promise<Buffer> {
  let section: Buffer | undefined;
  const onDisk = file.path.endsWith('.ko') ? blobs.pathOf?.(file.sha256) : undefined;
  if (onDisk !== undefined) section = readElfSectionFromFile(onDisk, '.modinfo', label);
  else {
    let data = await blobs.get(file.sha256);
    if (label.endsWith('.ko.gz')) {
      try {
        data = gunzipSync(data);
      } catch (cause) {
        throw new BootforgeError('BF_BAD_ELF', `${label}: cannot decompress: ${(cause as Error).message}`, { cause });
      }
    } else if (/\.ko\.(xz|zst)$/.test(label)) {
      throw new BootforgeError('BF_BAD_ELF', `${label}: modules compressed with xz or zstd cannot be read`, {
        hint: 'bootforge reads .ko and .ko.gz modules (Debian bookworm ships .ko)',
      });
    }
    section = ElfFile.parse(data, label).sectionData('.modinfo');
  }
  if (section === undefined) throw new BootforgeError('BF_BAD_ELF', `${label}: has no .modinfo section`);
  return section;
}

/**
 * Indexes every module of kernel `kver` in the tree: each `.ko` below
 * /lib/modules/<kver> (through the merged-/usr link) by its `.modinfo`, plus
 * the built-ins from modules.builtin and modules.builtin.modinfo. Only the
 * `.modinfo` section of each module is read when the blob store keeps files
 * on disk; no module's bytes stay in memory.
 */
export async function indexKernelModules(
  tree: FsTree,
  blobs: BlobStore,
  kver: string,
  options: IndexOptions = {},
): Promise<ModuleIndex> {
  if (kver === '' || kver.includes('/'))
    throw new BootforgeError('BF_MODULE_NOT_FOUND', `not a kernel version: ${JSON.stringify(kver)}`);
  const dirEntry = traceLinks(tree, `/lib/modules/${kver}`).entry ?? traceLinks(tree, `/usr/lib/modules/${kver}`).entry;
  if (dirEntry?.type !== 'dir')
    throw new BootforgeError('BF_MODULE_NOT_FOUND', `kernel ${kver} has no /lib/modules/${kver} in the package tree`, {
      hint: 'the kernel package (linux-image-...) must be part of the package set, and kver must be its version',
    });
  const dir = dirEntry.path;
  const prefix = `${dir}/`;

  const files: { rel: string; file: FileEntry }[] = [];
  for (const e of tree.entries()) {
    if (!e.path.startsWith(prefix) || !isModulePath(e.path) || e.type === 'dir') continue;
    const file = fileAt(tree, e.path);
    if (file !== undefined) files.push({ rel: e.path.slice(prefix.length), file });
  }

  const infos = new Array<KernelModule | undefined>(files.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const item = files[i];
      if (item === undefined) continue;
      const label = `${prefix}${item.rel}`;
      const info = parseModinfo(await readModinfoSection(blobs, item.file, label), item.rel);
      infos[i] = {
        name: info.name,
        path: item.rel,
        size: item.file.size,
        depends: info.depends,
        aliases: info.aliases,
        softdeps: info.softdeps,
        firmware: info.firmware,
        ...(info.license === undefined ? {} : { license: info.license }),
      };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 16) }, worker));

  const orderText = (await readTreeFile(tree, blobs, `${dir}/modules.order`))?.toString('utf8') ?? '';
  const order = orderText.split('\n').filter((l) => l.trim() !== '');
  const orderRank = new Map(order.map((p, i) => [p, i] as const));
  // One module per name: updates/ over kernel/ over the rest (depmod's default search order).
  const byName = new Map<string, KernelModule>();
  for (const m of infos) {
    if (m === undefined) continue;
    const had = byName.get(m.name);
    if (had === undefined || pathPriority(m.path) < pathPriority(had.path)) byName.set(m.name, m);
  }
  const rankOf = (m: KernelModule) => orderRank.get(m.path) ?? Number.MAX_SAFE_INTEGER;
  const modules = [...byName.values()].sort((a, b) => rankOf(a) - rankOf(b) || (a.path < b.path ? -1 : 1));

  const builtinPaths = parseModulesBuiltin(
    (await readTreeFile(tree, blobs, `${dir}/modules.builtin`))?.toString('utf8') ?? '',
  );
  const builtinModinfo = (await readTreeFile(tree, blobs, `${dir}/modules.builtin.modinfo`)) ?? Buffer.alloc(0);
  const builtinInfo = new Map(parseBuiltinModinfo(builtinModinfo).map((i) => [i.name, i] as const));
  const listed = new Set(builtinPaths.map((b) => b.name));
  const builtins: BuiltinModule[] = [
    ...builtinPaths.map(({ name, path }) => ({
      name,
      path,
      aliases: builtinInfo.get(name)?.aliases ?? [],
      firmware: builtinInfo.get(name)?.firmware ?? [],
    })),
    ...[...builtinInfo.values()]
      .filter((i) => !listed.has(i.name))
      .map((i) => ({ name: i.name, aliases: i.aliases, firmware: i.firmware })),
  ];
  return new ModuleIndex({ kver, dir, modules, builtins, order, builtinModinfo: Buffer.from(builtinModinfo) });
}

// ---------------------------------------------------------------------------
// The closure

export interface ClosureModule {
  readonly module: KernelModule;
  /** Where its file is in the package tree. */
  readonly treePath: string;
  /** Why it is in the initrd ("requested as virtio-blk", "dependency of ext4", ...). */
  readonly reasons: readonly string[];
}

/** What one request matched (see Lookup). */
export interface RequestResult extends Lookup {
  readonly request: string;
}

export interface ModuleClosure {
  readonly index: ModuleIndex;
  readonly kver: string;
  /**
   * In load order: every module after its dependencies and pre soft
   * dependencies. busybox's modprobe ignores soft dependencies, so an init
   * that uses it should load these names in this order (`modprobe -a`), not
   * only the requested ones: ext4 then gets its crc32c implementation.
   */
  readonly modules: readonly ClosureModule[];
  /** Built-in modules that satisfied a request or a soft dependency (nothing to copy). */
  readonly builtins: readonly string[];
  readonly requests: readonly RequestResult[];
  /** Soft dependencies that match nothing in this kernel (modprobe skips them too). */
  readonly missingSoftdeps: readonly { readonly module: string; readonly softdep: string }[];
  /** Hard dependency cycles found (modules in them are included; no order can satisfy them). */
  readonly cycles: readonly (readonly string[])[];
  /** Firmware the included modules may request (sorted, unique): input for firmwareClosure. */
  readonly firmware: readonly string[];
  /** Total bytes of the included module files. */
  readonly size: number;
}

type Edge = 'request' | 'dep' | 'pre' | 'post';

/**
 * The modules to put into the initrd for `requests` (names, globs over names,
 * aliases and modalias strings; see ModuleIndex.lookup), with their
 * dependencies and soft dependencies (pre and post, resolved through
 * aliases). Built-ins satisfy requests without being copied. A request that
 * matches nothing is BF_MODULE_NOT_FOUND with a suggestion; all such requests
 * are reported at once.
 */
export function moduleClosure(index: ModuleIndex, requests: readonly string[]): ModuleClosure {
  const errors: BootforgeError[] = [];
  const reasons = new Map<string, Set<string>>();
  const builtins = new Set<string>();
  const missingSoftdeps: { module: string; softdep: string }[] = [];
  const cycles: string[][] = [];
  const cycleKeys = new Set<string>();
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: { name: string; edge: Edge }[] = [];
  const loadOrder: string[] = [];

  const because = (name: string, why: string) => {
    let set = reasons.get(name);
    if (set === undefined) reasons.set(name, (set = new Set()));
    set.add(why);
  };

  const visit = (name: string, edge: Edge, why: string): void => {
    because(name, why);
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const at = stack.findIndex((f) => f.name === name);
      const loop = stack.slice(at);
      // Only a loop of hard dependencies is a real cycle; soft ones are just cut.
      if (edge === 'dep' && loop.slice(1).every((f) => f.edge === 'dep')) {
        const names = loop.map((f) => f.name);
        const key = [...names].sort().join(' ');
        if (!cycleKeys.has(key)) {
          cycleKeys.add(key);
          cycles.push(names);
        }
      }
      return;
    }
    const module = index.module(name);
    if (module === undefined) return;
    state.set(name, 'visiting');
    stack.push({ name, edge });
    for (const soft of module.softdeps.pre) softdep(module, soft, 'pre');
    for (const dep of module.depends) {
      if (index.module(dep) !== undefined) visit(dep, 'dep', `dependency of ${name}`);
      else if (index.builtin(dep) !== undefined) builtins.add(dep);
      else
        errors.push(
          new BootforgeError(
            'BF_MODULE_NOT_FOUND',
            `module ${name} depends on ${dep}, which kernel ${index.kver} neither ships nor builds in`,
            { hint: 'the kernel package looks incomplete; reinstall it or choose another kernel version' },
          ),
        );
    }
    stack.pop();
    state.set(name, 'done');
    loadOrder.push(name);
    for (const soft of module.softdeps.post) softdep(module, soft, 'post');
  };

  const softdep = (module: KernelModule, soft: string, kind: 'pre' | 'post') => {
    const found = index.lookup(soft);
    if (found.modules.length === 0 && found.builtins.length === 0) {
      missingSoftdeps.push({ module: module.name, softdep: soft });
      return;
    }
    for (const b of found.builtins) builtins.add(b);
    const via = normalizeModuleName(soft) === found.modules[0] && found.modules.length === 1 ? '' : ` via ${soft}`;
    for (const m of found.modules) visit(m, kind, `soft dependency (${kind}) of ${module.name}${via}`);
  };

  const results: RequestResult[] = [];
  for (const request of requests) {
    const found = index.lookup(request);
    results.push({ request, modules: found.modules, builtins: found.builtins });
    if (found.modules.length === 0 && found.builtins.length === 0) {
      const suggestion = hasGlob(request) ? undefined : didYouMean(normalizeModuleName(request), index.names());
      errors.push(
        new BootforgeError(
          'BF_MODULE_NOT_FOUND',
          `no kernel module matches ${JSON.stringify(request)} (by name, alias or modalias)`,
          suggestion === undefined ? {} : { hint: `did you mean ${suggestion}?` },
        ),
      );
      continue;
    }
    for (const b of found.builtins) builtins.add(b);
    for (const m of found.modules) visit(m, 'request', `requested as ${request}`);
  }
  BootforgeError.throwAll(errors);

  const modules = loadOrder.map((name): ClosureModule => {
    const module = index.module(name);
    if (module === undefined) throw new BootforgeError('BF_INTERNAL', `module ${name} vanished from the index`);
    return { module, treePath: index.treePath(module), reasons: [...(reasons.get(name) ?? [])] };
  });
  return {
    index,
    kver: index.kver,
    modules,
    builtins: [...builtins].sort(),
    requests: results,
    missingSoftdeps,
    cycles,
    firmware: sortUnique(modules.flatMap((m) => m.module.firmware)),
    size: modules.reduce((n, m) => n + m.module.size, 0),
  };
}

// ---------------------------------------------------------------------------
// modules.* files

export interface ModuleFiles {
  /** Where the files and the modules go in the initrd, relative to its root: "lib/modules/<kver>". */
  readonly dir: string;
  /** File name → content, in a fixed order. */
  readonly files: ReadonlyMap<string, Buffer>;
}

/**
 * The files modprobe reads, for the modules of the closure: modules.dep,
 * modules.alias, modules.softdep, modules.order (text, what busybox reads)
 * and modules.dep.bin, modules.alias.bin, modules.builtin.bin,
 * modules.builtin.alias.bin (kmod's indexes), plus the kernel's
 * modules.builtin and modules.builtin.modinfo for all built-ins. Paths inside
 * are relative to the modules directory, as depmod writes them.
 */
export function writeModuleFiles(closure: ModuleClosure, kver: string): ModuleFiles {
  if (kver !== closure.kver)
    throw new BootforgeError('BF_INTERNAL', `module files for ${kver} asked from a closure of kernel ${closure.kver}`);
  const index = closure.index;
  const included = closure.modules.map((c) => c.module).sort((a, b) => index.rank(a.name) - index.rank(b.name));
  const inClosure = new Set(included.map((m) => m.name));

  // Every dependency of a module, in the order modules.dep lists them: reversed load order.
  const allDeps = new Map<string, KernelModule[]>();
  const depsOf = (m: KernelModule): KernelModule[] => {
    const cached = allDeps.get(m.name);
    if (cached !== undefined) return cached;
    const seen = new Set<string>([m.name]);
    const load: KernelModule[] = [];
    const walk = (x: KernelModule) => {
      for (const d of x.depends) {
        const dep = index.module(d);
        if (dep === undefined || seen.has(dep.name)) continue;
        seen.add(dep.name);
        walk(dep);
        load.push(dep);
      }
    };
    walk(m);
    const listed = load.reverse();
    allDeps.set(m.name, listed);
    return listed;
  };

  const depLine = (m: KernelModule) =>
    `${m.path}:${depsOf(m)
      .map((d) => ` ${d.path}`)
      .join('')}`;
  const dep = included.map((m) => `${depLine(m)}\n`).join('');
  const alias =
    '# Aliases extracted from modules themselves.\n' +
    included.flatMap((m) => m.aliases.map((a) => `alias ${a} ${m.name}\n`)).join('');
  const softdep =
    '# Soft dependencies extracted from modules themselves.\n' +
    included
      .filter((m) => m.softdeps.pre.length > 0 || m.softdeps.post.length > 0)
      .map((m) => {
        const pre = m.softdeps.pre.length > 0 ? ` pre: ${m.softdeps.pre.join(' ')}` : '';
        const post = m.softdeps.post.length > 0 ? ` post: ${m.softdeps.post.join(' ')}` : '';
        return `softdep ${m.name}${pre}${post}\n`;
      })
      .join('');
  const listedInOrder = new Set(index.order);
  const order = [
    ...index.order.filter(
      (p) => inClosure.has(moduleNameFromPath(p)) && index.module(moduleNameFromPath(p))?.path === p,
    ),
    ...included.filter((m) => !listedInOrder.has(m.path)).map((m) => m.path),
  ]
    .map((p) => `${p}\n`)
    .join('');
  const builtin = index.builtins.flatMap((b) => (b.path === undefined ? [] : [`${b.path}\n`])).join('');

  const priority = new Map(included.map((m, i) => [m.name, i] as const));
  const depBin = writeKmodIndex(
    included.map((m) => ({ key: m.name, value: depLine(m), priority: priority.get(m.name) ?? 0 })),
  );
  const aliasBin = writeKmodIndex(
    included.flatMap((m) =>
      m.aliases.flatMap((a) => {
        const key = kmodAliasKey(a);
        return key === undefined ? [] : [{ key, value: m.name, priority: priority.get(m.name) ?? 0 }];
      }),
    ),
  );
  const builtinBin = writeKmodIndex(
    index.builtins.flatMap((b) => (b.path === undefined ? [] : [{ key: b.name, value: '', priority: 0 }])),
  );
  const builtinAliasBin = writeKmodIndex(
    index.builtins.flatMap((b) =>
      b.aliases.flatMap((a) => {
        const key = kmodAliasKey(a);
        return key === undefined ? [] : [{ key, value: b.name, priority: 0 }];
      }),
    ),
  );

  const files = new Map<string, Buffer>([
    ['modules.dep', Buffer.from(dep)],
    ['modules.dep.bin', depBin],
    ['modules.alias', Buffer.from(alias)],
    ['modules.alias.bin', aliasBin],
    ['modules.softdep', Buffer.from(softdep)],
    ['modules.builtin', Buffer.from(builtin)],
    ['modules.builtin.bin', builtinBin],
    ['modules.builtin.alias.bin', builtinAliasBin],
    ['modules.builtin.modinfo', Buffer.from(index.builtinModinfo)],
    ['modules.order', Buffer.from(order)],
  ]);
  return { dir: `lib/modules/${kver}`, files };
}

/** An alias as kmod keys it: normalised; undefined for an unbalanced bracket (kmod drops those). */
function kmodAliasKey(alias: string): string | undefined {
  let inBracket = false;
  for (const c of alias) {
    if (inBracket) inBracket = c !== ']';
    else if (c === '[') inBracket = true;
    else if (c === ']') return undefined;
  }
  return inBracket ? undefined : normalizeAlias(alias);
}

// ---------------------------------------------------------------------------
// kmod's binary index (libkmod-index.c, format version 2.1)
//
// Header: magic 0xB007F457, version 0x00020001, root node offset; all
// integers 32-bit big-endian. A node offset carries flags in its top nibble
// (0x8 prefix, 0x4 values, 0x2 children). A node is: its prefix
// (NUL-terminated, when flagged), then first and last child character and
// one child offset per character in between (0 = none), then a value count
// and (priority, NUL-terminated value) pairs. Keys are ASCII.

const KMOD_INDEX_MAGIC = 0xb007f457;
const KMOD_INDEX_VERSION = 0x00020001;
const NODE_PREFIX = 0x80000000;
const NODE_VALUES = 0x40000000;
const NODE_CHILDS = 0x20000000;
const NODE_MASK = 0x0fffffff;

export interface KmodIndexEntry {
  readonly key: string;
  readonly value: string;
  readonly priority: number;
}

interface TrieNode {
  prefix: string;
  children: Map<number, TrieNode>;
  values: { value: string; priority: number }[];
}

function newNode(prefix: string): TrieNode {
  return { prefix, children: new Map(), values: [] };
}

/** A radix tree of the keys: each node's prefix is the label of the single-child chain it stands for. */
function buildTrie(entries: Iterable<KmodIndexEntry>): TrieNode {
  const root = newNode('');
  for (const { key, value, priority } of entries) {
    for (let i = 0; i < key.length; i++) {
      const code = key.charCodeAt(i);
      if (code === 0 || code > 127)
        throw new BootforgeError('BF_INTERNAL', `kmod index keys are ASCII: ${JSON.stringify(key)}`);
    }
    let node = root;
    let i = 0;
    for (;;) {
      let j = 0;
      while (j < node.prefix.length && key[i + j] === node.prefix[j]) j++;
      if (j < node.prefix.length) {
        // Split: the node keeps the common part; the rest moves to a new child.
        const tail = newNode(node.prefix.slice(j + 1));
        tail.children = node.children;
        tail.values = node.values;
        node.children = new Map([[node.prefix.charCodeAt(j), tail]]);
        node.values = [];
        node.prefix = node.prefix.slice(0, j);
      }
      i += j;
      if (i === key.length) {
        // Sorted by priority; equal priorities keep insertion order. Duplicates stay, as depmod keeps them
        // (a module that declares one alias twice is listed twice).
        let at = node.values.length;
        while (at > 0 && (node.values[at - 1]?.priority ?? 0) > priority) at--;
        node.values.splice(at, 0, { value, priority });
        break;
      }
      const c = key.charCodeAt(i);
      let child = node.children.get(c);
      if (child === undefined) {
        child = newNode(key.slice(i + 1));
        node.children.set(c, child);
        child.values.push({ value, priority });
        break;
      }
      node = child;
      i += 1;
    }
  }
  return root;
}

/** Writes kmod's binary index for the entries (children before parents, as depmod does). */
export function writeKmodIndex(entries: Iterable<KmodIndexEntry>): Buffer {
  const root = buildTrie(entries);
  const chunks: Buffer[] = [];
  let offset = 12;
  const emit = (b: Buffer) => {
    chunks.push(b);
    offset += b.length;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  const writeNode = (node: TrieNode): number => {
    const codes = [...node.children.keys()].sort((a, b) => a - b);
    const childOffsets = new Map<number, number>();
    for (const c of codes) {
      const child = node.children.get(c);
      if (child !== undefined) childOffsets.set(c, writeNode(child));
    }
    const at = offset;
    if (at > NODE_MASK) throw new BootforgeError('BF_INTERNAL', 'kmod index larger than 256 MiB');
    let flags = 0;
    if (node.prefix !== '') {
      emit(Buffer.from(`${node.prefix}\0`, 'latin1'));
      flags |= NODE_PREFIX;
    }
    const first = codes[0];
    const last = codes[codes.length - 1];
    if (first !== undefined && last !== undefined) {
      emit(Buffer.from([first, last]));
      for (let c = first; c <= last; c++) emit(u32(childOffsets.get(c) ?? 0));
      flags |= NODE_CHILDS;
    }
    if (node.values.length > 0) {
      emit(u32(node.values.length));
      for (const v of node.values) {
        emit(u32(v.priority));
        emit(Buffer.from(`${v.value}\0`, 'utf8'));
      }
      flags |= NODE_VALUES;
    }
    return (at | flags) >>> 0;
  };
  const rootOffset = writeNode(root);
  return Buffer.concat([u32(KMOD_INDEX_MAGIC), u32(KMOD_INDEX_VERSION), u32(rootOffset), ...chunks]);
}

/**
 * Reads a kmod binary index back into key → values (by priority): to check
 * what writeKmodIndex wrote, or to compare with what depmod writes.
 */
export function readKmodIndex(data: Buffer): Map<string, { value: string; priority: number }[]> {
  const bad = (why: string) => new BootforgeError('BF_INTERNAL', `malformed kmod index: ${why}`);
  if (data.length < 12 || data.readUInt32BE(0) !== KMOD_INDEX_MAGIC) throw bad('no magic');
  if (data.readUInt32BE(4) >>> 16 !== KMOD_INDEX_VERSION >>> 16) throw bad('unknown version');
  const out = new Map<string, { value: string; priority: number }[]>();
  const str = (at: number): [string, number] => {
    const end = data.indexOf(0, at);
    if (at >= data.length || end < 0) throw bad(`string at ${at} runs off the end`);
    return [data.toString('utf8', at, end), end + 1];
  };
  const u32 = (at: number): number => {
    if (at + 4 > data.length) throw bad(`integer at ${at} runs off the end`);
    return data.readUInt32BE(at);
  };
  let nodes = 0;
  const walk = (ref: number, key: string, depth: number) => {
    if (++nodes > data.length || depth > data.length) throw bad('node loop');
    let at = ref & NODE_MASK;
    if (at === 0) return;
    let prefix = '';
    if (ref & NODE_PREFIX) [prefix, at] = str(at);
    const here = key + prefix;
    if (ref & NODE_CHILDS) {
      if (at + 2 > data.length) throw bad('child range runs off the end');
      const first = data[at] ?? 0;
      const last = data[at + 1] ?? 0;
      if (first > last) throw bad('child range is reversed');
      at += 2;
      const refs: [number, number][] = [];
      for (let c = first; c <= last; c++, at += 4) refs.push([c, u32(at)]);
      if (ref & NODE_VALUES) readValues(at, here);
      for (const [c, child] of refs)
        if ((child & NODE_MASK) !== 0) walk(child, here + String.fromCharCode(c), depth + 1);
      return;
    }
    if (ref & NODE_VALUES) readValues(at, here);
  };
  const readValues = (start: number, key: string) => {
    let at = start;
    const count = u32(at);
    at += 4;
    if (count > data.length) throw bad('value count too large');
    const values: { value: string; priority: number }[] = [];
    for (let i = 0; i < count; i++) {
      const priority = u32(at);
      const [value, next] = str(at + 4);
      values.push({ value, priority });
      at = next;
    }
    out.set(key, values);
  };
  walk(data.readUInt32BE(8), '', 0);
  return out;
}
