import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BootforgeError, type SourceLoc } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { confinedRealPath, readInputText } from '../fsutil/read-input.js';
import { sourceRoots, type HostFile } from '../schema/host-files.js';
import { issuesToErrors } from '../schema/issues.js';
import { parseLocated, toPlain, type LMap, type LNode } from '../yaml/located.js';
import { checkKeyedDuplicates, formatLoc, mergeNodes, type MergeOptions } from '../yaml/merge.js';
import { checkHostFiles, checkProfile } from './checks.js';
import { ProfileSchema, type ProfileData } from './schema.js';

export const PROFILE_MERGE: MergeOptions = {
  listKeys: new Map([
    ['users', 'name'],
    ['files', 'path'],
  ]),
};

/** A profile after extends, merging, validation and defaults. */
export interface LoadedProfile {
  readonly path: string;
  /** The files that make it, parents first. */
  readonly files: readonly string[];
  /** The merged located tree: where each value was written. */
  readonly tree: LNode;
  readonly data: ProfileData;
  /** The host files it names (files[].source, hashedPasswordFile), checked, by data path ("files[0].source"). */
  readonly sources: ReadonlyMap<string, HostFile>;
}

export interface LoadOptions {
  /** Folders the person running bootforge allowed paths to lead into (see allowedSourceRoots). */
  readonly sourceRoots?: readonly string[];
}

interface ParsedFile {
  readonly path: string;
  readonly root: LNode;
  readonly extends: readonly { target: string; loc: SourceLoc }[];
}

const YAML_FILE = /\.ya?ml$/;

/** Reads one profile file: the top one from anywhere, a parent only as a .yaml file inside `within`. */
function readProfileFile(path: string, within: readonly string[], from?: SourceLoc): ParsedFile {
  const text = from === undefined ? readInputText(path, { kind: 'profile' }) : readParent(path, within, from);
  const { root } = parseLocated(text, displayFile(path));
  if (root.kind !== 'map') {
    // Not a profile at all (a secret named by mistake?): the code frame must not show its content.
    throw new BootforgeError('BF_TYPE', 'a profile must be a mapping of keys to values', {
      loc: { ...root.loc, redact: true },
    });
  }
  const ext = root.entries.get('extends')?.value;
  const targets: { target: string; loc: SourceLoc }[] = [];
  const items = ext === undefined ? [] : ext.kind === 'seq' ? ext.items : [ext];
  for (const item of items) {
    if (item.kind !== 'scalar' || typeof item.value !== 'string') {
      throw new BootforgeError('BF_TYPE', 'extends takes a profile path or a list of them', { loc: item.loc });
    }
    targets.push({ target: resolveExtends(path, item.value), loc: item.loc });
  }
  checkKeyedDuplicates(root, PROFILE_MERGE);
  return { path, root, extends: targets };
}

/**
 * A parent must be a profile (.yaml, also after symbolic links), so that an error's code frame can
 * never show another file, and must lie inside `within`.
 */
function readParent(path: string, within: readonly string[], from: SourceLoc): string {
  const options = { kind: 'profile', within, loc: from, missingCode: 'BF_EXTENDS_MISSING' } as const;
  if (!YAML_FILE.test(path) || !YAML_FILE.test(confinedRealPath(path, options))) {
    throw new BootforgeError(
      'BF_INVALID_VALUE',
      `extends names ${displayFile(path)}, which is not a profile: a .yaml or .yml file, also after symbolic links`,
      { loc: from, hint: 'extends takes a path to a profile, or its name without the extension' },
    );
  }
  return readInputText(path, options);
}

/** "base" means base.yaml beside the profile; anything with a slash or .yaml is a path relative to it. */
function resolveExtends(from: string, ref: string): string {
  const dir = dirname(from);
  if (/[/\\]/.test(ref) || YAML_FILE.test(ref)) return resolve(dir, ref);
  const yaml = resolve(dir, `${ref}.yaml`);
  const yml = resolve(dir, `${ref}.yml`);
  return !existsSync(yaml) && existsSync(yml) ? yml : yaml;
}

/** Parents before children, each file once (a diamond's shared base is merged once). */
function linearize(top: string, within: readonly string[]): ParsedFile[] {
  const order: ParsedFile[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];
  const visit = (path: string, from?: SourceLoc): void => {
    if (done.has(path)) return;
    const cycleStart = visiting.indexOf(path);
    if (cycleStart >= 0) {
      const chain = [...visiting.slice(cycleStart), path].map((p) => displayFile(p)).join(' -> ');
      throw new BootforgeError(
        'BF_EXTENDS_CYCLE',
        `profiles extend each other in a cycle: ${chain}`,
        from ? { loc: from } : {},
      );
    }
    const file = readProfileFile(path, within, from);
    visiting.push(path);
    for (const e of file.extends) visit(e.target, e.loc);
    visiting.pop();
    done.add(path);
    order.push(file);
  };
  visit(top);
  return order;
}

/** extends and $schema belong to each file; name and description to the profile being built, not its parents. */
function withoutPerFileKeys(root: LMap, isTop: boolean): LMap {
  const entries = new Map(root.entries);
  for (const key of ['extends', '$schema', ...(isTop ? [] : ['name', 'description'])]) entries.delete(key);
  return { ...root, entries };
}

export function loadProfile(file: string, options: LoadOptions = {}): LoadedProfile {
  const path = resolve(file);
  const within = sourceRoots(dirname(path), options.sourceRoots ?? []);
  const files = linearize(path, within);
  let tree: LNode | undefined;
  for (const f of files) {
    const own = withoutPerFileKeys(f.root as LMap, f.path === path);
    tree = tree === undefined ? own : mergeNodes(tree, own, '', PROFILE_MERGE);
  }
  if (tree === undefined) throw new BootforgeError('BF_INTERNAL', 'no profile files were read');
  const plain = toPlain(tree);
  const parsed = ProfileSchema.safeParse(plain);
  if (!parsed.success) {
    BootforgeError.throwAll(issuesToErrors(parsed.error.issues, tree, ProfileSchema, plain));
    throw new BootforgeError('BF_INTERNAL', 'validation failed without an error');
  }
  const sources = checkHostFiles(parsed.data, tree, within);
  BootforgeError.throwAll([...checkProfile(parsed.data, tree), ...sources.errors]);
  return { path, files: files.map((f) => f.path), tree, data: parsed.data, sources: sources.files };
}

export { formatLoc };
