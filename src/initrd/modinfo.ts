/**
 * What a kernel module says about itself: the `.modinfo` section of a `.ko`
 * (NUL-separated `key=value` strings, written by modpost from MODULE_ALIAS,
 * MODULE_FIRMWARE, MODULE_SOFTDEP, ...), and the two files the kernel build
 * ships about built-in modules: `modules.builtin` (their paths) and
 * `modules.builtin.modinfo` (their `.modinfo`, each key prefixed "module.").
 */
export interface SoftDeps {
  /** Modules (names or aliases) to load before this one. */
  readonly pre: readonly string[];
  /** Modules (names or aliases) to load after this one. */
  readonly post: readonly string[];
}

export interface ModInfo {
  /** From the file name: "crc32c-intel.ko" is "crc32c_intel". */
  readonly name: string;
  /** Modules whose symbols this one uses (normalised names); modpost writes them, depmod copies them. */
  readonly depends: readonly string[];
  /** Patterns (fnmatch) and names this module answers to, as written ("pci:v00001AF4d00001001sv*...", "fs-vfat"). */
  readonly aliases: readonly string[];
  readonly softdeps: SoftDeps;
  /** Firmware files the module may request, relative to /lib/firmware. */
  readonly firmware: readonly string[];
  readonly license?: string;
  readonly description?: string;
  readonly version?: string;
  readonly vermagic?: string;
  /** Every key with its values in file order, for anything not named above. */
  readonly fields: Readonly<Record<string, readonly string[]>>;
}

const MODULE_SUFFIX = /\.ko(\.(xz|zst|gz))?$/;

/** A module name in the form the kernel uses: "-" and "_" are the same character, "_" is stored. */
export function normalizeModuleName(name: string): string {
  return name.replaceAll('-', '_');
}

/** The module name of a path: the file name without .ko(.xz|.zst|.gz), "-" as "_". */
export function moduleNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return normalizeModuleName(base.replace(MODULE_SUFFIX, ''));
}

/** Whether a file name is a kernel module. */
export function isModulePath(path: string): boolean {
  return MODULE_SUFFIX.test(path);
}

/**
 * An alias or request in the form modprobe compares: "-" as "_" except inside
 * a bracket expression, where "[0-9]" keeps its range.
 */
export function normalizeAlias(alias: string): string {
  let out = '';
  let inBracket = false;
  for (const c of alias) {
    if (inBracket) {
      out += c;
      if (c === ']') inBracket = false;
    } else if (c === '[') {
      out += c;
      inBracket = true;
    } else out += c === '-' ? '_' : c;
  }
  return out;
}

/**
 * "pre: crc32c post: foo bar" as {pre, post}. Words before the first "pre:"
 * or "post:" belong to neither and are dropped, as modprobe drops them
 * (cifs declares "softdep=gcm" and gets nothing from it).
 */
export function parseSoftdep(value: string, into: { pre: string[]; post: string[] } = { pre: [], post: [] }): SoftDeps {
  let mode: 'pre' | 'post' | undefined;
  for (const word of value.split(/\s+/)) {
    if (word === '') continue;
    if (word === 'pre:') mode = 'pre';
    else if (word === 'post:') mode = 'post';
    else if (mode !== undefined) into[mode].push(word);
  }
  return into;
}

/** Splits NUL-separated "key=value" strings; empty strings (padding) and strings without "=" are skipped. */
function keyValues(data: Buffer): [string, string][] {
  const out: [string, string][] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    if (end > start) {
      const entry = data.toString('utf8', start, end);
      const eq = entry.indexOf('=');
      if (eq > 0) out.push([entry.slice(0, eq), entry.slice(eq + 1)]);
    }
    start = end + 1;
  }
  return out;
}

function infoFrom(name: string, pairs: readonly (readonly [string, string])[]): ModInfo {
  const fields: Record<string, string[]> = {};
  for (const [k, v] of pairs) (fields[k] ??= []).push(v);
  const softdeps = { pre: [] as string[], post: [] as string[] };
  for (const v of fields.softdep ?? []) parseSoftdep(v, softdeps);
  const one = (key: string) => fields[key]?.[0];
  const license = one('license');
  const description = one('description');
  const version = one('version');
  const vermagic = one('vermagic');
  return {
    name,
    depends: (fields.depends ?? [])
      .flatMap((v) => v.split(','))
      .map((d) => d.trim())
      .filter((d) => d !== '')
      .map(normalizeModuleName),
    aliases: fields.alias ?? [],
    softdeps,
    firmware: fields.firmware ?? [],
    ...(license === undefined ? {} : { license }),
    ...(description === undefined ? {} : { description }),
    ...(version === undefined ? {} : { version }),
    ...(vermagic === undefined ? {} : { vermagic }),
    fields,
  };
}

/** Parses the `.modinfo` section of the module at `path` (the path gives the name). */
export function parseModinfo(section: Buffer, path: string): ModInfo {
  return infoFrom(moduleNameFromPath(path), keyValues(section));
}

export interface BuiltinModulePath {
  readonly name: string;
  /** As the kernel build wrote it: "kernel/fs/ext4/ext4.ko". */
  readonly path: string;
}

/** Parses `modules.builtin`: one path per line. */
export function parseModulesBuiltin(text: string): BuiltinModulePath[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((path) => ({ name: moduleNameFromPath(path), path }));
}

/**
 * Parses `modules.builtin.modinfo` ("module.key=value", NUL-separated) into
 * one ModInfo per built-in module, in order of first appearance. Built-ins
 * have no depends or softdeps that matter, but their aliases ("fs-ext4",
 * "crypto-crc32c" on some kernels) let a request be satisfied by the kernel.
 */
export function parseBuiltinModinfo(data: Buffer): ModInfo[] {
  const byModule = new Map<string, [string, string][]>();
  for (const [key, value] of keyValues(data)) {
    const dot = key.indexOf('.');
    // Not "module.key": nothing a modprobe could use; skipped as kmod skips it.
    if (dot <= 0 || dot === key.length - 1) continue;
    const name = normalizeModuleName(key.slice(0, dot));
    let list = byModule.get(name);
    if (list === undefined) byModule.set(name, (list = []));
    list.push([key.slice(dot + 1), value]);
  }
  return [...byModule].map(([name, pairs]) => infoFrom(name, pairs));
}
