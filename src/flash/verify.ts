/**
 * Reads a written target back and checks every range's digest, like bmaptool and
 * Etcher. The caller drops the device's page cache first (blockdev --flushbufs),
 * so the bytes come from the medium, not from the memory they were written from.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BootforgeError } from '../errors/index.js';
import type { Reporter } from '../log/events.js';
import { startTask } from '../log/progress.js';
import { CHUNK_BYTES, planBytes, type WritePlan } from './plan.js';

export interface Verification {
  readonly ok: boolean;
  /** The ranges that differ (at most a few are named). */
  readonly problems: readonly string[];
}

/** Reads `plan`'s ranges from `path` and compares them with `digests` (one per range); `label` names the target. */
export async function verifyTarget(
  path: string,
  label: string,
  plan: WritePlan,
  digests: readonly string[],
  reporter: Reporter,
  /** Checked before each chunk: an abort rejects with its reason. */
  signal?: AbortSignal,
): Promise<Verification> {
  const handle = await open(path, 'r').catch((e: unknown) => {
    throw new BootforgeError('BF_FLASH_VERIFY', `${label}: cannot open it to read back: ${(e as Error).message}`, {
      cause: e,
    });
  });
  const task = startTask(reporter, `flash-verify:${label}`, `verifying ${label}`, planBytes(plan));
  const problems: string[] = [];
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  try {
    for (const [i, r] of plan.ranges.entries()) {
      const hash = createHash(plan.checksumType);
      for (let at = r.start; at < r.end;) {
        signal?.throwIfAborted();
        const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, r.end - at), at);
        if (bytesRead === 0) {
          problems.push(`ends at ${at} bytes, before ${r.end}`);
          break;
        }
        hash.update(buf.subarray(0, bytesRead));
        at += bytesRead;
        task.advance(bytesRead);
      }
      const actual = hash.digest('hex');
      if (actual !== digests[i]) problems.push(`bytes ${r.start}-${r.end}: read back ${actual}, wrote ${digests[i]}`);
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new BootforgeError('BF_FLASH_VERIFY', `${label}: reading back failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await handle.close();
  }
  task.finish();
  return { ok: problems.length === 0, problems };
}
