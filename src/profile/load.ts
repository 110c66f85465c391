import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BootforgeError, type SourceLoc } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { issuesToErrors } from '../schema/issues.js';
import { parseLocated, toPlain, type LMap, type LNode } from '../yaml/located.js';
import { checkKeyedDuplicates, formatLoc, mergeNodes, type MergeOptions } from '../yaml/merge.js';
import { checkProfile } from './checks.js';
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
}

interface ParsedFile {
  readonly path: string;
  readonly root: LNode;
  readonly extends: readonly { target: string; loc: SourceLoc }[];
}

function readProfileFile(path: string, from?: SourceLoc): ParsedFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new BootforgeError(
      from ? 'BF_EXTENDS_MISSING' : 'BF_FILE_NOT_FOUND',
      from ? `extends names ${displayFile(path)}, which does not exist` : `cannot read profile ${displayFile(path)}`,
      { ...(from ? { loc: from } : {}), cause },
    );
  }
  const { root } = parseLocated(text, displayFile(path));
  if (root.kind !== 'map') {
    throw new BootforgeError('BF_TYPE', 'a profile must be a mapping of keys to values', { loc: root.loc });
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

/** "base" means base.yaml beside the profile; anything with a slash or .yaml is a path relative to it. */
function resolveExtends(from: string, ref: string): string {
  const dir = dirname(from);
  if (/[/\\]/.test(ref) || /\.ya?ml$/.test(ref)) return resolve(dir, ref);
  const yaml = resolve(dir, `${ref}.yaml`);
  const yml = resolve(dir, `${ref}.yml`);
  return !existsSync(yaml) && existsSync(yml) ? yml : yaml;
}

/** Parents before children, each file once (a diamond's shared base is merged once). */
function linearize(top: string): ParsedFile[] {
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
    const file = readProfileFile(path, from);
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

export function loadProfile(file: string): LoadedProfile {
  const path = resolve(file);
  const files = linearize(path);
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
  BootforgeError.throwAll(checkProfile(parsed.data, tree, path));
  return { path, files: files.map((f) => f.path), tree, data: parsed.data };
}

export { formatLoc };
