/**
 * `bootforge flash`: opens every device once (read-write, O_EXCL) and checks it
 * (src/flash/safety.ts) with that descriptor held, asks the caller to confirm the
 * list, writes the image's mapped blocks (its .bmap) or the whole image to all
 * targets at once through the same descriptors, syncs, and reads every range back
 * from the medium.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
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
import { claimDevice, parseMountinfo, parseSwaps, readProcFile, type Claim } from '../flash/usage.js';
import { cachedReadBack, openDirect, verifyTarget, type ReadBack } from '../flash/verify.js';
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
   * dropped (or an O_DIRECT descriptor opened), before it is read back (a test
   * damages the medium here).
   */
  readonly beforeVerify?: (target: string) => Promise<void> | void;
  /**
   * Stops the work between two chunks and rejects with the signal's reason; file
   * targets' temporary files are removed and never renamed into place. A device
   * keeps the data written so far but no partition table (its first MiB and last
   * 64 KiB are zeroed before the data and rewritten only after all of it).
   */
  readonly signal?: AbortSignal;
}

/**
 * Where the read-back came from: the medium after dropping the device's cache (as
 * root), the medium through O_DIRECT (without CAP_SYS_ADMIN), or the page cache
 * (a file target; a device where neither worked, with a warning).
 */
export type VerifySource = 'medium' | 'medium (O_DIRECT)' | 'page cache';

export interface FlashTargetResult {
  readonly target: FlashTarget;
  readonly ok: boolean;
  /** Why it failed (BF_FLASH_WRITE, BF_FLASH_VERIFY), when it did. */
  readonly error: BootforgeError | undefined;
  /** Image bytes written to this target (less than the plan's when it failed part way). */
  readonly bytesWritten: number;
  /** From the first write to the end of its fsync. */
  readonly writeMs: number;
  /** Undefined when not verified. */
  readonly verifyMs: number | undefined;
  /** Undefined when not verified. */
  readonly verifiedFrom: VerifySource | undefined;
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

/**
 * Opens every block device once (claimDevice); a file target gets undefined. On a
 * failure the descriptors already open are closed.
 */
async function claimAll(targets: readonly FlashTarget[]): Promise<(Claim | undefined)[]> {
  const claims: (Claim | undefined)[] = [];
  try {
    for (const t of targets) claims.push(t.kind === 'block' ? await claimDevice(t.path, t.dev) : undefined);
    return claims;
  } catch (e) {
    await release(claims);
    throw e;
  }
}

async function release(claims: readonly (Claim | undefined)[]): Promise<void> {
  await Promise.all(
    claims.map(async (c) => (c?.state === 'held' ? c.handle.close().catch(() => undefined) : undefined)),
  );
}

/** Every refusal for every target (none for a plain file other than the image itself), made with the claims held. */
async function check(
  targets: readonly FlashTarget[],
  claims: readonly (Claim | undefined)[],
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
  const imageIdentity = `${image.dev}:${image.ino}`;
  const out: BootforgeError[] = [];
  for (const [i, t] of targets.entries()) {
    if (t.kind === 'file') {
      if (t.identity === imageIdentity) {
        out.push(new BootforgeError('BF_FLASH_IMAGE_DEVICE', `${t.path}: is the image file itself`));
      }
      continue;
    }
    const claim = claims[i];
    const exclusive = claim?.state === 'busy' ? 'busy' : 'free';
    out.push(
      ...refusals(t, { imageSize: image.size, imageDiskDir, imageIdentity, mounts, swaps, exclusive, allowFixed }),
    );
    if (claim?.state === 'read-only' && !t.readOnly) {
      out.push(
        new BootforgeError(
          'BF_FLASH_READ_ONLY',
          `${t.path} (${t.name}): the kernel refuses to open it for writing (EROFS)`,
        ),
      );
    }
  }
  return out;
}

const tempOf = (path: string): string => join(dirname(path), `.${basename(path)}.bootforge-tmp-${process.pid}`);

/**
 * The sink for a target: a device writes through its held claim; a file through a
 * fresh temporary file of the image's size. A file that cannot be opened comes back
 * failed, without a handle, and the others are still written.
 */
async function openSink(t: FlashTarget, claim: Claim | undefined, imageSize: number): Promise<Sink> {
  if (t.kind === 'block') {
    const handle = claim?.state === 'held' ? claim.handle : undefined;
    return { label: t.path, path: t.path, handle, clearSize: t.size, error: undefined, written: 0 };
  }
  const path = tempOf(t.path);
  try {
    const handle = await open(path, 'w+', 0o644);
    await handle.truncate(imageSize);
    return { label: t.path, path, handle, clearSize: undefined, error: undefined, written: 0 };
  } catch (e) {
    const error = new BootforgeError(
      'BF_FLASH_WRITE',
      `${t.path}: cannot open it for writing: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
    return { label: t.path, path, handle: undefined, clearSize: undefined, error, written: 0 };
  }
}

/**
 * How a written target is read back from its medium. As root: drop the device's
 * cache (BLKFLSBUF, through the held descriptor's /proc/<pid>/fd link, so the path
 * is not resolved again) and read through the held descriptor. Without
 * CAP_SYS_ADMIN the drop is refused: read through a new O_DIRECT descriptor. If
 * neither works, read the page cache and say so.
 */
async function readBackFor(
  t: FlashTarget,
  sink: Sink,
  reporter: Reporter,
): Promise<{ from: ReadBack; source: VerifySource; close: boolean }> {
  const handle = sink.handle!;
  if (t.kind !== 'block') return { from: cachedReadBack(handle), source: 'page cache', close: false };
  const self = `/proc/${process.pid}/fd/${handle.fd}`;
  const dropped = await run(['blockdev', '--flushbufs', self]).then(
    () => true,
    () => false,
  );
  if (dropped) return { from: cachedReadBack(handle), source: 'medium', close: false };
  const direct = await openDirect(`/proc/self/fd/${handle.fd}`, t.dev);
  if (direct !== undefined) return { from: direct, source: 'medium (O_DIRECT)', close: true };
  reporter.emit({
    type: 'warning',
    message: `${t.path}: cannot drop its cache (needs root) nor read it with O_DIRECT: the read-back checks the page cache, not what the medium kept`,
  });
  return { from: cachedReadBack(handle), source: 'page cache', close: false };
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
  const claims = await claimAll(targets);
  try {
    BootforgeError.throwAll(await check(targets, claims, image, system, options.allowFixed ?? false));
    if (options.confirm && !(await options.confirm(targets, plan))) {
      throw new BootforgeError(
        'BF_FLASH_CONFIRM',
        `not confirmed: nothing was written to ${options.targets.join(', ')}`,
      );
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
    return await writeAll(options, reporter, targets, claims, image.size, plan, bmap);
  } finally {
    await release(claims);
  }
}

/** Writes, syncs and reads back every target through its sink; file targets are renamed into place when good. */
async function writeAll(
  options: FlashOptions,
  reporter: Reporter,
  targets: readonly FlashTarget[],
  claims: readonly (Claim | undefined)[],
  imageSize: number,
  plan: WritePlan,
  bmap: string | null,
): Promise<FlashResult> {
  const handle = await open(options.image, 'r');
  const sinks: Sink[] = [];
  const started = performance.now();
  const writeMs = new Map<Sink, number>();
  const closeFiles = () =>
    Promise.all(
      sinks.map(async (s, i) => (targets[i]!.kind === 'file' ? s.handle?.close().catch(() => undefined) : undefined)),
    );
  try {
    for (const [i, t] of targets.entries()) sinks.push(await openSink(t, claims[i], imageSize));
    const outcome = await writeImage(handle, options.image, plan, sinks, reporter, options.signal);
    await Promise.all(
      sinks.map(async (s) => {
        await syncSink(s);
        writeMs.set(s, performance.now() - started);
      }),
    );
    const verifyMs = new Map<Sink, number>();
    const verifiedFrom = new Map<Sink, VerifySource>();
    if (options.verify ?? true) {
      await Promise.all(
        sinks.map(async (s, i) => {
          if (s.error !== undefined) return;
          const t = targets[i]!;
          const back = await readBackFor(t, s, reporter).catch((e: unknown) => e as Error);
          if (back instanceof Error) {
            s.error =
              back instanceof BootforgeError
                ? back
                : new BootforgeError('BF_FLASH_VERIFY', `${t.path}: ${back.message}`);
            return;
          }
          try {
            await options.beforeVerify?.(t.path);
            const from = performance.now();
            const v = await verifyTarget(back.from, t.path, plan, outcome.digests, reporter, options.signal).catch(
              (e: BootforgeError) => e,
            );
            verifyMs.set(s, performance.now() - from);
            verifiedFrom.set(s, back.source);
            if (v instanceof Error) s.error = v;
            else if (!v.ok) {
              s.error = new BootforgeError(
                'BF_FLASH_VERIFY',
                `${t.path}: reads back different bytes: ${v.problems.slice(0, 3).join('; ')}`,
              );
            }
          } finally {
            if (back.close) await back.from.handle.close();
          }
        }),
      );
    }
    await closeFiles();
    // Interrupted while syncing or reading back: no file target is put in place.
    options.signal?.throwIfAborted();
    for (const [i, t] of targets.entries()) {
      if (t.kind !== 'file') continue;
      if (sinks[i]!.error === undefined) renameSync(sinks[i]!.path, t.path);
      else rmSync(sinks[i]!.path, { force: true });
    }
    return {
      image: options.image,
      imageSize,
      bmap,
      plan,
      targets: targets.map((t, i) => {
        const s = sinks[i]!;
        return {
          target: t,
          ok: s.error === undefined,
          error: s.error,
          bytesWritten: s.written,
          writeMs: writeMs.get(s) ?? 0,
          verifyMs: verifyMs.get(s),
          verifiedFrom: verifiedFrom.get(s),
        };
      }),
    };
  } catch (e) {
    await closeFiles();
    for (const [i, t] of targets.entries()) if (t.kind === 'file' && sinks[i]) rmSync(sinks[i].path, { force: true });
    throw e;
  } finally {
    await handle.close();
  }
}
