import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { BootforgeError, type ErrorCode, type SourceLoc } from '../errors/index.js';
import { displayFile } from './display.js';
import { formatSize } from '../schema/size.js';

/**
 * The one way bootforge opens a file it did not write itself. Every input is hostile until it is
 * bounded: by size (checked before reading and again while reading, since /proc and special files
 * lie about theirs), by type (regular files only; block devices only where an image may be a
 * device), and, for paths taken from profiles, by where they may point after symbolic links.
 */

/** What an input is: names it in messages and picks its default size bound. */
export type InputKind =
  | 'profile'
  | 'hardware description'
  | 'source file'
  | 'password hash file'
  | 'lock'
  | 'keyring'
  | 'apt source'
  | 'bmap'
  | 'manifest'
  | 'initrd'
  | 'image'
  | 'bundle'
  | 'cache entry';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Size bounds per kind; docs/security.md lists them. Images and bundles are read in windows, never whole. */
export const INPUT_LIMITS: Readonly<Record<InputKind, number>> = {
  profile: 1 * MiB,
  'hardware description': 1 * MiB,
  'source file': 256 * MiB,
  'password hash file': 64 * 1024,
  lock: 64 * MiB,
  keyring: 16 * MiB,
  'apt source': 1 * MiB,
  bmap: 64 * MiB,
  manifest: 16 * MiB,
  initrd: 2 * GiB,
  image: 16 * 1024 * GiB,
  bundle: 64 * GiB,
  'cache entry': 2 * GiB,
};

export interface InputOptions {
  readonly kind: InputKind;
  /** Overrides the kind's bound. */
  readonly maxBytes?: number;
  /** The real path (after symbolic links) must lie inside one of these folders. */
  readonly within?: readonly string[];
  /** Where the path was written (a profile's line), for the error. */
  readonly loc?: SourceLoc;
  /** An image may be a block device (a USB stick); nothing else may. */
  readonly allowBlockDevice?: boolean;
  /** The code for a path that does not exist (BF_EXTENDS_MISSING for extends). */
  readonly missingCode?: ErrorCode;
}

export interface OpenedInput {
  readonly fd: number;
  /** The path after symbolic links. */
  readonly realPath: string;
  readonly stats: Stats;
  /** Bytes, for a regular file; undefined for a block device (ask the device). */
  readonly size: number | undefined;
  close(): void;
}

const withLoc = (loc: SourceLoc | undefined) => (loc ? { loc } : {});

function typeName(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** True when `path` is `root` or lies below it (both already real paths). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `path`, refused when it leaves every folder of `within`. */
export function confinedRealPath(path: string, options: InputOptions): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new BootforgeError(
        options.missingCode ?? 'BF_FILE_NOT_FOUND',
        `${options.kind} ${displayFile(path)} does not exist`,
        {
          ...withLoc(options.loc),
          cause,
        },
      );
    }
    throw new BootforgeError('BF_IO', `cannot read ${options.kind} ${displayFile(path)}: ${(cause as Error).message}`, {
      ...withLoc(options.loc),
      cause,
    });
  }
  const within = options.within;
  if (within !== undefined) {
    const roots = within.flatMap((r) => {
      try {
        return [realpathSync(r)];
      } catch {
        return [];
      }
    });
    if (!roots.some((root) => isInside(real, root))) {
      const via = real === path ? '' : ` (it resolves to ${real})`;
      throw new BootforgeError(
        'BF_SOURCE_OUTSIDE',
        `${options.kind} ${displayFile(path)}${via} lies outside the folders it may be read from: ${roots.map((r) => displayFile(r)).join(', ')}`,
        withLoc(options.loc),
      );
    }
  }
  return real;
}

/** Opens an input after the type and place checks; the caller reads it and must close it. */
export function openInput(path: string, options: InputOptions): OpenedInput {
  const real = confinedRealPath(path, options);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the checked path is the opened one.
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (cause) {
    throw new BootforgeError('BF_IO', `cannot open ${options.kind} ${displayFile(path)}: ${(cause as Error).message}`, {
      ...withLoc(options.loc),
      cause,
    });
  }
  const stats = fstatSync(fd);
  const ok = stats.isFile() || (options.allowBlockDevice === true && stats.isBlockDevice());
  if (!ok) {
    closeSync(fd);
    throw new BootforgeError(
      'BF_INPUT_NOT_FILE',
      `${options.kind} ${displayFile(path)} is ${typeName(stats)}, not a regular file`,
      {
        ...withLoc(options.loc),
        ...(options.allowBlockDevice ? { hint: 'name an image file or a block device' } : {}),
      },
    );
  }
  const max = options.maxBytes ?? INPUT_LIMITS[options.kind];
  if (stats.isFile() && stats.size > max) {
    closeSync(fd);
    throw tooLarge(path, options, max);
  }
  return {
    fd,
    realPath: real,
    stats,
    size: stats.isFile() ? stats.size : undefined,
    close: () => closeSync(fd),
  };
}

function tooLarge(path: string, options: InputOptions, max: number): BootforgeError {
  return new BootforgeError(
    'BF_INPUT_TOO_LARGE',
    `${options.kind} ${displayFile(path)} is larger than ${formatSize(max)}, the most bootforge reads for a ${options.kind}`,
    withLoc(options.loc),
  );
}

/** Reads a whole input, never more than its bound (a file that grows while read is cut off with the error). */
export function readInput(path: string, options: InputOptions): Buffer {
  const input = openInput(path, { ...options, allowBlockDevice: false });
  const max = options.maxBytes ?? INPUT_LIMITS[options.kind];
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const chunkSize = Math.min(Math.max((input.size ?? 0) + 1, 64 * 1024), 16 * MiB);
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkSize);
      const n = readSync(input.fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) throw tooLarge(path, options, max);
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  } finally {
    input.close();
  }
}

/** readInput as UTF-8 text. */
export function readInputText(path: string, options: InputOptions): string {
  return readInput(path, options).toString('utf8');
}
