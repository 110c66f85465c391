import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BootforgeError, type SourceLoc } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { readInputText } from '../fsutil/read-input.js';
import { BUNDLED_HARDWARE_DIR, checkHostFile, sourceRoots, type HostFile } from '../schema/host-files.js';
import { issuesToErrors } from '../schema/issues.js';
import { didYouMean } from '../schema/suggest.js';
import { nodeAt, parseLocated, toPlain, type LNode } from '../yaml/located.js';
import { HardwareSchema, type HardwareData } from './schema.js';

/** One hardware/<id>.yaml, validated, with its located tree for provenance. */
export interface HardwareDescription {
  readonly id: string;
  readonly file: string;
  readonly tree: LNode;
  readonly data: HardwareData;
  /** The host files its files[].source name, checked, by data path ("files[0].source"). */
  readonly sources: ReadonlyMap<string, HostFile>;
}

export { BUNDLED_HARDWARE_DIR };

/**
 * Where descriptions are looked up, first match wins: directories given on the
 * command line, then BOOTFORGE_HARDWARE_PATH (colon-separated), then the ones
 * bootforge ships. A user's file can so replace a bundled description.
 */
export function hardwareSearchPath(extra: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.BOOTFORGE_HARDWARE_PATH ?? '').split(':').filter((d) => d !== '');
  return [...extra, ...fromEnv, BUNDLED_HARDWARE_DIR].map((d) => resolve(d));
}

/**
 * One description, validated. Its files' sources may lie in its own folder or in `within`
 * (by default the bundled folders and those the user allowed).
 */
export function loadHardwareFile(
  path: string,
  within: readonly string[] = sourceRoots(undefined, []),
): HardwareDescription {
  const text = readInputText(path, { kind: 'hardware description' });
  const { root } = parseLocated(text, displayFile(path));
  const plain = toPlain(root);
  const parsed = HardwareSchema.safeParse(plain);
  if (!parsed.success) {
    BootforgeError.throwAll(issuesToErrors(parsed.error.issues, root, HardwareSchema, plain));
    throw new BootforgeError('BF_INTERNAL', 'validation failed without an error');
  }
  const data = parsed.data;
  const locOf = (path: readonly PropertyKey[]): SourceLoc => {
    const f = nodeAt(root, path);
    return (f.node ?? f.nearest).loc;
  };
  const expected = basename(path).replace(/\.ya?ml$/, '');
  if (data.id !== expected) {
    throw new BootforgeError(
      'BF_HARDWARE_ID',
      `id ${JSON.stringify(data.id)} differs from the file name ${JSON.stringify(basename(path))}`,
      {
        loc: locOf(['id']),
        hint: `rename the file to ${data.id}.yaml, or set id: ${expected}`,
      },
    );
  }
  data.match.forEach((rule, i) => {
    if (Object.keys(rule).length === 0) {
      throw new BootforgeError('BF_HARDWARE_MATCH', `match[${i}] has no DMI field, so it would match every machine`, {
        loc: locOf(['match', i]),
      });
    }
  });
  if (data.generic && data.match.length > 0) {
    throw new BootforgeError('BF_HARDWARE_MATCH', 'a generic description is the fallback and cannot have match rules', {
      loc: locOf(['match']),
    });
  }
  const sources = new Map<string, HostFile>();
  data.files.forEach((f, i) => {
    if (f.source === undefined) return;
    const loc = locOf(['files', i, 'source']);
    const file = checkHostFile(f.source, path, { kind: 'source file', within: [dirname(path), ...within], loc });
    sources.set(`files[${i}].source`, file);
  });
  return { id: data.id, file: path, tree: root, data, sources };
}

/** Every description on the search path, each id once (the first directory wins), sorted by id. */
export function loadCatalog(dirs: readonly string[], within?: readonly string[]): HardwareDescription[] {
  const byId = new Map<string, HardwareDescription>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /\.ya?ml$/.test(n)).sort()) {
      const id = name.replace(/\.ya?ml$/, '');
      if (!byId.has(id)) byId.set(id, loadHardwareFile(join(dir, name), within));
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The descriptions for these ids; an unknown id is an error pointing where it was written. */
export function pickHardware(
  catalog: readonly HardwareDescription[],
  ids: readonly { id: string; loc?: SourceLoc }[],
): HardwareDescription[] {
  return ids.map(({ id, loc }) => {
    const found = catalog.find((d) => d.id === id);
    if (found) return found;
    const suggestion = didYouMean(
      id,
      catalog.map((d) => d.id),
    );
    throw new BootforgeError('BF_UNKNOWN_HARDWARE', `no hardware description has id ${JSON.stringify(id)}`, {
      ...(loc ? { loc } : {}),
      hint: suggestion
        ? `did you mean ${JSON.stringify(suggestion)}? (bootforge hardware list shows all ids)`
        : 'bootforge hardware list shows the known ids',
    });
  });
}
