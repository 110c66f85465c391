import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * bootforge's cache root: --cache-dir, then BOOTFORGE_CACHE_DIR, then
 * $XDG_CACHE_HOME/bootforge, then ~/.cache/bootforge.
 */
export function cacheRoot(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.BOOTFORGE_CACHE_DIR) return env.BOOTFORGE_CACHE_DIR;
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(xdg, 'bootforge');
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes through a temporary name in the same folder and renames, so a reader never sees half a file. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The first line of a JSON cache entry: the SHA-256 of the JSON after it. */
const JSON_ENTRY_HEAD = 'bootforge-cache sha256 ';

/** Writes a JSON cache entry behind the SHA-256 of its text, so that a changed byte anywhere is found on reading. */
export function writeJsonEntry(path: string, value: unknown): void {
  const body = JSON.stringify(value);
  writeFileAtomic(path, `${JSON_ENTRY_HEAD}${sha256Hex(Buffer.from(body))}\n${body}`);
}

/**
 * A JSON cache entry written by writeJsonEntry, when its text still hashes right
 * and `valid` accepts its value. A corrupt entry is removed and reported as a
 * miss (`corrupt: true`, for the caller to warn about); one written in an older
 * layout is a plain miss.
 */
export function readJsonEntry<T>(
  path: string,
  valid: (value: unknown) => value is T,
): { value: T } | { corrupt: boolean } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { corrupt: false };
  }
  const newline = text.indexOf('\n');
  if (!text.startsWith(JSON_ENTRY_HEAD) || newline < 0) return { corrupt: false };
  const body = text.slice(newline + 1);
  if (text.slice(JSON_ENTRY_HEAD.length, newline) === sha256Hex(Buffer.from(body))) {
    try {
      const value: unknown = JSON.parse(body);
      if (valid(value)) return { value };
    } catch {
      // cannot happen for text bootforge wrote; treated as corrupt below
    }
  }
  rmSync(path, { force: true });
  return { corrupt: true };
}

/** Downloads kept by the SHA-256 their signed index promised: <root>/sha256/<ab>/<hash>. */
export class DownloadCache {
  constructor(readonly root: string) {}

  pathOf(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  /**
   * The cached bytes when they are there and still hash right. A corrupt entry
   * (disk error, interrupted copy by another tool) is removed and reported as a miss.
   */
  read(sha256: string, size: number): { data: Buffer } | { corrupt: boolean } {
    let data: Buffer;
    try {
      data = readFileSync(this.pathOf(sha256));
    } catch {
      return { corrupt: false };
    }
    if (data.length === size && sha256Hex(data) === sha256) return { data };
    rmSync(this.pathOf(sha256), { force: true });
    return { corrupt: true };
  }

  write(sha256: string, data: Buffer): void {
    writeFileAtomic(this.pathOf(sha256), data);
  }
}
