import { BootforgeError, type SourceLoc } from '../errors/index.js';
import type { LEntry, LMap, LNode, LSeq, Priority } from './located.js';
import { toPlain } from './located.js';

/**
 * Merges located YAML trees with predictable rules:
 * - maps merge key by key, recursively;
 * - lists append in order, dropping items equal to one already there; items of
 *   keyed lists (users by name, files by path) with the same key merge as maps;
 * - two different scalars at the same priority are a conflict that names both places;
 * - `!override` beats a plain value, a plain value beats `!default`, and the
 *   winner replaces the loser whole (lists and maps too).
 */
export interface MergeOptions {
  /** For a list at this dotted path, the key that identifies its items. */
  readonly listKeys: ReadonlyMap<string, string>;
}

const RANK: Record<Priority, number> = { default: 0, normal: 1, override: 2 };

export function formatLoc(loc: SourceLoc): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

export function mergeNodes(a: LNode, b: LNode, path: string, options: MergeOptions): LNode {
  if (RANK[b.priority] !== RANK[a.priority]) return RANK[b.priority] > RANK[a.priority] ? b : a;
  if (a.kind === 'map' && b.kind === 'map') return mergeMaps(a, b, path, options);
  if (a.kind === 'seq' && b.kind === 'seq') return mergeSeqs(a, b, path, options);
  if (a.kind === 'scalar' && b.kind === 'scalar' && a.value === b.value) return a;
  const describe = (n: LNode) =>
    n.kind === 'scalar' ? JSON.stringify(n.value) : n.kind === 'map' ? 'a mapping' : 'a list';
  throw new BootforgeError(
    'BF_MERGE_CONFLICT',
    `${path || 'the document'} is set to ${describe(b)} here and to ${describe(a)} at ${formatLoc(a.loc)}`,
    { loc: b.loc, related: a.loc },
  );
}

function mergeMaps(a: LMap, b: LMap, path: string, options: MergeOptions): LMap {
  const entries = new Map<string, LEntry>(a.entries);
  for (const [key, entry] of b.entries) {
    const mine = entries.get(key);
    const childPath = path ? `${path}.${key}` : key;
    entries.set(
      key,
      mine ? { keyLoc: mine.keyLoc, value: mergeNodes(mine.value, entry.value, childPath, options) } : entry,
    );
  }
  return { ...a, entries };
}

function itemKey(item: LNode, key: string | undefined): string | undefined {
  if (key === undefined || item.kind !== 'map') return undefined;
  const v = item.entries.get(key)?.value;
  return v?.kind === 'scalar' && v.value !== null ? String(v.value) : undefined;
}

function mergeSeqs(a: LSeq, b: LSeq, path: string, options: MergeOptions): LSeq {
  const key = options.listKeys.get(path);
  const items = [...a.items];
  const seen = new Set(items.map((i) => JSON.stringify(toPlain(i))));
  for (const item of b.items) {
    const k = itemKey(item, key);
    const at = k === undefined ? -1 : items.findIndex((i) => itemKey(i, key) === k);
    const existing = items[at];
    if (existing !== undefined) {
      items[at] = mergeNodes(existing, item, `${path}[${k ?? at}]`, options);
      continue;
    }
    const plain = JSON.stringify(toPlain(item));
    if (seen.has(plain)) continue;
    seen.add(plain);
    items.push(item);
  }
  return { ...a, items };
}

/** Refuses two items of one keyed list in one file that share a key (they would silently merge). */
export function checkKeyedDuplicates(root: LNode, options: MergeOptions): void {
  for (const [path, key] of options.listKeys) {
    let node: LNode | undefined = root;
    for (const step of path.split('.')) node = node?.kind === 'map' ? node.entries.get(step)?.value : undefined;
    if (node?.kind !== 'seq') continue;
    const first = new Map<string, SourceLoc>();
    for (const item of node.items) {
      const k = itemKey(item, key);
      if (k === undefined) continue;
      const prev = first.get(k);
      if (prev) {
        throw new BootforgeError(
          'BF_DUPLICATE_ID',
          `${path} has two entries with ${key} ${JSON.stringify(k)}; the first is at ${formatLoc(prev)}`,
          {
            loc: item.loc,
            related: prev,
            hint: `merge the two entries into one`,
          },
        );
      }
      first.set(k, item.loc);
    }
  }
}
