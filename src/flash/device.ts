/**
 * What a flash target is, read from sysfs the way lsblk does: the device node's
 * major:minor leads to /sys/dev/block/M:m, whose folder holds the size, the
 * removable and ro flags, the partitions and holders; its `device` link leads to
 * the model, vendor and serial, and its place in the device tree tells the bus.
 *
 * The sysfs root and /proc files are parameters (FlashSystem) so tests can show a
 * loop device as a removable USB stick.
 */
import { readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { readAttr as attr } from '../fsutil/attr.js';

/** Where the host's block-device facts are read from. */
export interface FlashSystem {
  /** Default /sys. */
  readonly sysfs: string;
  /** Default /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** Default /proc/swaps. */
  readonly swaps: string;
}

export const HOST_SYSTEM: FlashSystem = { sysfs: '/sys', mountinfo: '/proc/self/mountinfo', swaps: '/proc/swaps' };

export type Transport = 'usb' | 'nvme' | 'sata' | 'scsi' | 'mmc' | 'virtio' | 'virtual' | 'unknown';

export interface BlockPart {
  /** Kernel name: sdb1. */
  readonly name: string;
  /** "major:minor", when sysfs states it. */
  readonly dev: string | undefined;
  readonly holders: readonly string[];
}

/** A whole block device, as sysfs describes it. */
export interface BlockTarget {
  readonly kind: 'block';
  /** As named on the command line (may be a /dev/disk/by-id link). */
  readonly path: string;
  /** Kernel name: sdb, mmcblk0, loop3. */
  readonly name: string;
  readonly dev: string;
  /** Bytes (sysfs size is in 512-byte sectors whatever the logical block size). */
  readonly size: number;
  readonly removable: boolean;
  readonly readOnly: boolean;
  readonly transport: Transport;
  readonly model: string | undefined;
  readonly vendor: string | undefined;
  readonly serial: string | undefined;
  readonly partitions: readonly BlockPart[];
  /** Holders of the disk itself (dm-0, md127). */
  readonly holders: readonly string[];
  /** Its folder in sysfs (real path). */
  readonly sysfsDir: string;
  /** The files under it: a loop device's, or those of the loop devices a dm or md device is built on. */
  readonly backing: readonly BackingFile[];
}

export interface BackingFile {
  /** As the kernel states it (loop/backing_file). */
  readonly file: string;
  /** "device:inode", when the file still exists. */
  readonly identity: string | undefined;
}

/** A regular file (--allow-file), existing or to be created. */
export interface FileTarget {
  readonly kind: 'file';
  readonly path: string;
  /** False when the file is to be created. */
  readonly exists: boolean;
  /** "device:inode" of an existing file, to catch the image itself. */
  readonly identity: string | undefined;
}

export type FlashTarget = BlockTarget | FileTarget;

/** "major:minor" of a Linux dev_t (glibc's gnu_dev_major/minor: 12 bits of major, 20 of minor, split). */
export function devString(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** The sysfs folder of a block device or partition by "major:minor"; undefined when sysfs has none. */
export function sysfsBlockDir(system: FlashSystem, dev: string): string | undefined {
  return real(join(system.sysfs, 'dev', 'block', dev));
}

/** The whole disk's sysfs folder for a device number (a partition's parent); undefined when unknown. */
export function wholeDiskDir(system: FlashSystem, dev: string): string | undefined {
  const dir = sysfsBlockDir(system, dev);
  if (dir === undefined) return undefined;
  return attr(join(dir, 'partition')) !== undefined ? dirname(dir) : dir;
}

/** The bus, from where the disk hangs in the device tree (lsblk's TRAN does the same walk). */
export function transportOf(sysfs: string, dir: string): Transport {
  const path = `/${relative(sysfs, dir).split(sep).join('/')}/`;
  if (path.startsWith('/devices/virtual/')) return 'virtual';
  if (/\/usb\d+\//.test(path)) return 'usb';
  if (/\/nvme\//.test(path)) return 'nvme';
  if (/\/ata\d+\//.test(path)) return 'sata';
  if (/\/mmc_host\//.test(path)) return 'mmc';
  if (/\/host\d+\//.test(path)) return 'scsi';
  if (/\/virtio\d+\//.test(path)) return 'virtio';
  return 'unknown';
}

/** The serial the way udev's ID_SERIAL_SHORT finds it: the disk's, its device's, the SCSI VPD page, the USB device's. */
function serialOf(sysfs: string, disk: string, device: string | undefined): string | undefined {
  const own = attr(join(disk, 'serial'));
  if (own !== undefined || device === undefined) return own;
  const direct = attr(join(device, 'serial'));
  if (direct !== undefined) return direct;
  try {
    // VPD page 0x80: a 4-byte header, then the serial.
    const vpd = readFileSync(join(device, 'vpd_pg80')).subarray(4).toString('latin1').trim();
    if (vpd !== '') return vpd;
  } catch {
    // no VPD page: not SCSI, or the device does not report one
  }
  for (let dir = dirname(device); dir.startsWith(join(sysfs, 'devices') + sep); dir = dirname(dir)) {
    if (attr(join(dir, 'idVendor')) !== undefined) return attr(join(dir, 'serial'));
  }
  return undefined;
}

/** Describes one whole block device from its sysfs folder. */
function blockTarget(system: FlashSystem, path: string, dev: string, dir: string): BlockTarget {
  const device = real(join(dir, 'device'));
  const partitions = entries(dir)
    .filter((n) => attr(join(dir, n, 'partition')) !== undefined)
    .map((n) => ({ name: n, dev: attr(join(dir, n, 'dev')), holders: entries(join(dir, n, 'holders')) }));
  return {
    kind: 'block',
    path,
    name: basename(dir),
    dev,
    size: Number(attr(join(dir, 'size')) ?? '0') * 512,
    removable: attr(join(dir, 'removable')) === '1',
    readOnly: attr(join(dir, 'ro')) === '1',
    transport: transportOf(system.sysfs, dir),
    model: device === undefined ? undefined : (attr(join(device, 'model')) ?? attr(join(device, 'name'))),
    vendor: device === undefined ? undefined : attr(join(device, 'vendor')),
    serial: serialOf(system.sysfs, dir, device),
    partitions,
    holders: entries(join(dir, 'holders')),
    sysfsDir: dir,
    backing: backingFiles(dir, new Set()).map((file) => ({ file, identity: identityOf(file) })),
  };
}

/**
 * The backing files of a loop device and, walking `slaves/` down, of every loop
 * device a device-mapper or md device is built on (a slave may be a partition of one).
 */
function backingFiles(dir: string, seen: Set<string>): string[] {
  if (seen.has(dir)) return [];
  seen.add(dir);
  const own = attr(join(dir, 'loop', 'backing_file'));
  const below = entries(join(dir, 'slaves')).flatMap((name) => {
    const slave = real(join(dir, 'slaves', name));
    if (slave === undefined) return [];
    return backingFiles(attr(join(slave, 'partition')) === undefined ? slave : dirname(slave), seen);
  });
  return own === undefined ? below : [own, ...below];
}

function identityOf(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined; // gone ("(deleted)"), or not reachable from here
  }
}

const notDevice = (path: string, why: string): BootforgeError =>
  new BootforgeError('BF_FLASH_NOT_DEVICE', `${path}: ${why}`);

/**
 * What `path` names: a whole block device (described from sysfs) or, with
 * `allowFile`, a regular file (possibly not there yet). Anything else is refused.
 */
export function inspectTarget(path: string, system: FlashSystem, allowFile: boolean): FlashTarget {
  let stats: Stats | undefined;
  try {
    stats = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw notDevice(path, (e as Error).message);
  }
  if (stats === undefined || stats.isFile()) {
    if (allowFile) {
      const identity = stats === undefined ? undefined : `${stats.dev}:${stats.ino}`;
      return { kind: 'file', path, exists: stats !== undefined, identity };
    }
    throw notDevice(
      path,
      stats === undefined
        ? 'no such device'
        : 'is a regular file, not a block device; pass --allow-file to write the image into a file',
    );
  }
  if (!stats.isBlockDevice()) throw notDevice(path, 'is neither a block device nor a regular file');
  const dev = devString(stats.rdev);
  const dir = sysfsBlockDir(system, dev);
  if (dir === undefined) {
    throw new BootforgeError(
      'BF_SYSFS',
      `${path}: sysfs at ${system.sysfs} has no entry dev/block/${dev}, so bootforge cannot check what it is`,
      { hint: 'is /sys mounted? (mount -t sysfs sysfs /sys)' },
    );
  }
  const partition = attr(join(dir, 'partition'));
  if (partition !== undefined) {
    const disk = basename(dirname(dir));
    throw notDevice(path, `is partition ${partition} of ${disk}; flash the whole disk (/dev/${disk})`);
  }
  return blockTarget(system, path, dev, dir);
}
