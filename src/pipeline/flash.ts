/**
 * `bootforge flash`: checks every target (src/flash/safety.ts), asks the caller to
 * confirm the list, writes the image's mapped blocks (its .bmap) or the whole
 * image to all targets at once, flushes, and reads every range back.
 */
import { constants, existsSync, readFileSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { run } from '../exec/run.js';
import {
  devString,
  HOST_SYSTEM,
  inspectTarget,
  wholeDiskDir,
  type FlashSystem,
  type FlashTarget,
} from '../flash/device.js';
import { wholeImagePlan, type WritePlan } from '../flash/plan.js';
import { refusals } from '../flash/safety.js';
import { parseMountinfo, parseSwaps, probeExclusive, readProcFile } from '../flash/usage.js';
import { verifyTarget } from '../flash/verify.js';
import { syncSink, writeImage, type Sink } from '../flash/writer.js';
import { readBmap } from '../image/bmap.js';
import { silentReporter, type Reporter } from '../log/events.js';

export type { FlashSystem, FlashTarget } from '../flash/device.js';

export interface FlashOptions {
  readonly image: string;
  /** Block devices (or, with allowFile, regular files) to write. */
  readonly targets: readonly string[];
  /** The block map: a path, false for none; default <image>.bmap when it exists (what build writes). */
  readonly bmap?: string | false;
  /** Write to devices that are not removable. */
  readonly allowFixed?: boolean;
  /** Accept regular files as targets (written through a temporary file and a rename). */
  readonly allowFile?: boolean;
  /** Read every range back after writing. Default true. */
  readonly verify?: boolean;
  /** Called once every target passed the checks; false stops before anything is written. Default: go on. */
  readonly confirm?: (targets: readonly FlashTarget[], plan: WritePlan) => Promise<boolean> | boolean;
  readonly reporter?: Reporter;
  /** Where sysfs and the /proc files are (tests present a fake sysfs). Default: the host's. */
  readonly system?: Partial<FlashSystem>;
  /**
   * Test seam: called for each target after it was written, synced and its cache
   * dropped, before it is read back (a test damages the medium here).
   */
  readonly beforeVerify?: (target: string) => Promise<void> | void;
  /**
   * Stops the work between two chunks and rejects with the signal's reason; file
   * targets' temporary files are removed and never renamed into place. A device
   * keeps what was written so far (its first MiB only once everything else is).
   */
  readonly signal?: AbortSignal;
}

export interface FlashTargetResult {
  readonly target: FlashTarget;
  readonly ok: boolean;
  /** Why it failed (BF_FLASH_WRITE, BF_FLASH_VERIFY), when it did. */
  readonly error: BootforgeError | undefined;
  readonly bytesWritten: number;
  /** From the first write to the end of its fsync. */
  readonly writeMs: number;
  /** Undefined when not verified. */
  readonly verifyMs: number | undefined;
}

export interface FlashResult {
  readonly image: string;
  readonly imageSize: number;
  /** The bmap used, or null when the whole image was written. */
  readonly bmap: string | null;
  readonly plan: WritePlan;
  readonly targets: readonly FlashTargetResult[];
}

function imagePlan(
  image: string,
  imageSize: number,
  bmapOption: string | false | undefined,
): { plan: WritePlan; bmap: string | null } {
  const bmap = bmapOption === undefined ? (existsSync(`${image}.bmap`) ? `${image}.bmap` : null) : bmapOption || null;
  if (bmap === null) return { plan: wholeImagePlan(imageSize), bmap };
  let text: string;
  try {
    text = readFileSync(bmap, 'utf8');
  } catch (e) {
    throw new BootforgeError('BF_FILE_NOT_FOUND', `${bmap}: cannot read the block map: ${(e as Error).message}`);
  }
  const map = readBmap(text, bmap);
  if (map.imageSize !== imageSize) {
    throw new BootforgeError(
      'BF_BMAP',
      `${bmap}: describes an image of ${map.imageSize} bytes, but ${image} has ${imageSize}`,
      {
        hint: 'pass the bmap built with this image (--bmap), or --no-bmap to write the whole image',
      },
    );
  }
  const ranges = map.ranges.map((r) => ({
    start: r.first * map.blockSize,
    end: Math.min(imageSize, (r.last + 1) * map.blockSize),
    checksum: r.checksum,
  }));
  return { plan: { imageSize, checksumType: map.checksumType, ranges, fromBmap: true }, bmap };
}

/** Every refusal for every target (none for a plain file other than the image itself). */
async function check(
  targets: readonly FlashTarget[],
  image: Stats,
  system: FlashSystem,
  allowFixed: boolean,
): Promise<BootforgeError[]> {
  const mounts = parseMountinfo(await readProcFile(system.mountinfo));
  const swaps = parseSwaps(await readProcFile(system.swaps)).map((file) => {
    try {
      const s = statSync(file);
      return { file, dev: s.isBlockDevice() ? devString(s.rdev) : undefined };
    } catch {
      return { file, dev: undefined };
    }
  });
  const imageDiskDir = wholeDiskDir(system, devString(image.dev));
  const out: BootforgeError[] = [];
  for (const t of targets) {
    if (t.kind === 'file') {
      if (t.identity === `${image.dev}:${image.ino}`) {
        out.push(new BootforgeError('BF_FLASH_IMAGE_DEVICE', `${t.path}: is the image file itself`));
      }
      continue;
    }
    const exclusive = await probeExclusive(t.path).catch((e: unknown) => {
      throw new BootforgeError('BF_FLASH_BUSY', `${t.path}: cannot open it: ${(e as Error).message}`, {
        hint: 'flashing a device needs root (or membership of the disk group)',
      });
    });
    out.push(...refusals(t, { imageSize: image.size, imageDiskDir, mounts, swaps, exclusive, allowFixed }));
  }
  return out;
}

const tempOf = (path: string): string => join(dirname(path), `.${basename(path)}.bootforge-tmp-${process.pid}`);

/**
 * Opens a target for writing: a device exclusively, a file as a fresh temporary file
 * of the image's size. A target that cannot be opened (pulled out since the checks)
 * comes back failed, without a handle, and the others are still written.
 */
async function openSink(t: FlashTarget, imageSize: number): Promise<Sink> {
  const path = t.kind === 'block' ? t.path : tempOf(t.path);
  try {
    const handle = await open(path, t.kind === 'block' ? constants.O_WRONLY | constants.O_EXCL : 'w', 0o644);
    if (t.kind === 'file') await handle.truncate(imageSize);
    return { label: t.path, path, handle, error: undefined };
  } catch (e) {
    const error = new BootforgeError(
      'BF_FLASH_WRITE',
      `${t.path}: cannot open it for writing: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
    return { label: t.path, path, handle: undefined, error };
  }
}

/** Drops a block device's page cache (BLKFLSBUF), so the read-back comes from the medium. */
async function dropCache(t: FlashTarget, sink: Sink): Promise<void> {
  if (t.kind !== 'block' || sink.error !== undefined) return;
  try {
    await run(['blockdev', '--flushbufs', t.path]);
  } catch (e) {
    sink.error = new BootforgeError(
      'BF_FLASH_WRITE',
      `${t.path}: cannot drop its cache before reading back: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

export async function flash(options: FlashOptions): Promise<FlashResult> {
  const reporter = options.reporter ?? silentReporter;
  const system: FlashSystem = { ...HOST_SYSTEM, ...options.system };
  let image: Stats;
  try {
    image = statSync(options.image);
  } catch {
    throw new BootforgeError('BF_FILE_NOT_FOUND', `${options.image}: no such image`);
  }
  if (!image.isFile()) throw new BootforgeError('BF_USAGE', `${options.image}: the image must be a regular file`);
  const { plan, bmap } = imagePlan(options.image, image.size, options.bmap);

  const targets = options.targets.map((p) => inspectTarget(p, system, options.allowFile ?? false));
  const seen = new Map<string, string>();
  for (const t of targets) {
    const key = t.kind === 'block' ? t.dev : (t.identity ?? t.path);
    const other = seen.get(key);
    if (other !== undefined) throw new BootforgeError('BF_USAGE', `${t.path} and ${other} are the same target`);
    seen.set(key, t.path);
  }
  BootforgeError.throwAll(await check(targets, image, system, options.allowFixed ?? false));
  if (options.confirm && !(await options.confirm(targets, plan))) {
    throw new BootforgeError('BF_FLASH_CONFIRM', `not confirmed: nothing was written to ${options.targets.join(', ')}`);
  }
  reporter.emit({
    type: 'step',
    stage: 'flash',
    message:
      bmap === null
        ? `no bmap: writing the whole image (${image.size} bytes)`
        : `writing the blocks ${basename(bmap)} maps`,
  });

  options.signal?.throwIfAborted();
  const handle = await open(options.image, 'r');
  const sinks: Sink[] = [];
  const started = performance.now();
  const writeMs = new Map<Sink, number>();
  try {
    for (const t of targets) sinks.push(await openSink(t, image.size));
    const outcome = await writeImage(handle, options.image, plan, sinks, reporter, options.signal);
    await Promise.all(
      sinks.map(async (s) => {
        await syncSink(s);
        writeMs.set(s, performance.now() - started);
      }),
    );
    await Promise.all(sinks.map(async (s) => s.handle?.close()));
    const verifyMs = new Map<Sink, number>();
    if (options.verify ?? true) {
      await Promise.all(
        sinks.map(async (s, i) => {
          await dropCache(targets[i]!, s);
          if (s.error !== undefined) return;
          await options.beforeVerify?.(targets[i]!.path);
          const from = performance.now();
          const v = await verifyTarget(s.path, targets[i]!.path, plan, outcome.digests, reporter, options.signal).catch(
            (e: BootforgeError) => e,
          );
          verifyMs.set(s, performance.now() - from);
          if (v instanceof Error) s.error = v;
          else if (!v.ok) {
            s.error = new BootforgeError(
              'BF_FLASH_VERIFY',
              `${targets[i]!.path}: reads back different bytes: ${v.problems.slice(0, 3).join('; ')}`,
            );
          }
        }),
      );
    }
    // Interrupted while syncing or reading back: no file target is put in place.
    options.signal?.throwIfAborted();
    for (const [i, t] of targets.entries()) {
      if (t.kind !== 'file') continue;
      if (sinks[i]!.error === undefined) renameSync(sinks[i]!.path, t.path);
      else rmSync(sinks[i]!.path, { force: true });
    }
    return {
      image: options.image,
      imageSize: image.size,
      bmap,
      plan,
      targets: targets.map((t, i) => {
        const s = sinks[i]!;
        return {
          target: t,
          ok: s.error === undefined,
          error: s.error,
          bytesWritten: outcome.bytes,
          writeMs: writeMs.get(s) ?? 0,
          verifyMs: verifyMs.get(s),
        };
      }),
    };
  } catch (e) {
    await Promise.all(sinks.map(async (s) => s.handle?.close().catch(() => undefined)));
    for (const [i, t] of targets.entries()) if (t.kind === 'file' && sinks[i]) rmSync(sinks[i].path, { force: true });
    throw e;
  } finally {
    await handle.close();
  }
}
