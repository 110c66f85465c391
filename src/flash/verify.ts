/**
 * Reads a written target back and checks every range's digest, like bmaptool and
 * Etcher. The bytes must come from the medium, not from the page cache they were
 * written from: the caller drops the device's cache first (BLKFLSBUF, which needs
 * CAP_SYS_ADMIN), or reads through a new O_DIRECT descriptor (openDirect), which
 * bypasses the cache and needs only read access.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { BootforgeError } from '../errors/index.js';
import type { Reporter } from '../log/events.js';
import { startTask } from '../log/progress.js';
import { devString } from './device.js';
import { CHUNK_BYTES, planBytes, type WritePlan } from './plan.js';

export interface Verification {
  readonly ok: boolean;
  /** The ranges that differ (at most a few are named). */
  readonly problems: readonly string[];
}

/** O_DIRECT offsets and lengths: a multiple of every logical block size in use (512, 4096). */
const ALIGN = 4096;

/** Where to read from and into: `buf` is CHUNK_BYTES long and, for an O_DIRECT descriptor, suitably aligned in memory. */
export interface ReadBack {
  readonly handle: FileHandle;
  readonly buf: Buffer;
}

/** A plain buffer for reading through a descriptor without O_DIRECT. */
export const cachedReadBack = (handle: FileHandle): ReadBack => ({ handle, buf: Buffer.allocUnsafe(CHUNK_BYTES) });

/**
 * Opens `path` again with O_DIRECT and checks it is still device `dev`. Node cannot
 * ask for an aligned buffer or tell a buffer's address, so a larger one is tried at
 * 16-byte steps until a direct read is accepted (EINVAL marks a misaligned one); the
 * memory does not move, so that offset stays good. Undefined when the kernel refuses
 * O_DIRECT here or no offset works.
 */
export async function openDirect(path: string, dev: string): Promise<ReadBack | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    return undefined;
  }
  try {
    const stats = await handle.stat();
    if (devString(stats.rdev) !== dev) {
      throw new BootforgeError(
        'BF_FLASH_CHANGED',
        `${path}: opens device ${devString(stats.rdev)} to read back, not ${dev}`,
      );
    }
    const big = Buffer.allocUnsafe(CHUNK_BYTES + ALIGN);
    for (let at = 0; at < ALIGN; at += 16) {
      const buf = big.subarray(at, at + CHUNK_BYTES);
      try {
        await handle.read(buf, 0, ALIGN, 0);
        return { handle, buf };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      }
    }
  } catch (e) {
    await handle.close();
    if (e instanceof BootforgeError) throw e;
    return undefined;
  }
  await handle.close();
  return undefined;
}

/**
 * Reads `plan`'s ranges through `from` and compares them with `digests` (one per
 * range); `label` names the target. Reads go in ALIGN-aligned windows, as O_DIRECT
 * requires; only each range's own bytes are hashed.
 */
export async function verifyTarget(
  from: ReadBack,
  label: string,
  plan: WritePlan,
  digests: readonly string[],
  reporter: Reporter,
  /** Checked before each chunk: an abort rejects with its reason. */
  signal?: AbortSignal,
): Promise<Verification> {
  const task = startTask(reporter, `flash-verify:${label}`, `verifying ${label}`, planBytes(plan));
  const problems: string[] = [];
  const { handle, buf } = from;
  try {
    for (const [i, r] of plan.ranges.entries()) {
      const hash = createHash(plan.checksumType);
      for (let at = r.start; at < r.end;) {
        signal?.throwIfAborted();
        const window = Math.floor(at / ALIGN) * ALIGN;
        const length = Math.min(buf.length, Math.ceil((r.end - window) / ALIGN) * ALIGN);
        const { bytesRead } = await handle.read(buf, 0, length, window);
        const got = Math.min(bytesRead, r.end - window);
        if (got <= at - window) {
          problems.push(`ends at ${window + bytesRead} bytes, before ${r.end}`);
          break;
        }
        hash.update(buf.subarray(at - window, got));
        task.advance(window + got - at);
        at = window + got;
      }
      const actual = hash.digest('hex');
      if (actual !== digests[i]) problems.push(`bytes ${r.start}-${r.end}: read back ${actual}, wrote ${digests[i]}`);
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new BootforgeError('BF_FLASH_VERIFY', `${label}: reading back failed: ${(e as Error).message}`, { cause: e });
  }
  task.finish();
  return { ok: problems.length === 0, problems };
}
