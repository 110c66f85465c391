/**
 * A fake machine for the installer's shell libraries: a sysfs tree shaped like the
 * kernel's (block/<name> as symlinks into devices/), a /dev of sparse image files
 * and a /proc with mounts and swaps. The libraries read them through BF_SYSFS,
 * BF_DEVDIR and BF_PROC. Image files are real: host tools (sfdisk, mkfs) can write
 * partition tables and filesystems into them, and wipefs, blkid and sfdisk read them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';

/** Where a disk hangs in the device tree, which decides its transport. */
export type FakeBus = 'virtio' | 'nvme' | 'sata' | 'usb' | 'scsi' | 'mmc' | 'virtual';

export interface FakeDisk {
  /** The kernel's name: vda, nvme0n1, sda, mmcblk0, loop0... */
  readonly name: string;
  readonly bus: FakeBus;
  /** Bytes; sysfs `size` holds it in 512-byte sectors. */
  readonly size: number;
  readonly removable?: boolean;
  readonly ro?: boolean;
  /** virtio: NAME/serial; nvme, mmc: the controller's/card's serial; sata, scsi, usb: device/serial. */
  readonly serial?: string;
  /** sata, scsi, usb: device/vpd_pg80, written with its 4-byte header. */
  readonly vpdSerial?: string;
  /** usb: the serial (iSerial) of the USB device above the disk. */
  readonly usbSerial?: string;
  /** device/model (padded like the kernel: 16 characters for SCSI, 40 for NVMe); mmc: device/name. */
  readonly model?: string;
  /** sata, scsi, usb: device/vendor, padded to 8 characters. */
  readonly vendor?: string;
  /** nvme: NAME/wwid; others: device/wwid. */
  readonly wwid?: string;
  /** nvme: NAME/nsid. */
  readonly nsid?: number;
  /** Names of partitions in sysfs (NAME/<part>/partition). */
  readonly partitions?: readonly string[];
  /** Entries of NAME/holders/. */
  readonly holders?: readonly string[];
  /** A sparse image file in the fake /dev, `size` bytes (default); false for none (a huge disk). */
  readonly image?: boolean;
}

export interface FakeMachine {
  readonly root: string;
  readonly sysfs: string;
  readonly devdir: string;
  readonly proc: string;
  /** The environment that points the libraries at this machine. */
  readonly env: Readonly<Record<string, string>>;
  /** The image file of a disk or partition in the fake /dev. */
  dev(name: string): string;
}

export interface FakeMachineOptions {
  /** Lines of /proc/mounts. */
  readonly mounts?: readonly string[];
  /** Lines of /proc/swaps (after its header). */
  readonly swaps?: readonly string[];
}

function write(file: string, content: string | Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function link(target: string, at: string): void {
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(relative(dirname(at), target), at);
}

/** A line of a sysfs attribute; `pad` right-pads like the fixed-width fields of SCSI and NVMe. */
function attr(value: string, pad = 0): string {
  return `${value.padEnd(pad)}\n`;
}

/** The folder of the disk's own device (its `device` link) and of the disk, under devices/. */
function place(d: FakeDisk, i: number): { device: string | null; disk: string } {
  const pci = `pci0000:00/0000:00:${(i + 2).toString(16).padStart(2, '0')}.0`;
  switch (d.bus) {
    case 'virtio': {
      const device = `${pci}/virtio${i}`;
      return { device, disk: `${device}/block/${d.name}` };
    }
    case 'nvme': {
      const ctrl = /^(nvme\d+)/.exec(d.name)?.[1] ?? 'nvme0';
      const device = `${pci}/nvme/${ctrl}`;
      return { device, disk: `${device}/${d.name}` };
    }
    case 'sata': {
      const device = `pci0000:00/0000:00:1f.2/ata${i}/host${i}/target${i}:0:0/${i}:0:0:0`;
      return { device, disk: `${device}/block/${d.name}` };
    }
    case 'usb': {
      const device = `pci0000:00/0000:00:14.0/usb1/1-${i}/1-${i}:1.0/host${i}/target${i}:0:0/${i}:0:0:0`;
      return { device, disk: `${device}/block/${d.name}` };
    }
    case 'scsi': {
      const device = `${pci}/virtio${i}/host${i}/target${i}:0:0/${i}:0:0:0`;
      return { device, disk: `${device}/block/${d.name}` };
    }
    case 'mmc': {
      const device = `platform/soc/fe340000.mmc/mmc_host/mmc${i}/mmc${i}:0001`;
      return { device, disk: `${device}/block/${d.name}` };
    }
    case 'virtual':
      return { device: null, disk: `virtual/block/${d.name}` };
  }
}

/** Builds the fake machine under `root` (which must not exist yet or be empty). */
export function fakeMachine(root: string, disks: readonly FakeDisk[], options: FakeMachineOptions = {}): FakeMachine {
  const sysfs = join(root, 'sys');
  const devdir = join(root, 'dev');
  const proc = join(root, 'proc');
  mkdirSync(join(sysfs, 'block'), { recursive: true });
  mkdirSync(devdir, { recursive: true });
  mkdirSync(proc, { recursive: true });

  disks.forEach((d, index) => {
    const i = index + 1;
    const where = place(d, i);
    const disk = join(sysfs, 'devices', where.disk);
    const sectors = Math.floor(d.size / 512);
    write(join(disk, 'size'), attr(String(sectors)));
    write(join(disk, 'removable'), attr(d.removable ? '1' : '0'));
    write(join(disk, 'ro'), attr(d.ro ? '1' : '0'));
    mkdirSync(join(disk, 'holders'), { recursive: true });
    for (const h of d.holders ?? []) write(join(disk, 'holders', h), '');
    link(disk, join(sysfs, 'block', d.name));
    if (where.device !== null) {
      const device = join(sysfs, 'devices', where.device);
      mkdirSync(device, { recursive: true });
      link(device, join(disk, 'device'));
      switch (d.bus) {
        case 'virtio':
          write(join(device, 'vendor'), attr('0x1af4'));
          write(join(device, 'device'), attr('0x0002'));
          if (d.serial !== undefined) write(join(disk, 'serial'), attr(d.serial));
          break;
        case 'nvme':
          write(join(device, 'model'), attr(d.model ?? '', 40));
          write(join(device, 'serial'), attr(d.serial ?? '', 20));
          write(join(device, 'firmware_rev'), attr('1B2QGXA7', 8));
          if (d.wwid !== undefined) write(join(disk, 'wwid'), attr(d.wwid));
          if (d.nsid !== undefined) write(join(disk, 'nsid'), attr(String(d.nsid)));
          break;
        case 'mmc':
          if (d.model !== undefined) write(join(device, 'name'), attr(d.model));
          if (d.serial !== undefined) write(join(device, 'serial'), attr(d.serial));
          write(join(device, 'type'), attr('SD'));
          break;
        default:
          if (d.vendor !== undefined) write(join(device, 'vendor'), attr(d.vendor, 8));
          if (d.model !== undefined) write(join(device, 'model'), attr(d.model, 16));
          if (d.serial !== undefined) write(join(device, 'serial'), attr(d.serial));
          if (d.wwid !== undefined) write(join(device, 'wwid'), attr(d.wwid));
          if (d.vpdSerial !== undefined) {
            const serial = Buffer.from(d.vpdSerial);
            write(join(device, 'vpd_pg80'), Buffer.concat([Buffer.from([0, 0x80, 0, serial.length]), serial]));
          }
          if (d.bus === 'usb') {
            const usb = join(device, '..', '..', '..', '..');
            write(join(usb, 'idVendor'), attr('0781'));
            write(join(usb, 'idProduct'), attr('5567'));
            if (d.usbSerial !== undefined) write(join(usb, 'serial'), attr(d.usbSerial));
          }
      }
    }
    (d.partitions ?? []).forEach((p, n) => {
      write(join(disk, p, 'partition'), attr(String(n + 1)));
      write(join(disk, p, 'size'), attr('2048'));
      mkdirSync(join(disk, p, 'holders'), { recursive: true });
    });
    if (d.image !== false) {
      const file = join(devdir, d.name);
      writeFileSync(file, '');
      truncateSync(file, d.size);
    }
  });

  write(join(proc, 'mounts'), (options.mounts ?? []).map((l) => `${l}\n`).join(''));
  write(
    join(proc, 'swaps'),
    ['Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority', ...(options.swaps ?? [])].map((l) => `${l}\n`).join(''),
  );
  return {
    root,
    sysfs,
    devdir,
    proc,
    env: { BF_SYSFS: sysfs, BF_DEVDIR: devdir, BF_PROC: proc },
    dev: (name) => join(devdir, name),
  };
}

/** A host program by name, on PATH or in the sbin folders (where mkfs and sfdisk live); null if none. */
export function hostTool(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/**
 * A folder to use as the only PATH, like an initrd's: every applet of `busybox` as a
 * symlink to it, then the util-linux tools in `tools` (default sfdisk, wipefs, blkid)
 * from the host over them. Leave a tool out to test the library without it.
 */
export function initrdPath(
  dir: string,
  busybox: string,
  tools: readonly string[] = ['sfdisk', 'wipefs', 'blkid'],
): string {
  mkdirSync(dir, { recursive: true });
  const list = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
  for (const applet of list.stdout.split('\n')) {
    if (applet === '' || applet.includes('/')) continue;
    symlinkSync(busybox, join(dir, applet));
  }
  for (const tool of tools) {
    const host = hostTool(tool);
    if (host === null) throw new Error(`${tool} is not installed on this host`);
    const at = join(dir, tool);
    rmSync(at, { force: true });
    symlinkSync(host, at);
  }
  return dir;
}

export interface GptPartition {
  /** sfdisk size, e.g. "8M"; the last partition may leave it out to take the rest. */
  readonly size?: string;
  /** sfdisk type: a GUID or an alias (U for an ESP, L for Linux). */
  readonly type?: string;
  readonly uuid?: string;
  readonly name?: string;
}

function runHost(tool: string, args: readonly string[], input?: string): void {
  const path = hostTool(tool);
  if (path === null) throw new Error(`${tool} is not installed on this host`);
  const r = spawnSync(path, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr}`);
}

/** Writes a GPT into an image file with the host's sfdisk. */
export function writeGpt(file: string, partitions: readonly GptPartition[]): void {
  const lines = partitions.map((p) =>
    [
      p.size !== undefined ? `size=${p.size}` : '',
      `type=${p.type ?? 'L'}`,
      p.uuid !== undefined ? `uuid=${p.uuid}` : '',
      p.name !== undefined ? `name=${JSON.stringify(p.name)}` : '',
    ]
      .filter((f) => f !== '')
      .join(', '),
  );
  runHost('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', file], ['label: gpt', ...lines, ''].join('\n'));
}

/** Makes a filesystem on an image file with the host's mkfs.ext4 or mkfs.fat. */
export function makeFilesystem(file: string, type: 'ext4' | 'vfat'): void {
  if (type === 'ext4') runHost('mkfs.ext4', ['-F', '-q', file]);
  else runHost('mkfs.fat', [file]);
}
