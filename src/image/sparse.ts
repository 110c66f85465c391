/**
 * An image file written piece by piece at known offsets, never held in memory.
 *
 * The file is created at its full size with ftruncate, which makes it one hole:
 * blocks that nobody writes take no disk space and read as zeros. Writers (the GPT,
 * the FAT32 ESP, the payload) put their bytes where the layout says with positional
 * writes. The image keeps the list of byte ranges written, merged, so that the
 * block map (bmap.ts) names exactly the blocks that hold data without asking the
 * file system (no SEEK_DATA/SEEK_HOLE, which differ between file systems and lie
 * on some, e.g. tmpfs before Linux 6.x or NFS).
 *
 * Zeros: writers hand over long runs of zero bytes (the free entries of a FAT, the
 * unused entries of a GPT array, the zero tail of a file's last cluster). Those
 * zeros matter: a flasher that writes only the blocks a bmap lists onto a used USB
 * stick must overwrite what the stick held there. So every byte a caller writes is
 * *mapped* (it goes into ranges() and the bmap), zeros included. What is saved is
 * the allocation: by default each 4 KiB block of a write (on the image's 4 KiB grid)
 * that is entirely zero and lands where no data was physically written yet is not
 * written to the file, because the hole there already reads as zeros; the file
 * stays sparse and the bmap stays right. Zeros that land on data written earlier
 * are written, as they must overwrite it. Nothing here punches holes (fallocate).
 * A region whose content does not matter (free clusters of a file system) is
 * simply not written by its writer, and so stays out of the bmap.
 *
 * Writes to overlapping ranges must not run concurrently (their order on disk would
 * be unspecified); writes to disjoint ranges may.
 */
import { close, closeSync, fsync, ftruncateSync, openSync, write } from 'node:fs';
import { BootforgeError } from '../errors/index.js';

/** A byte range [start, end) of an image. */
export interface ByteRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export interface SparseImageOptions {
  /**
   * Do not physically write all-zero 4 KiB blocks that land in never-written space (they
   * stay holes but are still mapped; see the top of this file). Default: true.
   */
  readonly skipZeroBlocks?: boolean;
  /** File mode for the new file. Default: 0o644 (less the umask). */
  readonly mode?: number;
}

export interface SparseImageResult {
  readonly path: string;
  readonly size: number;
  /** The written (mapped) ranges, zeros included: sorted, disjoint, touching ranges merged. */
  readonly ranges: readonly ByteRange[];
  /** Sum of the ranges' lengths. */
  readonly mappedBytes: number;
}

/** The granule of zero detection: the bmap's block size and the page size of every Linux build host. */
export const ZERO_BLOCK_SIZE = 4096;
const ZEROS = Buffer.alloc(ZERO_BLOCK_SIZE);

export class SparseImage {
  readonly path: string;
  readonly size: number;
  readonly #skipZeroBlocks: boolean;
  #fd: number | undefined;
  /** Every range a caller wrote: what the bmap lists. */
  readonly #mapped = new RangeSet();
  /** The ranges actually written to the file (the rest are holes): decides whether zeros can be skipped. */
  readonly #stored = new RangeSet();

  /**
   * Creates (or truncates) `path` and sizes it to `size` bytes of hole. Pass a
   * temporary path and rename it after finalize(): a crash never leaves a
   * half-written image under the final name.
   */
  constructor(path: string, size: number, options: SparseImageOptions = {}) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new BootforgeError('BF_INTERNAL', `SparseImage: size ${size} is not a whole number of bytes`);
    }
    this.path = path;
    this.size = size;
    this.#skipZeroBlocks = options.skipZeroBlocks ?? true;
    // Synchronous, as a constructor must be: both calls only change metadata, no data is written.
    let fd: number;
    try {
      fd = openSync(path, 'w', options.mode ?? 0o644);
    } catch (e) {
      throw ioError(path, 'cannot create the image', e);
    }
    try {
      ftruncateSync(fd, size);
    } catch (e) {
      closeSync(fd);
      throw ioError(path, `cannot size the image to ${size} bytes`, e);
    }
    this.#fd = fd;
  }

  /** Writes `data` at byte `offset`. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.#checkRange(offset, data.length);
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    const whole = { start: offset, end: offset + buf.length };
    const runs = this.#skipZeroBlocks ? this.#runsToStore(offset, buf) : [whole];
    // Record first (synchronously): a later call then sees these bytes as written, whatever the completion order.
    this.#mapped.add(whole);
    for (const r of runs) this.#stored.add(r);
    await Promise.all(runs.map((r) => this.#pwrite(buf.subarray(r.start - offset, r.end - offset), r.start)));
  }

  /** Writes the chunks one after another from `offset`; returns the number of bytes written. */
  async writeStream(offset: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
    let at = offset;
    for await (const chunk of chunks) {
      await this.write(at, chunk);
      at += chunk.length;
    }
    return at - offset;
  }

  /** The ranges written so far, zeros included (a copy). */
  ranges(): ByteRange[] {
    return this.#mapped.list();
  }

  /** The ranges physically written to the file so far: the rest of it is holes (a copy). */
  storedRanges(): ByteRange[] {
    return this.#stored.list();
  }

  /**
   * Flushes the file to disk and closes it; returns what was written. Await every
   * write first. The caller renames the file into place.
   */
  async finalize(): Promise<SparseImageResult> {
    const fd = this.#open('finalize');
    await new Promise<void>((resolve, reject) =>
      fsync(fd, (e) => (e ? reject(ioError(this.path, 'cannot flush the image', e)) : resolve())),
    );
    await this.close();
    const ranges = this.ranges();
    return { path: this.path, size: this.size, ranges, mappedBytes: ranges.reduce((n, r) => n + r.end - r.start, 0) };
  }

  /** Closes the file without flushing it (for error paths). Calling it again does nothing. */
  async close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    await new Promise<void>((resolve, reject) =>
      close(fd, (e) => (e ? reject(ioError(this.path, 'cannot close the image', e)) : resolve())),
    );
  }

  #open(what: string): number {
    if (this.#fd === undefined)
      throw new BootforgeError('BF_INTERNAL', `SparseImage ${this.path}: ${what} after close`);
    return this.#fd;
  }

  #checkRange(offset: number, length: number): void {
    this.#open('write');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.size) {
      throw new BootforgeError(
        'BF_INTERNAL',
        `SparseImage ${this.path}: a write of ${length} bytes at ${offset} does not fit in ${this.size} bytes`,
      );
    }
  }

  #pwrite(buf: Buffer, position: number): Promise<void> {
    const fd = this.#open('write');
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done === buf.length) return resolve();
        write(fd, buf, done, buf.length - done, position + done, (e, n) => {
          if (e) reject(ioError(this.path, `cannot write ${buf.length} bytes at offset ${position}`, e));
          else step(done + n);
        });
      };
      step(0);
    });
  }

  /**
   * The parts of a write that must reach the file: everything except whole or
   * partial grid blocks that are all zero and touch no stored range.
   */
  #runsToStore(offset: number, buf: Buffer): ByteRange[] {
    const runs: ByteRange[] = [];
    const end = offset + buf.length;
    let at = offset;
    let pending: ByteRange | undefined;
    while (at < end) {
      const next = Math.min(end, (Math.floor(at / ZERO_BLOCK_SIZE) + 1) * ZERO_BLOCK_SIZE);
      const piece = buf.subarray(at - offset, next - offset);
      const skip = piece.equals(ZEROS.subarray(0, piece.length)) && !this.#stored.intersects(at, next);
      if (!skip) {
        if (pending && pending.end === at) pending = { start: pending.start, end: next };
        else {
          if (pending) runs.push(pending);
          pending = { start: at, end: next };
        }
      }
      at = next;
    }
    if (pending) runs.push(pending);
    return runs;
  }
}

/** Byte ranges kept sorted, disjoint and with touching ranges merged. */
class RangeSet {
  readonly #ranges: ByteRange[] = [];

  /** Index of the first range whose end is at or after `offset`. */
  #firstEndingAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.#ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ranges[mid]!.end < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  intersects(start: number, end: number): boolean {
    const r = this.#ranges[this.#firstEndingAtOrAfter(start + 1)];
    return r !== undefined && r.start < end;
  }

  add(range: ByteRange): void {
    if (range.end <= range.start) return;
    const i = this.#firstEndingAtOrAfter(range.start);
    let j = i;
    let start = range.start;
    let end = range.end;
    while (j < this.#ranges.length && this.#ranges[j]!.start <= end) {
      start = Math.min(start, this.#ranges[j]!.start);
      end = Math.max(end, this.#ranges[j]!.end);
      j++;
    }
    this.#ranges.splice(i, j - i, { start, end });
  }

  list(): ByteRange[] {
    return this.#ranges.map((r) => ({ ...r }));
  }
}

function ioError(path: string, what: string, cause: unknown): BootforgeError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new BootforgeError('BF_IO', `${path}: ${what}: ${message}`, { cause });
}
