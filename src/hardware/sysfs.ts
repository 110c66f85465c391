/**
 * Reads what `bootforge hardware detect` needs from a sysfs tree: the live /sys or a
 * snapshot folder with the same layout (docs/hardware-sources.md says how to take one).
 *
 * Only what sysfs states is reported: the DMI strings, and for each disk, storage or USB
 * controller and keyboard the drivers bound along its device chain (`driver` links) and
 * the module each driver lives in (the driver's `module` link; a loaded module has
 * module/<name>/initstate, a built-in one has none).
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { readAttr as attr } from '../fsutil/attr.js';
import { DMI_FIELDS, type DmiInfo } from './match.js';

export type DmiField = (typeof DMI_FIELDS)[number];

/** The machine's serial number: per machine, so never part of a description. */
export type SerialReading =
  | { readonly status: 'readable'; readonly value: string }
  | { readonly status: 'unreadable' }
  | { readonly status: 'absent' };

export interface DmiReading {
  /** The DMI strings that the firmware sets (absent ones are left out). */
  readonly fields: Partial<Record<DmiField, string>>;
  readonly serial: SerialReading;
}

/**
 * Where a driver's code is: a loadable `module` (which the initrd must carry), `builtin`
 * (nothing to load), or `unknown` (a snapshot without the driver's bus/<bus>/drivers/ folder).
 */
export type DriverOrigin = 'module' | 'builtin' | 'unknown';

export interface DriverBinding {
  /** The device the driver is bound to: the name of its folder (0000:01:00.0, 2-1:1.0, serio0). */
  readonly device: string;
  /** That folder, relative to the sysfs root (devices/pci0000:00/...). */
  readonly path: string;
  /** The driver's name (basename of the `driver` link): xhci_hcd, usb-storage, sd. */
  readonly driver: string;
  /** The module's name (basename of the driver's `module` link): xhci_pci, usb_storage, sd_mod. */
  readonly module: string | null;
  readonly origin: DriverOrigin;
}

export type DeviceKind = 'disk' | 'storage-controller' | 'usb-controller' | 'keyboard';

export interface DeviceFinding {
  readonly kind: DeviceKind;
  /** The kernel's name: nvme0n1, 0000:00:14.0, input3. */
  readonly name: string;
  /** What it is, for people: "disk, removable", "xHCI USB controller", 'keyboard "AT Translated Set 2 keyboard"'. */
  readonly label: string;
  /** Its folder, relative to the sysfs root. */
  readonly path: string;
  /** The drivers bound along its device chain, from the device up to the root. */
  readonly drivers: readonly DriverBinding[];
}

export interface SysfsReading {
  /** The folder read (the sysfs root). */
  readonly root: string;
  readonly dmi: DmiReading;
  readonly devices: readonly DeviceFinding[];
  /** Firmware files named in the snapshot's firmware.list, if it has one. */
  readonly firmwareList: readonly string[] | null;
}

const SYSFS_HINT =
  'pass the sysfs root (/sys) or a snapshot folder with the same layout; docs/hardware-sources.md ("Taking a sysfs snapshot") shows how to take one';

/** The sysfs root to read: `dir`, or `dir/sys` for a snapshot taken with its leading sys/ folder. */
export function openSysfs(dir: string): string {
  const shown = displayFile(resolve(dir));
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new BootforgeError('BF_SYSFS', `cannot read sysfs at ${shown}: ${why}`, { cause, hint: SYSFS_HINT });
  }
  if (!isDir) throw new BootforgeError('BF_SYSFS', `cannot read sysfs at ${shown}: not a folder`, { hint: SYSFS_HINT });
  try {
    readdirSync(dir);
  } catch (cause) {
    throw new BootforgeError('BF_SYSFS', `cannot read sysfs at ${shown}: ${(cause as Error).message}`, {
      cause,
      hint: SYSFS_HINT,
    });
  }
  const looksLikeSysfs = (d: string) =>
    existsSync(join(d, 'class', 'dmi', 'id')) || existsSync(join(d, 'class', 'block'));
  if (looksLikeSysfs(dir)) return realpathSync(dir);
  if (looksLikeSysfs(join(dir, 'sys'))) return realpathSync(join(dir, 'sys'));
  throw new BootforgeError(
    'BF_SYSFS',
    `${shown} does not look like sysfs: it has neither class/dmi/id nor class/block`,
    {
      hint: SYSFS_HINT,
    },
  );
}

export function readDmi(root: string): DmiReading {
  const dir = join(root, 'class', 'dmi', 'id');
  const fields: Partial<Record<DmiField, string>> = {};
  for (const f of DMI_FIELDS) {
    const v = attr(join(dir, f));
    if (v !== undefined) fields[f] = v;
  }
  let serial: SerialReading;
  try {
    const v = readFileSync(join(dir, 'product_serial'), 'utf8').trim();
    serial = v === '' ? { status: 'absent' } : { status: 'readable', value: v };
  } catch (e) {
    // The kernel makes product_serial readable by root only (0400).
    serial = (e as NodeJS.ErrnoException).code === 'ENOENT' ? { status: 'absent' } : { status: 'unreadable' };
  }
  return { fields, serial };
}

/** DMI strings in the matcher's shape. */
export function dmiInfo(dmi: DmiReading): DmiInfo {
  return { ...dmi.fields };
}

function readlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The driver bound to one device folder, if any. */
function bindingAt(root: string, dir: string): DriverBinding | undefined {
  const link = readlink(join(dir, 'driver'));
  if (link === undefined) return undefined;
  const driver = basename(link);
  const driverDir = resolve(dir, link);
  let module: string | null = null;
  let origin: DriverOrigin;
  if (!existsSync(driverDir)) {
    origin = 'unknown';
  } else {
    const moduleLink = readlink(join(driverDir, 'module'));
    if (moduleLink === undefined) {
      origin = 'builtin';
    } else {
      module = basename(moduleLink);
      // A built-in driver can have a module link too (module/<name> without initstate). A
      // snapshot without module/ cannot tell: count the driver as a module, the safe side.
      const modules = join(root, 'module');
      origin = !existsSync(modules) || existsSync(join(modules, module, 'initstate')) ? 'module' : 'builtin';
    }
  }
  return { device: basename(dir), path: relative(root, dir), driver, module, origin };
}

/** Drivers bound from `start` up to the devices/ folder. */
function chain(root: string, start: string): DriverBinding[] {
  const top = join(root, 'devices');
  const out: DriverBinding[] = [];
  for (let dir = start; dir.startsWith(top + sep); dir = dirname(dir)) {
    const b = bindingAt(root, dir);
    if (b) out.push(b);
  }
  return out;
}

/** The real folder behind a class/bus link, if it lies inside the sysfs root. */
function realDir(root: string, link: string): string | undefined {
  try {
    const real = realpathSync(link);
    return real.startsWith(root + sep) ? real : undefined;
  } catch {
    return undefined;
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return [];
  }
}

function disks(root: string): DeviceFinding[] {
  const out: DeviceFinding[] = [];
  for (const name of entries(join(root, 'class', 'block'))) {
    const dir = realDir(root, join(root, 'class', 'block', name));
    // Partitions are covered by their disk; loop, dm, md and zram devices live under devices/virtual.
    if (dir === undefined || existsSync(join(dir, 'partition'))) continue;
    if (relative(root, dir).startsWith(`devices${sep}virtual${sep}`)) continue;
    const removable = attr(join(dir, 'removable')) === '1';
    out.push({
      kind: 'disk',
      name,
      label: removable ? 'disk, removable' : 'disk',
      path: relative(root, dir),
      drivers: chain(root, dir),
    });
  }
  return out;
}

// PCI class codes (base class, subclass, programming interface) of the PCI ID repository.
const STORAGE_CLASSES: Record<string, string> = {
  '0100': 'SCSI storage controller',
  '0101': 'IDE controller',
  '0104': 'RAID controller',
  '0105': 'ATA controller',
  '010601': 'AHCI SATA controller',
  '0106': 'SATA controller',
  '0107': 'SAS controller',
  '010802': 'NVMe controller',
  '0108': 'non-volatile memory controller',
  '0180': 'mass storage controller',
  '0805': 'SD host controller',
};
const USB_CLASSES: Record<string, string> = {
  '0c0300': 'UHCI USB controller',
  '0c0310': 'OHCI USB controller',
  '0c0320': 'EHCI USB controller',
  '0c0330': 'xHCI USB controller',
  '0c0340': 'USB4 host interface',
};

function pciClass(hex: string): { kind: DeviceKind; label: string } | undefined {
  const c = hex.replace(/^0x/, '').toLowerCase().padStart(6, '0');
  if (USB_CLASSES[c] !== undefined) return { kind: 'usb-controller', label: USB_CLASSES[c] };
  if (c.startsWith('0c03')) return { kind: 'usb-controller', label: 'USB controller' };
  const storage = STORAGE_CLASSES[c] ?? STORAGE_CLASSES[c.slice(0, 4)];
  if (storage !== undefined) return { kind: 'storage-controller', label: storage };
  if (c.startsWith('01')) return { kind: 'storage-controller', label: 'mass storage controller' };
  return undefined;
}

function controllers(root: string): DeviceFinding[] {
  const out: DeviceFinding[] = [];
  for (const name of entries(join(root, 'bus', 'pci', 'devices'))) {
    const dir = realDir(root, join(root, 'bus', 'pci', 'devices', name));
    const cls = dir === undefined ? undefined : attr(join(dir, 'class'));
    const what = cls === undefined ? undefined : pciClass(cls);
    if (dir === undefined || what === undefined) continue;
    const own = bindingAt(root, dir);
    out.push({ ...what, name, path: relative(root, dir), drivers: own ? [own] : [] });
  }
  // Storage first, then USB; each in bus order.
  return [...out.filter((d) => d.kind === 'storage-controller'), ...out.filter((d) => d.kind === 'usb-controller')];
}

/**
 * udev's rule for ID_INPUT_KEY/ID_INPUT_KEYBOARD (src/udev/udev-builtin-input_id.c): a keyboard
 * has every key of the first 32 codes except KEY_RESERVED (Esc, digits, the first letters).
 */
export function isKeyboard(keyBitmap: string): boolean {
  const words = keyBitmap.trim().split(/\s+/);
  const lowest = words[words.length - 1] ?? '';
  if (!/^[0-9a-f]+$/i.test(lowest)) return false;
  const low32 = Number.parseInt(lowest.slice(-8), 16);
  return (low32 & 0xfffffffe) >>> 0 === 0xfffffffe;
}

function keyboards(root: string): DeviceFinding[] {
  const out: DeviceFinding[] = [];
  for (const name of entries(join(root, 'class', 'input')).filter((n) => /^input\d+$/.test(n))) {
    const dir = realDir(root, join(root, 'class', 'input', name));
    if (dir === undefined || !isKeyboard(attr(join(dir, 'capabilities', 'key')) ?? '')) continue;
    const title = attr(join(dir, 'name'));
    out.push({
      kind: 'keyboard',
      name,
      label: title === undefined ? 'keyboard' : `keyboard ${JSON.stringify(title)}`,
      path: relative(root, dir),
      drivers: chain(root, dir),
    });
  }
  return out;
}

/** firmware.list of a snapshot: one file name under /lib/firmware a line; # starts a comment. */
function firmwareList(folders: readonly string[]): string[] | null {
  for (const file of [...new Set(folders)].map((f) => join(f, 'firmware.list'))) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const names = text
      .split('\n')
      .map((l) =>
        l
          .replace(/#.*/, '')
          .trim()
          .replace(/^\/(usr\/)?lib\/firmware\//, ''),
      )
      .filter((l) => l !== '');
    return [...new Set(names)];
  }
  return null;
}

/** Everything detect needs from one sysfs tree (see openSysfs for `dir`). */
export function readSysfs(dir: string): SysfsReading {
  const root = openSysfs(dir);
  return {
    root,
    dmi: readDmi(root),
    devices: [...disks(root), ...controllers(root), ...keyboards(root)],
    // Beside the snapshot's sys/ folder, or in it.
    firmwareList: firmwareList([resolve(dir), root]),
  };
}
