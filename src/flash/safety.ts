/**
 * The refusals before anything is written, after Etcher's and coreos-installer's
 * rules: the disk holding the image, a mounted, swapped-on, held or busy disk, a
 * read-only or too small one, and (unless --allow-fixed) a disk that is not
 * removable. Each refusal is its own error code naming the device and why.
 */
import { basename } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { formatSize } from '../schema/size.js';
import type { BlockTarget } from './device.js';
import type { MountEntry } from './usage.js';

export interface SafetyFacts {
  readonly imageSize: number;
  /** sysfs folder of the whole disk that holds the image file, when known. */
  readonly imageDiskDir: string | undefined;
  /** "device:inode" of the image file, to find it behind a loop device. */
  readonly imageIdentity: string;
  readonly mounts: readonly MountEntry[];
  /** /proc/swaps file names, with the device number of those that are block devices. */
  readonly swaps: readonly { readonly file: string; readonly dev: string | undefined }[];
  /** Result of an O_EXCL open. */
  readonly exclusive: 'free' | 'busy';
  readonly allowFixed: boolean;
}

/** Everything that forbids writing to `t`, most specific first; empty when it may be written. */
export function refusals(t: BlockTarget, f: SafetyFacts): BootforgeError[] {
  const out: BootforgeError[] = [];
  const refuse = (code: ConstructorParameters<typeof BootforgeError>[0], why: string, hint?: string): void => {
    out.push(new BootforgeError(code, `${t.path} (${t.name}): ${why}`, hint === undefined ? {} : { hint }));
  };
  const names = new Set([t.name, ...t.partitions.map((p) => p.name)]);
  const devs = new Set([t.dev, ...t.partitions.flatMap((p) => (p.dev === undefined ? [] : [p.dev]))]);
  const ours = (dev: string | undefined, file: string): boolean =>
    (dev !== undefined && devs.has(dev)) || (file.startsWith('/dev/') && names.has(basename(file)));

  if (f.imageDiskDir !== undefined && f.imageDiskDir === t.sysfsDir) {
    refuse('BF_FLASH_IMAGE_DEVICE', 'holds the image file being flashed; writing it would destroy the image');
  }
  const image = t.backing.find((b) => b.identity === f.imageIdentity);
  if (image !== undefined) {
    refuse(
      'BF_FLASH_IMAGE_DEVICE',
      `is backed by the image file being flashed (${image.file}); writing it would destroy the image`,
    );
  }
  const mounted = f.mounts.filter((m) => ours(m.dev, m.source));
  if (mounted.length > 0) {
    const where = mounted.map((m) => `${m.source} on ${m.mountPoint}`).join(', ');
    refuse(
      'BF_FLASH_MOUNTED',
      `is mounted: ${where}`,
      `unmount it first: umount ${mounted.map((m) => m.mountPoint).join(' ')}`,
    );
  }
  const swaps = f.swaps.filter((s) => ours(s.dev, s.file));
  if (swaps.length > 0) {
    refuse(
      'BF_FLASH_SWAP',
      `is in use as swap: ${swaps.map((s) => s.file).join(', ')}`,
      `swapoff ${swaps.map((s) => s.file).join(' ')}`,
    );
  }
  const holders = [
    ...t.holders.map((h) => `${h} holds ${t.name}`),
    ...t.partitions.flatMap((p) => p.holders.map((h) => `${h} holds ${p.name}`)),
  ];
  if (holders.length > 0) refuse('BF_FLASH_HOLDERS', `is held by other block devices: ${holders.join(', ')}`);
  if (f.exclusive === 'busy' && out.length === 0) {
    // Mounts and holders also make O_EXCL fail; say "busy" only when nothing above explains it.
    refuse('BF_FLASH_BUSY', 'cannot be opened exclusively (EBUSY): another program or the kernel uses it');
  }
  if (t.readOnly) refuse('BF_FLASH_READ_ONLY', 'is read-only (sysfs ro = 1)');
  if (t.size < f.imageSize) {
    refuse(
      'BF_FLASH_TOO_SMALL',
      `has ${formatSize(t.size)}, the image needs ${formatSize(f.imageSize)} (${f.imageSize} bytes)`,
    );
  }
  if (!t.removable && !f.allowFixed) {
    refuse(
      'BF_FLASH_FIXED',
      `is not removable (${t.transport}${t.model === undefined ? '' : `, ${t.model}`}, ${formatSize(t.size)}): it may be a system disk`,
      `check it with lsblk -o NAME,MODEL,SERIAL,TRAN,RM,SIZE; pass --allow-fixed if ${t.path} is the disk you mean`,
    );
  }
  return out;
}
