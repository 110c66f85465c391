/**
 * Who else uses a block device: /proc/self/mountinfo (mounts, by device number and
 * source), /proc/swaps, and an exclusive open. The kernel refuses O_EXCL on a block
 * device that is mounted or claimed by a holder (dm, md, another O_EXCL opener), so
 * the open catches users the files do not name (bmaptool relies on it too).
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';

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

/** Opens a block device read-only with O_EXCL and closes it: 'busy' when the kernel says EBUSY. */
export async function probeExclusive(path: string): Promise<'free' | 'busy'> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_EXCL);
    await handle.close();
    return 'free';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EBUSY') return 'busy';
    throw e;
  }
}
