/**
 * Copies the plan's ranges from the image to every target at once: each chunk is
 * read from the image once and written to all devices, so a fleet costs one read.
 * The image's bytes are hashed as they are read and must match the plan (a bmap
 * checksum).
 *
 * The partition tables go last (see plan.ts): a device's first MiB and last
 * TAIL_BYTES are zeroed and synced before any data, the data is synced, and the
 * image's head and tail (held in memory meanwhile) are written only if the whole
 * image matched. A device that fails a write is dropped (its error kept) and the
 * others go on.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import type { Reporter } from '../log/events.js';
import { startTask } from '../log/progress.js';
import { chunksOf, HEAD_BYTES, isHeld, planBytes, TAIL_BYTES, type WritePlan } from './plan.js';

/** One open target. `error` is set when a write to it failed; nothing more is written to it. */
export interface Sink {
  /** The target as the user named it (errors say this). */
  readonly label: string;
  /** What is written: the device, or a file target's temporary file. */
  readonly path: string;
  /** Undefined when the target could not be opened (then `error` says why). */
  readonly handle: FileHandle | undefined;
  /** A device's size in bytes: its head and tail are cleared before the data. Undefined for a new file. */
  readonly clearSize: number | undefined;
  error: BootforgeError | undefined;
  /** Image bytes written to it so far. */
  written: number;
}

export interface WriteOutcome {
  /** Hex digest of each plan range, as read from the image: what the read-back must find. */
  readonly digests: readonly string[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function writeFully(handle: FileHandle, data: Buffer, offset: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, offset + done);
    if (bytesWritten === 0) throw new Error(`no bytes written at offset ${offset + done}`);
    done += bytesWritten;
  }
}

async function readFully(image: FileHandle, imagePath: string, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(end - start);
  for (let done = 0; done < buf.length;) {
    const { bytesRead } = await image.read(buf, done, buf.length - done, start + done);
    if (bytesRead === 0) {
      throw new BootforgeError('BF_IO', `${imagePath}: the image ends at ${start + done} bytes, before ${end}`);
    }
    done += bytesRead;
  }
  return buf;
}

const going = (sinks: readonly Sink[]): Sink[] => sinks.filter((s) => s.error === undefined && s.handle !== undefined);

/** Writes one chunk of the image to every sink still going. */
async function toAll(sinks: readonly Sink[], data: Buffer, offset: number): Promise<void> {
  await Promise.all(
    going(sinks).map(async (s) => {
      try {
        await writeFully(s.handle!, data, offset);
        s.written += data.length;
      } catch (e) {
        s.error = new BootforgeError(
          'BF_FLASH_WRITE',
          `${s.label}: writing ${data.length} bytes at offset ${offset} failed: ${message(e)}`,
          { cause: e },
        );
      }
    }),
  );
}

/** fdatasync every sink still going: what was written is on the medium before what comes next. */
async function syncAll(sinks: readonly Sink[], what: string): Promise<void> {
  await Promise.all(
    going(sinks).map(async (s) => {
      try {
        await s.handle!.datasync();
      } catch (e) {
        s.error = new BootforgeError('BF_FLASH_WRITE', `${s.label}: syncing ${what} failed: ${message(e)}`, {
          cause: e,
        });
      }
    }),
  );
}

/** Zeroes each device's first MiB and last TAIL_BYTES (old partition tables, primary and backup) and syncs. */
async function clearTables(sinks: readonly Sink[]): Promise<void> {
  const devices = going(sinks).filter((s) => s.clearSize !== undefined);
  await Promise.all(
    devices.map(async (s) => {
      const size = s.clearSize!;
      const head = Math.min(HEAD_BYTES, size);
      const tail = Math.max(head, size - TAIL_BYTES);
      try {
        await writeFully(s.handle!, Buffer.alloc(head), 0);
        if (size > tail) await writeFully(s.handle!, Buffer.alloc(size - tail), tail);
      } catch (e) {
        s.error = new BootforgeError(
          'BF_FLASH_WRITE',
          `${s.label}: clearing its partition tables failed: ${message(e)}`,
          {
            cause: e,
          },
        );
      }
    }),
  );
  await syncAll(devices, 'the cleared partition tables');
}

/**
 * Copies `plan` from the open image to `sinks`: clears the devices' tables, writes
 * the data, syncs, then writes the head and tail. Throws BF_BMAP if the image does
 * not match its plan (the devices are then left without partition tables).
 */
export async function writeImage(
  image: FileHandle,
  imagePath: string,
  plan: WritePlan,
  sinks: readonly Sink[],
  reporter: Reporter,
  /** Checked before each chunk: an abort rejects with its reason. */
  signal?: AbortSignal,
): Promise<WriteOutcome> {
  const total = planBytes(plan);
  const task = startTask(reporter, 'flash-write', `flashing ${basename(imagePath)}`, total);
  const work = plan.ranges.flatMap((range, index) => chunksOf(range, plan.imageSize).map((c) => ({ ...c, index })));
  const hashes: Hash[] = plan.ranges.map(() => createHash(plan.checksumType));
  const held: { offset: number; data: Buffer }[] = [];
  signal?.throwIfAborted();
  await clearTables(sinks);
  // Read the next chunk while the current one is written: the image and the devices work at the same time.
  let next = work[0] ? readFully(image, imagePath, work[0].start, work[0].end) : undefined;
  for (let i = 0; i < work.length; i++) {
    const chunk = work[i]!;
    const data = await next!;
    // Checked here, with no read of the image pending, so none is left behind.
    signal?.throwIfAborted();
    const following = work[i + 1];
    next = following ? readFully(image, imagePath, following.start, following.end) : undefined;
    hashes[chunk.index]!.update(data);
    if (isHeld(chunk.start, plan.imageSize)) {
      held.push({ offset: chunk.start, data });
      continue;
    }
    await toAll(sinks, data, chunk.start);
    task.advance(data.length);
  }
  const digests = hashes.map((h) => h.digest('hex'));
  const wrong = plan.ranges.findIndex((r, i) => r.checksum !== undefined && r.checksum !== digests[i]);
  if (wrong >= 0) {
    const r = plan.ranges[wrong]!;
    throw new BootforgeError(
      'BF_BMAP',
      `${imagePath}: bytes ${r.start}-${r.end} have ${plan.checksumType} ${digests[wrong]}, the bmap says ${r.checksum}: the image changed after its bmap was made; the devices' partition tables were cleared and not written, so they will not boot`,
      { hint: 'rebuild the image, or flash without the bmap (--no-bmap) if the image is the one you mean' },
    );
  }
  signal?.throwIfAborted();
  await syncAll(sinks, 'the data');
  for (const h of held) {
    signal?.throwIfAborted();
    await toAll(sinks, h.data, h.offset);
    task.advance(h.data.length);
  }
  task.finish();
  return { digests };
}

/** fsync, so the data is on the medium and not only in the page cache. */
export async function syncSink(s: Sink): Promise<void> {
  if (s.error !== undefined || s.handle === undefined) return;
  try {
    await s.handle.sync();
  } catch (e) {
    s.error = new BootforgeError('BF_FLASH_WRITE', `${s.label}: fsync failed: ${message(e)}`, { cause: e });
  }
}
