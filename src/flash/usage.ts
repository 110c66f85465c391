/**
 * Who else uses a block device: /proc/self/mountinfo (mounts, by device number and
 * source), /proc/swaps, and an exclusive open. The kernel refuses O_EXCL on a block
 * device that is mounted or claimed by a holder (dm, md, another O_EXCL opener), so
 * the open catches users the files do not name (bmaptool relies on it too).
 */
import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { BootforgeError } from '../errors/index.js';
import { devString } from './device.js';

export interface MountEntry {
  /** "major:minor" of the mounted file system (0:N for btrfs and other virtual ones). */
  readonly dev: string;
  readonly mountPoint: string;
  /** What was mounted: /dev/sdb1, tmpfs, ... */
  readonly source: string;
}

/** mountinfo and swaps write space, tab, newline and backslash as \ooo octal. */
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses /proc/self/mountinfo (proc(5)): id parent M:m root mountpoint options [tags] - fstype source superoptions. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 6 || dash < 6) continue;
    out.push({ dev: fields[2]!, mountPoint: unescape(fields[4]!), source: unescape(fields[dash + 2] ?? '') });
  }
  return out;
}

/** The file names in /proc/swaps (after its header line). */
export function parseSwaps(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((f) => f !== '')
    .map(unescape);
}

/** A proc file's text; a missing one reads as empty (a container without /proc/swaps has no swap). */
export async function readProcFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/**
 * The outcome of opening a device for the flash: held (the descriptor the checks,
 * the prompt and the writes all use), busy (EBUSY) or read-only (EROFS).
 */
export type Claim =
  | { readonly state: 'held'; readonly handle: FileHandle }
  | { readonly state: 'busy' }
  | { readonly state: 'read-only' };

/**
 * Opens a checked block device once, read-write and exclusively, and keeps it open:
 * the path (a /dev/disk/by-id link, a /dev/sdX name a new stick can take over) is
 * never resolved again. The descriptor must lead to `dev`, the device number the
 * checks were made for; a medium swapped later makes writes through it fail
 * (EIO, ENODEV) instead of going to a disk nobody checked.
 */
export async function claimDevice(path: string, dev: string): Promise<Claim> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDWR | constants.O_EXCL);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') return { state: 'busy' };
    if (code === 'EROFS') return { state: 'read-only' };
    if (code === 'EACCES' || code === 'EPERM') {
      throw new BootforgeError('BF_FLASH_PERMISSION', `${path}: cannot open it for writing: ${(e as Error).message}`, {
        hint: 'run bootforge flash as root (sudo), or give your user read-write access to the device (the disk group)',
      });
    }
    throw new BootforgeError('BF_IO', `${path}: cannot open it: ${(e as Error).message}`, { cause: e });
  }
  const stats = await handle.stat().catch(async (e: unknown) => {
    await handle.close();
    throw new BootforgeError('BF_IO', `${path}: cannot stat the open device: ${(e as Error).message}`, { cause: e });
  });
  if (!stats.isBlockDevice() || devString(stats.rdev) !== dev) {
    await handle.close();
    const now = stats.isBlockDevice() ? `device ${devString(stats.rdev)}` : 'something that is not a block device';
    throw new BootforgeError(
      'BF_FLASH_CHANGED',
      `${path}: opens ${now}, not the device ${dev} that was checked: it changed while bootforge looked at it`,
    );
  }
  return { state: 'held', handle };
}
