/**
 * Compiled locales for a Debian system, as the `locales` package's postinst
 * (locale-gen → localedef) would have made them, without running it: the build
 * host's localedef compiles the target's own locale sources and charmaps, copied
 * out of the tree, into the per-locale directory layout under /usr/lib/locale
 * (en_US.utf8/LC_CTYPE, ...), which glibc reads as well as locale-archive.
 *
 * The binary locale format is specific to a glibc version, so the host's
 * localedef must come from the same glibc major.minor as the target's libc6
 * (a bookworm host for a bookworm system). Byte order follows the target's libc.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BootforgeError, isBootforgeError } from '../errors/index.js';
import { run } from '../exec/run.js';
import type { FsTree } from '../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../fstree/types.js';
import { didYouMean } from '../schema/suggest.js';
import type { GeneratedFile } from './generation.js';

/** Where glibc looks for compiled locales (LOCALEDIR of Debian's glibc). */
export const LOCALE_DIR = '/usr/lib/locale';
export const LOCALE_GEN = '/etc/locale.gen';
const I18N = '/usr/share/i18n';
const SUPPORTED = `${I18N}/SUPPORTED`;

/** Locales glibc has built in (C.UTF-8 since 2.35; bookworm's libc-bin also ships /usr/lib/locale/C.utf8). */
const BUILTIN = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8']);

export interface LocaleInput {
  /** The system's tree: the target's libc6 and `locales` package are read from it. */
  readonly tree: FsTree;
  readonly blobs: BlobStore;
  /** Names as /usr/share/i18n/SUPPORTED has them: en_US.UTF-8, de_DE@euro, ca_ES.UTF-8@valencia. */
  readonly locales: readonly string[];
}

export interface CompiledLocales {
  /** /usr/lib/locale/<name>/LC_* and /etc/locale.gen. */
  readonly files: readonly GeneratedFile[];
  readonly dirs: readonly { readonly path: string; readonly mode: number }[];
  /**
   * For a name without a codeset (de_DE@euro), the name with its normalized codeset
   * (de_DE.iso885915@euro) pointing at it: the alias localedef adds in an archive.
   */
  readonly symlinks: readonly { readonly path: string; readonly target: string }[];
}

/** One line of SUPPORTED: a locale name and its charmap. */
interface Supported {
  readonly name: string;
  readonly charmap: string;
}

/**
 * Compiles the locales with the host's localedef from the target's sources. C,
 * C.UTF-8 and POSIX are built in and skipped; with nothing else to compile the
 * result is empty and the tree need not have `locales`.
 */
export async function compileLocales(input: LocaleInput): Promise<CompiledLocales> {
  const { tree, blobs } = input;
  const wanted = [...new Set(input.locales)].filter((l) => !BUILTIN.has(l));
  if (wanted.length === 0) return { files: [], dirs: [], symlinks: [] };

  const supportedText = await readTreeFile(tree, blobs, SUPPORTED);
  if (supportedText === undefined) {
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      `locale ${wanted.join(', ')} needs the package "locales" in the system (it has the locale sources), but ${SUPPORTED} is not in the tree`,
      { hint: 'add locales to packages.install, or use system.locale: C.UTF-8 (built into glibc)' },
    );
  }
  const supported = parseSupported(supportedText.toString('utf8'));
  const selected = selectLocales(wanted, supported);

  const paths = tree.entries().map((e) => e.path);
  const host = await hostGlibc();
  const target = await targetGlibc(tree, blobs, paths);
  if (host.version !== target.version) {
    throw new BootforgeError(
      'BF_TOOL_MISSING',
      `compiling locales needs localedef of glibc ${target.version}, the target's (libc6 ${target.release}), but the build host's is glibc ${host.version} (${host.line}); compiled locales only work with the glibc version that made them`,
      {
        hint: `build on a host with glibc ${target.version} (Debian bookworm has 2.36), or set BOOTFORGE_TOOL_LOCALEDEF to such a localedef`,
      },
    );
  }

  const scratch = await mkdtemp(join(tmpdir(), 'bootforge-locale-'));
  try {
    const sources = join(scratch, 'i18n');
    const localeSources = await materialiseSources(tree, blobs, paths, join(sources, 'locales'));
    const charmaps = new Map<string, string>();
    for (const charmap of new Set(selected.map((s) => s.charmap))) {
      charmaps.set(charmap, await materialiseCharmap(tree, blobs, join(sources, 'charmaps'), charmap));
    }
    const jobs = selected.map((s, i) => async () => {
      const name = normalizeLocaleName(s.name);
      const out = join(scratch, 'out', String(i), name);
      await mkdir(dirname(out), { recursive: true }); // localedef makes only the last component
      await run(
        [
          'localedef',
          '--no-archive',
          '-c',
          target.bigEndian ? '--big-endian' : '--little-endian',
          '-i',
          join(sources, 'locales', sourceOf(s.name, localeSources)),
          '-f',
          charmaps.get(s.charmap) ?? s.charmap,
          out,
        ],
        // Relative `copy "i18n"` lookups start in the working directory, then I18NPATH:
        // both are the target's sources, so the host's are never read.
        { cwd: join(sources, 'locales'), env: { I18NPATH: sources }, okCodes: [0, 1], timeoutMs: 5 * 60_000 },
      ).catch((e: unknown) => {
        throw withLocaledefHint(e);
      });
      return { name, files: await collect(out) };
    });
    const results = await pool(jobs, Math.max(1, Math.min(4, availableParallelism())));

    const files: GeneratedFile[] = [];
    const dirs = new Map<string, number>([[LOCALE_DIR, 0o755]]);
    const symlinks: { path: string; target: string }[] = [];
    for (const [i, r] of results.entries()) {
      const base = `${LOCALE_DIR}/${r.name}`;
      if (!r.files.some((f) => f.rel === 'LC_CTYPE')) {
        throw new BootforgeError('BF_TOOL_FAILED', `localedef made no LC_CTYPE for locale ${selected[i]?.name}`);
      }
      dirs.set(base, 0o755);
      for (const f of r.files) {
        const path = `${base}/${f.rel}`;
        for (let d = dirname(path); d !== base && d !== '/'; d = dirname(d)) dirs.set(d, 0o755);
        files.push({ path, data: f.data, mode: 0o644, uid: 0, gid: 0 });
      }
      const alias = codesetAlias(selected[i]?.name ?? '', selected[i]?.charmap ?? '');
      if (alias !== undefined && alias !== r.name) symlinks.push({ path: `${LOCALE_DIR}/${alias}`, target: r.name });
    }
    files.push({
      path: LOCALE_GEN,
      data: Buffer.from(localeGen(supportedText.toString('utf8'), selected)),
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
    const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    return {
      files: files.sort(byPath),
      dirs: [...dirs].map(([path, mode]) => ({ path, mode })).sort(byPath),
      symlinks: symlinks.sort(byPath),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The name/charmap pairs of SUPPORTED (lines that start with a letter), first one of a name wins. */
export function parseSupported(text: string): Map<string, Supported> {
  const out = new Map<string, Supported>();
  for (const line of text.split('\n')) {
    if (!/^[A-Za-z]/.test(line)) continue;
    const [name, charmap] = line.trim().split(/\s+/);
    if (name !== undefined && charmap !== undefined && !out.has(name)) out.set(name, { name, charmap });
  }
  return out;
}

function selectLocales(wanted: readonly string[], supported: ReadonlyMap<string, Supported>): Supported[] {
  const errors: BootforgeError[] = [];
  const out: Supported[] = [];
  for (const name of wanted) {
    const s = supported.get(name);
    if (s !== undefined) {
      out.push(s);
      continue;
    }
    const key = normalizeLocaleName(name).toLowerCase();
    const same = [...supported.keys()].find((n) => normalizeLocaleName(n).toLowerCase() === key && !BUILTIN.has(n));
    const guess = same ?? didYouMean(name, supported.keys());
    errors.push(
      new BootforgeError('BF_INVALID_VALUE', `locale ${JSON.stringify(name)} is not in the target's ${SUPPORTED}`, {
        hint: guess
          ? `did you mean ${guess}?`
          : 'use a name from /usr/share/i18n/SUPPORTED of the locales package, such as en_US.UTF-8',
      }),
    );
  }
  BootforgeError.throwAll(errors);
  return out;
}

/**
 * glibc's name for a locale's files: the codeset normalized as _nl_normalize_codeset
 * does (letters lower-cased, digits kept, the rest dropped, "iso" before an
 * all-digit result): en_US.UTF-8 → en_US.utf8, ca_ES.UTF-8@valencia → ca_ES.utf8@valencia.
 */
export function normalizeLocaleName(name: string): string {
  const m = /^([^.@]*)(?:\.([^@]*))?(@.*)?$/.exec(name);
  if (m === null || m[2] === undefined) return name;
  return `${m[1] ?? ''}.${normalizeCodeset(m[2])}${m[3] ?? ''}`;
}

function normalizeCodeset(codeset: string): string {
  const kept = codeset.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  return /^[0-9]*$/.test(kept) ? `iso${kept}` : kept;
}

/** The name with the charmap's normalized codeset, for a name that has none (as localedef's archive adds). */
function codesetAlias(name: string, charmap: string): string | undefined {
  if (name.includes('.')) return undefined;
  const at = name.indexOf('@');
  const base = at < 0 ? name : name.slice(0, at);
  const modifier = at < 0 ? '' : name.slice(at);
  return `${base}.${normalizeCodeset(charmap)}${modifier}`;
}

/** The source locale-gen compiles a name from: the file of that name, else the name without codeset. */
function sourceOf(name: string, sources: ReadonlySet<string>): string {
  if (sources.has(name)) return name;
  const at = name.indexOf('@');
  const input = `${name.split(/[.@]/)[0] ?? name}${at < 0 ? '' : name.slice(at)}`;
  if (!sources.has(input)) {
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      `locale ${name}: the locales package has no source ${I18N}/locales/${input}`,
    );
  }
  return input;
}

/**
 * /etc/locale.gen as the locales postinst leaves it: its header, every line of
 * SUPPORTED commented (sorted as `sort -u` in the C locale), the selected ones not.
 */
export function localeGen(supportedText: string, selected: readonly Supported[]): string {
  const lines = [
    ...new Set(
      supportedText
        .split('\n')
        .filter((l) => /^[a-zA-Z]/.test(l))
        .map((l) => l.replace(/ *$/, '')),
    ),
  ].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const chosen = new Set(selected.map((s) => `${s.name} ${s.charmap}`));
  const header =
    '# This file lists locales that you wish to have built. You can find a list\n' +
    '# of valid supported locales at /usr/share/i18n/SUPPORTED, and you can add\n' +
    '# user defined locales to /usr/local/share/i18n/SUPPORTED. If you change\n' +
    '# this file, you need to rerun locale-gen.\n' +
    '#\n\n';
  return header + lines.map((l) => (chosen.has(l.replace(/\s+/g, ' ')) ? l : `# ${l}`)).join('\n') + '\n';
}

interface GlibcVersion {
  /** major.minor, e.g. "2.36". */
  readonly version: string;
  readonly line: string;
}

/** The glibc the host's localedef belongs to: "localedef (Debian GLIBC 2.36-9+deb12u14) 2.36". */
async function hostGlibc(): Promise<GlibcVersion> {
  const r = await run(['localedef', '--version'], { timeoutMs: 30_000 }).catch((e: unknown) => {
    throw withLocaledefHint(e);
  });
  const line = r.stdout.toString('utf8').split('\n')[0]?.trim() ?? '';
  const m = /(\d+)\.(\d+)(?:\.\d+)?\s*$/.exec(line);
  if (m === null) {
    throw new BootforgeError(
      'BF_TOOL_FAILED',
      `cannot read the glibc version of localedef from ${JSON.stringify(line)}`,
    );
  }
  return { version: `${m[1]}.${m[2]}`, line };
}

/** The target's glibc, read from its libc.so.6 (the version banner and the ELF byte order). */
async function targetGlibc(
  tree: FsTree,
  blobs: BlobStore,
  paths: readonly string[],
): Promise<{ version: string; release: string; bigEndian: boolean }> {
  let found: { version: string; release: string; bigEndian: boolean } | undefined;
  for (const path of paths.filter((p) => /^\/usr\/lib\/[^/]+-linux-[^/]+\/libc\.so\.6$/.test(p))) {
    const data = await readTreeFile(tree, blobs, path);
    if (data === undefined) continue;
    const banner = /GNU C Library \(([^)]*)\)[^\n\0]*? release version (\d+)\.(\d+)/.exec(data.toString('latin1'));
    if (banner === null) continue;
    const release = /(\d[\w.+~:-]*)/.exec(banner[1] ?? '')?.[1] ?? `${banner[2]}.${banner[3]}`;
    const here = { version: `${banner[2]}.${banner[3]}`, release, bigEndian: data[5] === 2 };
    if (found !== undefined && found.version !== here.version) {
      throw new BootforgeError(
        'BF_INVALID_VALUE',
        `the system has two glibc versions (${found.version}, ${here.version})`,
      );
    }
    // A multiarch tree has one libc per architecture; they come from one glibc source version.
    found ??= here;
  }
  if (found === undefined) {
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      'compiling locales needs the target glibc, but the tree has no libc.so.6',
      {
        hint: 'the system needs libc6 (every Debian system has it)',
      },
    );
  }
  return found;
}

/** Copies /usr/share/i18n/locales/* of the tree to `dir`; returns the relative names. */
async function materialiseSources(
  tree: FsTree,
  blobs: BlobStore,
  paths: readonly string[],
  dir: string,
): Promise<Set<string>> {
  const prefix = `${I18N}/locales/`;
  const names = new Set<string>();
  await mkdir(dir, { recursive: true });
  for (const path of paths) {
    if (!path.startsWith(prefix)) continue;
    const data = await readTreeFile(tree, blobs, path);
    if (data === undefined) continue;
    const rel = path.slice(prefix.length);
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), data);
    names.add(rel);
  }
  return names;
}

/** Writes a charmap of the tree, uncompressed, to `dir`; returns its path. */
async function materialiseCharmap(tree: FsTree, blobs: BlobStore, dir: string, charmap: string): Promise<string> {
  const base = `${I18N}/charmaps/${charmap}`;
  const gz = await readTreeFile(tree, blobs, `${base}.gz`);
  const data = gz !== undefined ? gunzipSync(gz) : await readTreeFile(tree, blobs, base);
  if (data === undefined) {
    throw new BootforgeError('BF_INVALID_VALUE', `charmap ${charmap} is not in the tree (${base}.gz)`, {
      hint: 'the locales package ships the charmaps of /usr/share/i18n/SUPPORTED',
    });
  }
  await mkdir(dir, { recursive: true });
  const path = join(dir, charmap);
  await writeFile(path, data);
  return path;
}

/** A regular file's content, following symlinks and hard links inside the tree. */
async function readTreeFile(tree: FsTree, blobs: BlobStore, path: string): Promise<Buffer | undefined> {
  let entry: TreeEntry | undefined = tree.resolve(path, { follow: true });
  if (entry?.type === 'hardlink') entry = tree.get(entry.target);
  return entry?.type === 'file' ? blobs.get(entry.sha256) : undefined;
}

/** Every file below `dir`, relative paths in byte order. */
async function collect(dir: string): Promise<{ rel: string; data: Buffer }[]> {
  const out: { rel: string; data: Buffer }[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) await walk(r);
      else if (d.isFile()) out.push({ rel: r, data: await readFile(join(dir, r)) });
    }
  };
  await walk('');
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.rel), Buffer.from(b.rel)));
}

/** run() names no package for localedef: it is glibc's (libc-bin on Debian). */
function withLocaledefHint(e: unknown): unknown {
  if (isBootforgeError(e) && e.code === 'BF_TOOL_MISSING') {
    return new BootforgeError('BF_TOOL_MISSING', e.message, {
      hint: 'install glibc 2.36 localedef (apt-get install libc-bin on Debian bookworm), or set BOOTFORGE_TOOL_LOCALEDEF',
      cause: e,
    });
  }
  return e;
}

/** Runs the jobs, at most `limit` at a time; results in job order. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i];
      if (job !== undefined) results[i] = await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
