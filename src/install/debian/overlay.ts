/**
 * A copy-on-write view of the package tree for the maintainer-script
 * evaluator: files the scripts write, copy, link or remove land here, the
 * tree stays untouched, and `changes()` lists what differs from it at the end.
 * Paths resolve like the kernel's, through every symlink (merged /usr
 * included), with the tree as the root.
 */
import { createHash } from 'node:crypto';
import type { FsTree } from '../../fstree/tree.js';
import type { BlobStore, TreeEntry } from '../../fstree/types.js';

export type Content =
  | { readonly kind: 'blob'; readonly sha256: string; readonly size: number }
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'concat'; readonly parts: readonly Content[] };

export type OverlayNode =
  | {
      readonly type: 'file';
      readonly mode: number;
      readonly uid: number;
      readonly gid: number;
      readonly content: Content;
    }
  | { readonly type: 'dir'; readonly mode: number; readonly uid: number; readonly gid: number }
  | { readonly type: 'symlink'; readonly target: string }
  /** Devices, fifos: kept as the tree has them. */
  | { readonly type: 'other'; readonly entry: TreeEntry };

export interface Resolved {
  /** The canonical path (every symlink before the last component followed; the last too with follow). */
  readonly path: string;
  readonly node: OverlayNode | undefined;
}

export interface OverlayChanges {
  readonly remove: string[];
  readonly dirs: { path: string; mode: number; uid: number; gid: number }[];
  readonly files: { path: string; content: Content; mode: number; uid: number; gid: number }[];
  readonly symlinks: { path: string; target: string }[];
}

const MAX_HOPS = 40;

export class Overlay {
  readonly #tree: FsTree;
  /** Canonical path → node, or null where something of the tree was removed. */
  readonly #nodes = new Map<string, OverlayNode | null>();
  /** The tree's directories → the names in them, built on first use. */
  #children: Map<string, string[]> | undefined;

  constructor(tree: FsTree) {
    this.#tree = tree;
  }

  /** The node at a canonical path (no symlink followed). */
  node(path: string): OverlayNode | undefined {
    const own = this.#nodes.get(path);
    if (own !== undefined) return own ?? undefined;
    return this.#fromTree(this.#tree.get(path));
  }

  #fromTree(entry: TreeEntry | undefined): OverlayNode | undefined {
    if (entry === undefined) return undefined;
    switch (entry.type) {
      case 'file':
        return {
          type: 'file',
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          content: { kind: 'blob', sha256: entry.sha256, size: entry.size },
        };
      case 'dir':
        return { type: 'dir', mode: entry.mode, uid: entry.uid, gid: entry.gid };
      case 'symlink':
        return { type: 'symlink', target: entry.target };
      case 'hardlink': {
        const target = this.#tree.get(entry.target);
        return target?.type === 'file' ? this.#fromTree(target) : undefined;
      }
      default:
        return { type: 'other', entry };
    }
  }

  /**
   * Resolves a path. Undefined when a parent is missing or not a directory, or
   * for a symlink loop; otherwise the canonical path and what is there (if anything).
   */
  resolve(path: string, follow: boolean, cwd = '/'): Resolved | undefined {
    let pending = split(path.startsWith('/') ? path : `${cwd}/${path}`);
    let dir: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const [part, ...rest] = pending;
      pending = rest;
      if (part === undefined || part === '.') continue;
      if (part === '..') {
        dir.pop();
        continue;
      }
      const here = `/${[...dir, part].join('/')}`;
      const node = this.node(here);
      const last = pending.length === 0;
      if (node?.type === 'symlink' && (!last || follow)) {
        if (++hops > MAX_HOPS) return undefined;
        if (node.target.startsWith('/')) dir = [];
        pending = [...split(node.target), ...pending];
        continue;
      }
      if (last) return { path: here, node };
      if (node?.type !== 'dir') return undefined;
      dir.push(part);
    }
    const root = `/${dir.join('/')}`;
    return { path: root, node: this.node(root) };
  }

  set(path: string, node: OverlayNode): void {
    this.#nodes.set(path, node);
  }

  /** Removes what is at a canonical path, with everything below it. */
  delete(path: string): void {
    const prefix = `${path}/`;
    for (const p of this.#nodes.keys()) if (p.startsWith(prefix)) this.#nodes.set(p, null);
    const walk = (dir: string) => {
      for (const name of this.#treeChildren().get(dir) ?? []) {
        const child = `${dir}/${name}`;
        this.#nodes.set(child, null);
        walk(child);
      }
    };
    if (this.#tree.get(path)?.type === 'dir') walk(path);
    this.#nodes.set(path, null);
  }

  #treeChildren(): Map<string, string[]> {
    if (this.#children === undefined) {
      const children = new Map<string, string[]>();
      for (const e of this.#tree.entries()) {
        if (e.path === '/') continue;
        const parent = parentOf(e.path);
        const list = children.get(parent) ?? [];
        list.push(baseName(e.path));
        children.set(parent, list);
      }
      this.#children = children;
    }
    return this.#children;
  }

  /** The names in a directory (canonical path), tree and overlay together, sorted. */
  list(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const names = new Set<string>(this.#treeChildren().get(dir) ?? []);
    const direct = (p: string) =>
      p.startsWith(prefix) && p.length > prefix.length && !p.slice(prefix.length).includes('/');
    for (const [p, n] of this.#nodes) {
      if (!direct(p)) continue;
      if (n === null) names.delete(p.slice(prefix.length));
      else names.add(p.slice(prefix.length));
    }
    return [...names].sort();
  }

  /** A file's bytes (following symlinks), or undefined when there is no file. */
  async read(path: string, blobs: BlobStore): Promise<Buffer | undefined> {
    const r = this.resolve(path, true);
    return r?.node?.type === 'file' ? materialise(r.node.content, blobs) : undefined;
  }

  /** Everything that differs from the tree: paths to remove first, then what to add. */
  changes(): OverlayChanges {
    const out: OverlayChanges = { remove: [], dirs: [], files: [], symlinks: [] };
    const removed: string[] = [];
    const paths = [...this.#nodes.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const path of paths) {
      const node = this.#nodes.get(path);
      const base = this.#fromTree(this.#tree.get(path));
      if (node === null || node === undefined) {
        if (base !== undefined && !removed.some((r) => path.startsWith(`${r}/`))) {
          out.remove.push(path);
          removed.push(path);
        }
        continue;
      }
      if (base !== undefined && same(base, node)) continue;
      const replaces =
        base !== undefined && (base.type !== node.type || base.type === 'symlink' || base.type === 'other');
      if (replaces && !removed.some((r) => path === r || path.startsWith(`${r}/`))) out.remove.push(path);
      switch (node.type) {
        case 'dir':
          out.dirs.push({ path, mode: node.mode, uid: node.uid, gid: node.gid });
          break;
        case 'file':
          out.files.push({ path, content: node.content, mode: node.mode, uid: node.uid, gid: node.gid });
          break;
        case 'symlink':
          out.symlinks.push({ path, target: node.target });
          break;
        case 'other':
          break;
      }
    }
    return out;
  }
}

function same(a: OverlayNode, b: OverlayNode): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  if (a.type === 'dir' && b.type === 'dir') return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
  if (a.type === 'file' && b.type === 'file') {
    return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && sameContent(a.content, b.content);
  }
  return a.type === 'other';
}

function sameContent(a: Content, b: Content): boolean {
  const ha = contentHash(a);
  return ha !== undefined && ha === contentHash(b);
}

/** The size of content in bytes. */
export function contentSize(c: Content): number {
  if (c.kind === 'blob') return c.size;
  if (c.kind === 'data') return c.data.length;
  return c.parts.reduce((n, p) => n + contentSize(p), 0);
}

/** SHA-256 of content known without reading blobs. */
function contentHash(c: Content): string | undefined {
  if (c.kind === 'blob') return c.sha256;
  if (c.kind === 'data') return createHash('sha256').update(c.data).digest('hex');
  return undefined;
}

export async function materialise(content: Content, blobs: BlobStore): Promise<Buffer> {
  switch (content.kind) {
    case 'blob':
      return blobs.get(content.sha256);
    case 'data':
      return content.data;
    case 'concat':
      return Buffer.concat(await Promise.all(content.parts.map((p) => materialise(p, blobs))));
  }
}

export function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
