/**
 * Blob stores: file contents keyed by their SHA-256 (lower-case hex). Package
 * extraction puts every regular file here once; the tree keeps only the hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import type { BlobStore, StoredBlob } from './types.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** putStream keeps up to this much in memory; a larger blob spills to a temp file as it arrives. */
const SPILL_BYTES = 1 << 20;

/** `verify` reads a blob up to this size in one piece, a larger one as a stream. */
const VERIFY_WHOLE_BYTES = 16 << 20;

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash names reach file paths: anything but 64 lower-case hex digits is a bug in the caller. */
function checkHash(sha256: string): void {
  if (!SHA256_HEX.test(sha256)) {
    throw new BootforgeError('BF_INTERNAL', `not a SHA-256 hex digest: ${JSON.stringify(sha256)}`);
  }
}

function missing(sha256: string, where: string): BootforgeError {
  return new BootforgeError('BF_IO', `blob ${sha256} is not in ${where}`, {
    hint: 'the blob store was cleaned or corrupted; extract the package again',
  });
}

/** Keeps blobs in memory: for tests and for small trees that never touch the disk. */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Buffer>();

  get size(): number {
    return this.#blobs.size;
  }

  has(sha256: string): Promise<boolean> {
    return Promise.resolve(this.#blobs.has(sha256));
  }

  get(sha256: string): Promise<Buffer> {
    const blob = this.#blobs.get(sha256);
    return blob ? Promise.resolve(blob) : Promise.reject(missing(sha256, 'the memory blob store'));
  }

  put(data: Buffer): Promise<string> {
    const sha256 = sha256Hex(data);
    // A copy: `data` is often a view into a much larger buffer (a whole .deb) that must not stay alive.
    if (!this.#blobs.has(sha256)) this.#blobs.set(sha256, Buffer.from(data));
    return Promise.resolve(sha256);
  }

  async putStream(chunks: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    const parts: Buffer[] = [];
    for await (const chunk of chunks) parts.push(Buffer.from(chunk));
    const data = Buffer.concat(parts);
    return { sha256: await this.put(data), size: data.length };
  }

  /** Re-hashes a blob; drops it and returns false when its content no longer matches (or it is absent). */
  verify(sha256: string): Promise<boolean> {
    const blob = this.#blobs.get(sha256);
    if (!blob) return Promise.resolve(false);
    if (sha256Hex(blob) === sha256) return Promise.resolve(true);
    this.#blobs.delete(sha256);
    return Promise.resolve(false);
  }
}

export interface DiskBlobStoreOptions {
  /**
   * fsync each blob before renaming it into place. Off by default: the store is
   * a cache, renames are atomic either way, and `verify` finds what a crash
   * left half-written. Costs seconds on a kernel package's 4000 files.
   */
  readonly fsync?: boolean;
}

/**
 * Blobs as files: `<dir>/<first two hex digits>/<sha256>`. Every write goes to a
 * temp file on the same file system and is renamed into place, so a reader sees
 * either no blob or the whole blob. `get` trusts what it reads; `verify` re-hashes.
 */
export class DiskBlobStore implements BlobStore {
  readonly dir: string;
  readonly #fsync: boolean;
  readonly #madeDirs = new Set<string>();

  constructor(dir: string, options: DiskBlobStoreOptions = {}) {
    this.dir = dir;
    this.#fsync = options.fsync ?? false;
  }

  /** Where the blob's file is, whether or not it exists yet. */
  location(sha256: string): string {
    checkHash(sha256);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  pathOf(sha256: string): string | undefined {
    const path = this.location(sha256);
    return existsSync(path) ? path : undefined;
  }

  async has(sha256: string): Promise<boolean> {
    const path = this.location(sha256);
    try {
      return (await stat(path)).isFile();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw this.#ioError(`cannot look up blob ${sha256}`, e);
    }
  }

  async get(sha256: string): Promise<Buffer> {
    const path = this.location(sha256);
    try {
      return await readFile(path);
    } catch (e) {
      if (isNotFound(e)) throw missing(sha256, this.dir);
      throw this.#ioError(`cannot read blob ${sha256}`, e);
    }
  }

  async put(data: Buffer): Promise<string> {
    const sha256 = sha256Hex(data);
    await this.#store(sha256, data);
    return sha256;
  }

  async #store(sha256: string, data: Buffer): Promise<void> {
    if (await this.has(sha256)) return;
    const shard = await this.#shard(sha256);
    const temp = join(shard, tempName());
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(data);
        if (this.#fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.location(sha256));
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw this.#ioError(`cannot store blob ${sha256}`, e);
    }
  }

  /**
   * Hashes while the data arrives. Small blobs stay in memory and go through
   * `put`; past 1 MiB the data spills to a temp file in the store's root (the
   * hash, hence the shard directory, is known only at the end; the root is on
   * the same file system, so the final rename is still atomic).
   */
  async putStream(chunks: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    const hash = createHash('sha256');
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let spill: { path: string; handle: FileHandle } | undefined;
    try {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.byteLength;
        if (spill) {
          await spill.handle.write(chunk);
          continue;
        }
        pending.push(Buffer.from(chunk));
        pendingBytes += chunk.byteLength;
        if (pendingBytes > SPILL_BYTES) {
          await this.#ensureDir(this.dir);
          const path = join(this.dir, tempName());
          spill = { path, handle: await open(path, 'wx') };
          await spill.handle.writev(pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      const sha256 = hash.digest('hex');
      if (!spill) {
        await this.#store(sha256, Buffer.concat(pending));
        return { sha256, size };
      }
      if (this.#fsync) await spill.handle.sync();
      await spill.handle.close();
      const temp = spill.path;
      spill = undefined;
      await this.#shard(sha256);
      if (await this.has(sha256)) await unlink(temp);
      else
        await rename(temp, this.location(sha256)).catch(async (e: unknown) => {
          await unlink(temp).catch(() => undefined);
          throw e;
        });
      return { sha256, size };
    } catch (e) {
      if (spill) {
        await spill.handle.close().catch(() => undefined);
        await unlink(spill.path).catch(() => undefined);
      }
      if (e instanceof BootforgeError) throw e;
      throw this.#ioError('cannot store a blob', e);
    }
  }

  /** Re-hashes a blob; deletes it and returns false when its content does not match (false too when absent). */
  async verify(sha256: string): Promise<boolean> {
    const path = this.location(sha256);
    const hash = createHash('sha256');
    try {
      // Most blobs are small: one read each is several times faster than a stream.
      if ((await stat(path)).size <= VERIFY_WHOLE_BYTES) hash.update(await readFile(path));
      else for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw this.#ioError(`cannot read blob ${sha256}`, e);
    }
    if (hash.digest('hex') === sha256) return true;
    await unlink(path).catch((e: unknown) => {
      if (!isNotFound(e)) throw this.#ioError(`cannot delete corrupt blob ${sha256}`, e);
    });
    return false;
  }

  async #shard(sha256: string): Promise<string> {
    const shard = join(this.dir, sha256.slice(0, 2));
    await this.#ensureDir(shard);
    return shard;
  }

  async #ensureDir(dir: string): Promise<void> {
    if (this.#madeDirs.has(dir)) return;
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw this.#ioError(`cannot create ${dir}`, e);
    }
    this.#madeDirs.add(dir);
  }

  #ioError(what: string, cause: unknown): BootforgeError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new BootforgeError('BF_IO', `blob store ${this.dir}: ${what}: ${reason}`, { cause });
  }
}

function tempName(): string {
  return `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
