/**
 * The tree of a FAT volume before it is written: paths checked against what FAT
 * can store, directories implied by file paths, children sorted by name, short
 * names assigned, then clusters allocated — directories first (the root at
 * cluster 2), then files, each chain contiguous and in the order of a listing.
 */

import { BootforgeError, type ErrorCode } from '../../errors/index.js';
import {
  ATTR_ARCHIVE,
  ATTR_DIRECTORY,
  ATTR_VOLUME_ID,
  DIR_ENTRY,
  lfnEntryCount,
  writeLfnEntries,
  writeShortEntry,
  type DosStamp,
} from './dirent.js';
import { MAX_FILE_SIZE, ROOT_CLUSTER } from './geometry.js';
import { assignShortNames, foldName, isLabel, nameProblem } from './names.js';
import type { Allocation } from './table.js';
import type { Fat32Contents, Fat32FileData } from './types.js';

/** Deepest directory nesting accepted: far beyond any ESP, short of what tools handle badly. */
export const MAX_DEPTH = 64;
/** Longest path accepted, in UTF-16 code units (Linux's PATH_MAX less the terminator). */
export const MAX_PATH = 4095;
/** A directory holds at most 65536 entries of 32 bytes (fatgen103, "FAT Directory Structure"). */
export const MAX_DIR_ENTRIES = 65536;

interface NodeBase {
  readonly name: string;
  readonly path: string;
  /** The 11 characters of the short entry (ASCII); set when the parent's names are assigned. */
  short: string;
  /** Whether long-name entries precede the short entry. */
  lfn: boolean;
  /** First cluster (0 for an empty file) and length of the chain. */
  cluster: number;
  clusters: number;
}

export interface FatFileNode extends NodeBase {
  readonly kind: 'file';
  readonly size: number;
  readonly data: Fat32FileData;
}

export interface FatDirNode extends NodeBase {
  readonly kind: 'dir';
  readonly parent: FatDirNode | undefined;
  /** Sorted by name once the tree is built. */
  children: FatNode[];
  /** The children by their case-folded names, while the tree is built. */
  byName: Map<string, FatNode>;
  /** 32-byte entries: label or dot entries, then long-name and short entries of the children. */
  entryCount: number;
}

export type FatNode = FatFileNode | FatDirNode;

export interface FatTree {
  readonly root: FatDirNode;
  /** Pre-order (root first). */
  readonly dirs: readonly FatDirNode[];
  /** Pre-order, the order their data is written in. */
  readonly files: readonly FatFileNode[];
  /** The 11-byte label, or undefined for none. */
  readonly label: Buffer | undefined;
}

export class FatErrors {
  constructor(readonly volume: string) {}
  fail(code: ErrorCode, message: string): never {
    throw new BootforgeError(code, `${this.volume}: ${message}`);
  }
}

export function isStream(data: Fat32FileData): data is Exclude<Fat32FileData, Uint8Array> {
  return !(data instanceof Uint8Array);
}

export function dataSize(data: Fat32FileData): number {
  return isStream(data) ? data.size : data.length;
}

/** The label as 11 bytes, or undefined for none. Labels take the short-name characters and spaces. */
export function labelBytes(label: string, errors: FatErrors): Buffer | undefined {
  if (label === '') return undefined;
  if (!isLabel(label))
    errors.fail(
      'BF_INVALID_VALUE',
      `the label "${label}" is not a FAT label: use at most 11 upper-case letters, digits, spaces (not first) or ! # $ % & ' ( ) - @ ^ _ \` { } ~`,
    );
  return Buffer.from(label.padEnd(11, ' '), 'latin1');
}

function splitPath(path: string, errors: FatErrors, isDir: boolean): string[] {
  if (!path.startsWith('/'))
    errors.fail('BF_FAT_PATH', `"${path}" is not an absolute path (paths on the volume start with "/")`);
  if (path.length > MAX_PATH)
    errors.fail('BF_FAT_PATH', `"${path.slice(0, 60)}..." is longer than ${MAX_PATH} UTF-16 code units`);
  const trimmed = isDir && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const parts = trimmed === '/' ? [] : trimmed.slice(1).split('/');
  if (parts.length > MAX_DEPTH)
    errors.fail('BF_FAT_PATH', `"${path}" is ${parts.length} levels deep, more than ${MAX_DEPTH}`);
  for (const part of parts) {
    const problem = nameProblem(part);
    if (problem !== undefined) errors.fail('BF_FAT_PATH', `"${path}": ${problem}`);
  }
  return parts;
}

/** Builds and checks the tree: every problem of a path or size is found before anything is written. */
export function buildTree(contents: Fat32Contents, errors: FatErrors): FatTree {
  const label = labelBytes(contents.label ?? '', errors);
  const newDir = (name: string, path: string, parent: FatDirNode | undefined): FatDirNode => ({
    kind: 'dir',
    name,
    path,
    parent,
    children: [],
    byName: new Map(),
    entryCount: 0,
    short: '',
    lfn: false,
    cluster: 0,
    clusters: 0,
  });
  const root = newDir('', '/', undefined);
  const childOf = (dir: FatDirNode, name: string, path: string): FatNode | undefined => {
    const found = dir.byName.get(foldName(name));
    if (found && found.name !== name)
      errors.fail('BF_FAT_PATH', `"${path}" and "${found.path}" differ only in case, and FAT names ignore case`);
    return found;
  };
  const add = (dir: FatDirNode, node: FatNode): void => {
    dir.children.push(node);
    dir.byName.set(foldName(node.name), node);
  };
  const ensureDir = (parts: readonly string[]): FatDirNode => {
    let dir = root;
    for (const name of parts) {
      const path = `${dir.path === '/' ? '' : dir.path}/${name}`;
      const found = childOf(dir, name, path);
      if (found?.kind === 'file') errors.fail('BF_FAT_PATH', `"${path}" is a file and also the parent of other paths`);
      if (found) {
        dir = found;
        continue;
      }
      const created = newDir(name, path, dir);
      add(dir, created);
      dir = created;
    }
    return dir;
  };

  for (const path of contents.directories ?? []) ensureDir(splitPath(path, errors, true));
  for (const file of contents.files) {
    const parts = splitPath(file.path, errors, false);
    const name = parts.pop();
    if (name === undefined) errors.fail('BF_FAT_PATH', `"${file.path}" names the root directory, not a file`);
    const size = dataSize(file.data);
    if (!Number.isSafeInteger(size) || size < 0)
      errors.fail('BF_INVALID_VALUE', `"${file.path}" has an invalid size (${String(size)})`);
    if (size > MAX_FILE_SIZE)
      errors.fail(
        'BF_FAT_TOO_LARGE',
        `"${file.path}" is ${size} bytes; FAT32 stores files of at most ${MAX_FILE_SIZE} bytes (4 GiB - 1)`,
      );
    const dir = ensureDir(parts);
    const path = `${dir.path === '/' ? '' : dir.path}/${name}`;
    const found = childOf(dir, name, path);
    if (found?.kind === 'dir') errors.fail('BF_FAT_PATH', `"${path}" is a file and also a directory`);
    if (found) errors.fail('BF_FAT_PATH', `"${path}" is listed twice`);
    add(dir, {
      kind: 'file',
      name,
      path,
      size,
      data: file.data,
      short: '',
      lfn: false,
      cluster: 0,
      clusters: 0,
    });
  }

  const dirs: FatDirNode[] = [];
  const visit = (dir: FatDirNode): void => {
    dirs.push(dir);
    // Code-unit order: the same on every host and in every locale.
    dir.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const shorts = assignShortNames(dir.children.map((c) => c.name));
    let entries = dir === root ? (label ? 1 : 0) : 2;
    dir.children.forEach((child, i) => {
      const s = shorts[i];
      if (!s) throw new BootforgeError('BF_INTERNAL', `no short name for ${child.path}`);
      child.short = s.name11;
      child.lfn = s.lfn;
      entries += 1 + (s.lfn ? lfnEntryCount(child.name) : 0);
    });
    if (entries > MAX_DIR_ENTRIES)
      errors.fail(
        'BF_FAT_PATH',
        `the directory "${dir.path}" needs ${entries} directory entries, FAT allows ${MAX_DIR_ENTRIES}; spread its files over subdirectories`,
      );
    dir.entryCount = entries;
    dir.byName = new Map(); // not needed any more
    for (const child of dir.children) if (child.kind === 'dir') visit(child);
  };
  visit(root);
  // Files in listing order: a directory's files before the files of its subdirectories, depth first.
  return { root, dirs, files: sortFilesPreorder(root), label };
}

function sortFilesPreorder(root: FatDirNode): FatFileNode[] {
  const out: FatFileNode[] = [];
  const walk = (dir: FatDirNode): void => {
    for (const c of dir.children) if (c.kind === 'file') out.push(c);
    for (const c of dir.children) if (c.kind === 'dir') walk(c);
  };
  walk(root);
  return out;
}

/** Clusters the tree takes with clusters of `bytesPerCluster`. */
export function clustersNeeded(tree: FatTree, bytesPerCluster: number): number {
  let n = 0;
  for (const d of tree.dirs) n += Math.max(1, Math.ceil((d.entryCount * DIR_ENTRY) / bytesPerCluster));
  for (const f of tree.files) n += Math.ceil(f.size / bytesPerCluster);
  return n;
}

/** Assigns every chain its clusters, from cluster 2 up without gaps: the root first, directories, then files. */
export function allocate(tree: FatTree, bytesPerCluster: number): Allocation {
  let next = ROOT_CLUSTER;
  const chainEnds = new Set<number>();
  const place = (node: FatNode, clusters: number): void => {
    node.clusters = clusters;
    node.cluster = clusters === 0 ? 0 : next;
    next += clusters;
    if (clusters > 0) chainEnds.add(next - 1);
  };
  for (const d of tree.dirs) place(d, Math.max(1, Math.ceil((d.entryCount * DIR_ENTRY) / bytesPerCluster)));
  for (const f of tree.files) place(f, Math.ceil(f.size / bytesPerCluster));
  return { lastCluster: next - 1, chainEnds };
}

/** The clusters of an allocated directory, entries in order and zeros after them (a 0 byte ends a directory). */
export function encodeDirectory(dir: FatDirNode, tree: FatTree, bytesPerCluster: number, stamp: DosStamp): Buffer {
  const buf = Buffer.alloc(dir.clusters * bytesPerCluster);
  let at = 0;
  const short = (name11: string | Uint8Array, attr: number, cluster: number, size: number): void => {
    const name = typeof name11 === 'string' ? Buffer.from(name11, 'latin1') : name11;
    writeShortEntry(buf, at, { name, attr, cluster, size, stamp });
    at += DIR_ENTRY;
  };
  if (dir.parent === undefined) {
    if (tree.label) short(tree.label, ATTR_VOLUME_ID, 0, 0);
  } else {
    short('.          ', ATTR_DIRECTORY, dir.cluster, 0);
    // ".." of a child of the root points to cluster 0, not to the root's cluster (fatgen103).
    short('..         ', ATTR_DIRECTORY, dir.parent.parent ? dir.parent.cluster : 0, 0);
  }
  for (const child of dir.children) {
    if (child.lfn) at += writeLfnEntries(buf, at, child.name, Buffer.from(child.short, 'latin1')) * DIR_ENTRY;
    if (child.kind === 'dir') short(child.short, ATTR_DIRECTORY, child.cluster, 0);
    else short(child.short, ATTR_ARCHIVE, child.cluster, child.size);
  }
  return buf;
}
