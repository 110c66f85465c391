/**
 * The installer's disk library (initrd/lib-disks.sh.hbs), run under busybox sh against
 * fake machines: a sysfs tree shaped like the kernel's and a /dev of image files that
 * the host's sfdisk and mkfs really wrote, read by the real sfdisk, wipefs and blkid.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../../src/exec/run.js';
import { renderTemplate } from '../../../src/templates/render.js';
import {
  type FakeDisk,
  type FakeMachine,
  type FakeMachineOptions,
  fakeMachine,
  hostTool,
  initrdPath,
  makeFilesystem,
  writeGpt,
} from '../../helpers/fake-sysfs.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-disks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const busyboxName = toolPath('busybox');
const BUSYBOX = busyboxName.includes('/') ? busyboxName : hostTool(busyboxName);
const TOOLS = ['sfdisk', 'wipefs', 'blkid', 'mkfs.ext4', 'mkfs.fat'];
const missing = [
  ...(BUSYBOX !== null && spawnSync(BUSYBOX, ['sh', '-c', 'true']).status === 0 ? [] : ['busybox']),
  ...TOOLS.filter((t) => hostTool(t) === null),
];
const HAVE = missing.length === 0;

let lib: string | undefined;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let counter = 0;
let fullPath: string | undefined;
let noWipefsPath: string | undefined;

/** PATH folders like an initrd's: busybox applets and util-linux tools, with or without wipefs. */
function pathFor(wipefs: boolean): string {
  if (BUSYBOX === null) throw new Error('no busybox');
  if (wipefs) return (fullPath ??= initrdPath(join(work, 'bin'), BUSYBOX));
  return (noWipefsPath ??= initrdPath(join(work, 'bin-no-wipefs'), BUSYBOX, ['sfdisk', 'blkid']));
}

function machine(disks: readonly FakeDisk[], options?: FakeMachineOptions): FakeMachine {
  return fakeMachine(join(work, `m${++counter}`), disks, options);
}

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Sources the library, then runs `script`, under busybox sh with only the initrd's PATH. */
function run(m: FakeMachine, script: string, env: Record<string, string> = {}, wipefs = true): Ran {
  const file = join(work, `script${++counter}.sh`);
  lib ??= renderTemplate('initrd/lib-disks.sh.hbs', {});
  writeFileSync(file, `${lib}\n${script}\n`);
  const r = spawnSync(BUSYBOX ?? 'busybox', ['sh', file], {
    env: { PATH: pathFor(wipefs), LC_ALL: 'C', ...m.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs one function with arguments passed through the environment (never as script text). */
function call(m: FakeMachine, fn: string, args: readonly string[], wipefs = true): Ran {
  const env = Object.fromEntries(args.map((a, i) => [`BF_TEST_ARG${i}`, a]));
  const words = args.map((_, i) => `"$BF_TEST_ARG${i}"`).join(' ');
  return run(m, `${fn} ${words}\necho "rc=$?"`, env, wipefs);
}

function out(m: FakeMachine, fn: string, ...args: string[]): string {
  const r = call(m, fn, args);
  expect(r.stderr).toBe('');
  return r.stdout.replace(/rc=\d+\n$/, '');
}

interface Picked {
  readonly status: number;
  readonly target: string;
  readonly error: string;
}

/** bf_pick_target with the BF_T_ variables in `rule` and `exclude` as the installer medium. */
function pick(m: FakeMachine, rule: Record<string, string>, exclude = ''): Picked {
  const script = [
    'bf_pick_target "$BF_TEST_EXCLUDE"',
    'bf_rc=$?',
    'printf "%s\\n%s\\n%s" "$bf_rc" "$BF_TARGET" "$BF_PICK_ERROR"',
  ].join('\n');
  const r = run(m, script, { ...rule, BF_TEST_EXCLUDE: exclude });
  expect(r.stderr).toBe('');
  const [status = '', target = '', ...error] = r.stdout.split('\n');
  return { status: Number(status), target, error: error.join('\n') };
}

// ---------------------------------------------------------------------------

const EXCLUDED: readonly FakeDisk[] = [
  'loop0',
  'ram0',
  'zram0',
  'sr0',
  'fd0',
  'dm-0',
  'md127',
  'nbd0',
  'mtdblock0',
].map((name) => ({ name, bus: 'virtual', size: GiB, image: false }));

/** One disk of each kind, with the attributes where the kernel keeps them. */
const FLEET: readonly FakeDisk[] = [
  { name: 'vda', bus: 'virtio', size: 8 * GiB, serial: 'bootforge-target', image: false },
  { name: 'vdb', bus: 'virtio', size: 4 * GiB, removable: true, ro: true, image: false },
  {
    name: 'nvme0n1',
    bus: 'nvme',
    size: 1_000_204_886_016,
    model: 'Samsung SSD 980 PRO 1TB',
    serial: 'S5GXNF0R123456A',
    wwid: 'eui.002538b11101a2b3',
    nsid: 1,
    partitions: ['nvme0n1p1', 'nvme0n1p2'],
    image: false,
  },
  {
    name: 'sda',
    bus: 'sata',
    size: 500_107_862_016,
    vendor: 'ATA',
    model: 'Samsung SSD 860',
    vpdSerial: '      S3Z1NB0K123456X',
    wwid: 'naa.5002538e40a1b2c3',
    image: false,
  },
  {
    name: 'sdb',
    bus: 'usb',
    size: 15_633_219_584,
    vendor: 'SanDisk',
    model: 'Cruzer Blade',
    usbSerial: '4C530001230101117383',
    image: false,
  },
  {
    name: 'sdc',
    bus: 'scsi',
    size: 2 * GiB,
    vendor: 'QEMU',
    model: 'QEMU HARDDISK',
    vpdSerial: 'drive-scsi0',
    image: false,
  },
  {
    name: 'sdd',
    bus: 'sata',
    size: GiB,
    vendor: 'ATA',
    model: 'QEMU HARDDISK',
    serial: 'QM00005',
    wwid: 't10.ATA     QEMU HARDDISK                           QM00005',
    image: false,
  },
  { name: 'mmcblk0', bus: 'mmc', size: 31_914_983_424, model: 'SD32G', serial: '0x1234abcd', image: false },
  { name: 'mmcblk0boot0', bus: 'mmc', size: 4 * MiB, ro: true, image: false },
  { name: 'vdz', bus: 'virtio', size: 0, image: false },
  ...EXCLUDED,
];

describe.skipIf(!HAVE)(`the disk library under busybox sh${HAVE ? '' : ` (missing: ${missing.join(', ')})`}`, () => {
  describe('bf_disk_list and bf_disk_prop', () => {
    const m = machine(FLEET);

    it('lists whole disks, sorted, without virtual devices, eMMC boot partitions and empty drives', () => {
      expect(out(m, 'bf_disk_list')).toBe(
        ['mmcblk0', 'nvme0n1', 'sda', 'sdb', 'sdc', 'sdd', 'vda', 'vdb', ''].join('\n'),
      );
    });

    it('lists nothing on a machine without disks', () => {
      expect(out(machine([]), 'bf_disk_list')).toBe('');
    });

    const KEYS = ['size', 'model', 'vendor', 'serial', 'wwn', 'transport', 'removable', 'ro', 'byid', 'partitions'];
    const expected: Record<string, Record<string, string>> = {
      vda: {
        size: String(8 * GiB),
        model: '',
        vendor: '',
        serial: 'bootforge-target',
        wwn: '',
        transport: 'virtio',
        removable: 'no',
        ro: 'no',
        byid: 'virtio-bootforge-target',
        partitions: '',
      },
      vdb: { removable: 'yes', ro: 'yes', byid: '', serial: '', vendor: '' },
      nvme0n1: {
        size: '1000204886016',
        model: 'Samsung SSD 980 PRO 1TB',
        vendor: '',
        serial: 'S5GXNF0R123456A',
        wwn: 'eui.002538b11101a2b3',
        transport: 'nvme',
        removable: 'no',
        ro: 'no',
        byid: [
          'nvme-Samsung_SSD_980_PRO_1TB_S5GXNF0R123456A',
          'nvme-Samsung_SSD_980_PRO_1TB_S5GXNF0R123456A_1',
          'nvme-eui.002538b11101a2b3',
        ].join(' '),
        partitions: 'nvme0n1p1 nvme0n1p2',
      },
      sda: {
        size: '500107862016',
        model: 'Samsung SSD 860',
        vendor: 'ATA',
        serial: 'S3Z1NB0K123456X',
        wwn: '0x5002538e40a1b2c3',
        transport: 'sata',
        removable: 'no',
        ro: 'no',
        byid: 'ata-Samsung_SSD_860_S3Z1NB0K123456X wwn-0x5002538e40a1b2c3',
        partitions: '',
      },
      sdb: {
        size: '15633219584',
        model: 'Cruzer Blade',
        vendor: 'SanDisk',
        serial: '4C530001230101117383',
        wwn: '',
        transport: 'usb',
        removable: 'yes',
        ro: 'no',
        byid: 'usb-SanDisk_Cruzer_Blade_4C530001230101117383-0:0',
      },
      sdc: {
        model: 'QEMU HARDDISK',
        vendor: 'QEMU',
        serial: 'drive-scsi0',
        wwn: '',
        transport: 'scsi',
        removable: 'no',
        byid: 'scsi-SQEMU_QEMU_HARDDISK_drive-scsi0',
      },
      sdd: { serial: 'QM00005', wwn: '', transport: 'sata', byid: 'ata-QEMU_HARDDISK_QM00005' },
      mmcblk0: {
        model: 'SD32G',
        vendor: '',
        serial: '0x1234abcd',
        transport: 'mmc',
        removable: 'yes',
        byid: 'mmc-SD32G_0x1234abcd',
      },
    };

    it.for(Object.keys(expected))('%s: every property', (name) => {
      const props = expected[name] ?? {};
      const keys = KEYS.filter((k) => k in props);
      const script = keys.map((k) => `printf '%s=[%s]\\n' ${k} "$(bf_disk_prop ${name} ${k})"`).join('\n');
      const r = run(m, script);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(keys.map((k) => `${k}=[${props[k]}]\n`).join(''));
    });

    it('fails for a disk that does not exist (1) and for an unknown property (2)', () => {
      expect(call(m, 'bf_disk_prop', ['nosuch', 'size']).stdout).toBe('rc=1\n');
      const r = call(m, 'bf_disk_prop', ['vda', 'colour']);
      expect(r.stdout).toBe('rc=2\n');
      expect(r.stderr).toBe('bf_disk_prop: unknown property colour\n');
    });
  });

  describe('bf_disk_describe', () => {
    const m = machine([
      ...FLEET.filter((d) => ['vda', 'nvme0n1', 'sdb', 'sdc'].includes(d.name)),
      {
        name: 'sde',
        bus: 'sata',
        size: 16 * 1024 ** 4,
        vendor: 'ATA',
        model: 'ST16000NM001G-2K',
        vpdSerial: 'ZL2ABCDE',
        image: false,
      },
      { name: 'sdf', bus: 'sata', size: 20e12, vendor: 'ATA', model: 'WDC WD201KFGX-68', image: false },
      { name: 'vdc', bus: 'virtio', size: 300 * MiB, image: false },
    ]);

    it.for([
      ['vda', 'vda (serial bootforge-target, 8.0 GiB, virtio)'],
      ['nvme0n1', 'nvme0n1 (Samsung SSD 980 PRO 1TB, serial S5GXNF0R123456A, 931.5 GiB, nvme)'],
      ['sdb', 'sdb (SanDisk Cruzer Blade, serial 4C530001230101117383, 14.6 GiB, usb)'],
      ['sdc', 'sdc (QEMU QEMU HARDDISK, serial drive-scsi0, 2.0 GiB, scsi)'],
      ['sde', 'sde (ST16000NM001G-2K, serial ZL2ABCDE, 16384.0 GiB, sata)'],
      ['sdf', 'sdf (WDC WD201KFGX-68, 18626.5 GiB, sata)'],
      ['vdc', 'vdc (0.3 GiB, virtio)'],
    ])('%s', ([name, line]) => {
      expect(out(m, 'bf_disk_describe', name ?? '')).toBe(`${line}\n`);
    });
  });

  describe('bf_partition_by_uuid', () => {
    const ESP = '0A6F1C2B-1D3E-4F50-8A6B-7C8D9EAFB0C1';
    const ROOT = '1B7F2D3C-2E4F-4061-9B7C-8D9EAFB0C1D2';
    const IN_NAME = '2C8F3E4D-3F50-4172-AC8D-9EAFB0C1D2E3';
    const NVME = '3D9F4F5E-4061-4283-BD9E-AFB0C1D2E3F4';
    const ON_LOOP = '4EAF5F6F-5172-4394-CEAF-B0C1D2E3F405';
    const disks: FakeDisk[] = [
      { name: 'vda', bus: 'virtio', size: 64 * MiB, partitions: ['vda1', 'vda2'] },
      { name: 'vdb', bus: 'virtio', size: 16 * MiB },
      { name: 'nvme0n1', bus: 'nvme', size: 32 * MiB, model: 'QEMU NVMe Ctrl', serial: 'deadbeef' },
      { name: 'loop0', bus: 'virtual', size: 16 * MiB },
    ];
    const m = machine(disks);
    beforeAll(() => {
      writeGpt(m.dev('vda'), [
        { size: '8M', type: 'U', uuid: ESP, name: 'EFI' },
        { type: 'L', uuid: ROOT, name: `root, uuid=${IN_NAME}` },
      ]);
      writeGpt(m.dev('nvme0n1'), [{ type: 'L', uuid: NVME }]);
      writeGpt(m.dev('loop0'), [{ type: 'L', uuid: ON_LOOP }]);
    });

    it('finds a partition by its GUID in any case, named as sfdisk names it', () => {
      expect(call(m, 'bf_partition_by_uuid', [ESP.toLowerCase()]).stdout).toBe(`vda ${m.dev('vda1')}\nrc=0\n`);
      expect(call(m, 'bf_partition_by_uuid', [ROOT]).stdout).toBe(`vda ${m.dev('vda2')}\nrc=0\n`);
      expect(call(m, 'bf_partition_by_uuid', [NVME]).stdout).toBe(`nvme0n1 ${m.dev('nvme0n1p1')}\nrc=0\n`);
    });

    it('returns 1 for a GUID no partition has: not one in a name, not one on an excluded device', () => {
      for (const guid of [IN_NAME, ON_LOOP, '00000000-0000-0000-0000-000000000000', ''])
        expect(call(m, 'bf_partition_by_uuid', [guid])).toEqual({ status: 0, stdout: 'rc=1\n', stderr: '' });
    });

    it('returns 2 and prints each one when several partitions have the GUID (a cloned disk)', () => {
      const clone = machine([disks[0] as FakeDisk, { name: 'vdc', bus: 'virtio', size: 64 * MiB }]);
      copyFileSync(m.dev('vda'), clone.dev('vda'));
      copyFileSync(m.dev('vda'), clone.dev('vdc'));
      expect(call(clone, 'bf_partition_by_uuid', [ESP]).stdout).toBe(
        `vda ${clone.dev('vda1')}\nvdc ${clone.dev('vdc1')}\nrc=2\n`,
      );
    });
  });

  describe('bf_disk_contents', () => {
    const m = machine([
      { name: 'vda', bus: 'virtio', size: 64 * MiB, partitions: ['vda1', 'vda2'] },
      { name: 'vdb', bus: 'virtio', size: 64 * MiB },
      { name: 'vdc', bus: 'virtio', size: 64 * MiB },
      { name: 'vdd', bus: 'virtio', size: 64 * MiB },
    ]);
    beforeAll(() => {
      writeGpt(m.dev('vda'), [{ size: '16M', type: 'U' }, { type: 'L' }]);
      // The partitions' own device files, for blkid: a FAT filesystem and a blank one.
      writeFileSync(m.dev('vda1'), '');
      truncateSync(m.dev('vda1'), 16 * MiB);
      makeFilesystem(m.dev('vda1'), 'vfat');
      writeFileSync(m.dev('vda2'), Buffer.alloc(MiB));
      makeFilesystem(m.dev('vdc'), 'ext4');
      // vdd: one byte that is not zero, in its last MiB.
      const fd = openSync(m.dev('vdd'), 'r+');
      writeSync(fd, Buffer.from('x'), 0, 1, 64 * MiB - 100);
      closeSync(fd);
    });

    it('lists partitions with their filesystems and the signatures wipefs finds', () => {
      expect(out(m, 'bf_disk_contents', 'vda')).toBe(
        [
          'partition vda1 (vfat)',
          'partition vda2',
          'signature gpt at 0x200',
          `signature gpt at 0x${(64 * MiB - 512).toString(16)}`,
          'signature PMBR at 0x1fe',
          '',
        ].join('\n'),
      );
      expect(call(m, 'bf_disk_contents', ['vda']).stdout).toMatch(/rc=0\n$/);
    });

    it('prints nothing for a blank disk, and the signature of a filesystem on a bare disk', () => {
      expect(out(m, 'bf_disk_contents', 'vdb')).toBe('');
      expect(out(m, 'bf_disk_contents', 'vdc')).toBe('signature ext4 at 0x438\n');
    });

    it('without wipefs, reports data in the first or the last MiB', () => {
      const without = (name: string) => call(m, 'bf_disk_contents', [name], false);
      expect(without('vda')).toEqual({
        status: 0,
        stdout: [
          'partition vda1 (vfat)',
          'partition vda2',
          'unknown data in the first MiB',
          'unknown data in the last MiB',
          'rc=0',
          '',
        ].join('\n'),
        stderr: '',
      });
      expect(without('vdb').stdout).toBe('rc=0\n');
      expect(without('vdc').stdout).toMatch(/^unknown data in the first MiB\n/);
      expect(without('vdd').stdout).toBe('unknown data in the last MiB\nrc=0\n');
    });
  });

  describe('bf_disk_busy', () => {
    const m = machine(
      [
        { name: 'vda', bus: 'virtio', size: GiB, partitions: ['vda1', 'vda2'], image: false },
        { name: 'vdb', bus: 'virtio', size: GiB, partitions: ['vdb1'], image: false },
        { name: 'vdc', bus: 'virtio', size: GiB, holders: ['dm-0'], image: false },
        { name: 'vdd', bus: 'virtio', size: GiB, partitions: ['vdd1'], image: false },
      ],
      {
        mounts: ['/dev/vda1 /boot\\040efi vfat rw 0 0', 'proc /proc proc rw 0 0'],
        swaps: ['/dev/vdb1                               partition\t1048572\t\t0\t\t-2'],
      },
    );

    it('says why a disk is in use', () => {
      expect(call(m, 'bf_disk_busy', ['vda']).stdout).toBe('vda1 is mounted on /boot\\040efi\nrc=0\n');
      expect(call(m, 'bf_disk_busy', ['vdb']).stdout).toBe('vdb1 is used as swap\nrc=0\n');
      expect(call(m, 'bf_disk_busy', ['vdc']).stdout).toBe('vdc has holders: dm-0\nrc=0\n');
      expect(call(m, 'bf_disk_busy', ['vdd']).stdout).toBe('rc=1\n');
    });
  });

  describe('bf_pick_target', () => {
    const MEDIUM_SERIAL = 'MEDIUM-STICK-0001';
    const m = machine([
      { name: 'vda', bus: 'virtio', size: 8 * GiB, serial: 'S-A', image: false },
      { name: 'vdb', bus: 'virtio', size: 2 * GiB, serial: 'S-B', image: false },
      {
        name: 'nvme0n1',
        bus: 'nvme',
        size: 512 * GiB,
        model: 'Samsung SSD 980 PRO 1TB',
        serial: 'S5GX',
        wwid: 'eui.002538b11101a2b3',
        image: false,
      },
      {
        name: 'sda',
        bus: 'sata',
        size: 256 * GiB,
        vendor: 'ATA',
        model: 'Samsung SSD 860',
        vpdSerial: 'S3Z1',
        wwid: 'naa.5002538e40a1b2c3',
        image: false,
      },
      {
        name: 'sdb',
        bus: 'usb',
        size: 32 * GiB,
        removable: true,
        vendor: 'SanDisk',
        model: 'Cruzer Blade',
        usbSerial: 'USB-B',
        image: false,
      },
      { name: 'sdc', bus: 'scsi', size: 1024 * GiB, ro: true, vendor: 'QEMU', model: 'QEMU HARDDISK', image: false },
      {
        name: 'sdd',
        bus: 'usb',
        size: 2048 * GiB,
        removable: true,
        vendor: 'Bootforge',
        model: 'Installer',
        usbSerial: MEDIUM_SERIAL,
        image: false,
      },
    ]);
    const rules = 'removable disks not allowed, pick largest';
    const medium = 'The installer medium is never a target and was not considered.';
    const picked = (target: string): Picked => ({ status: 0, target, error: '' });

    /** The medium (sdd) is in no message: neither its name nor its serial. */
    function pickWithMedium(rule: Record<string, string>): Picked {
      const p = pick(m, rule, 'sdd');
      expect(p.error).not.toContain('sdd');
      expect(p.error).not.toContain(MEDIUM_SERIAL);
      return p;
    }

    it('takes the largest disk that is neither removable nor read-only by default', () => {
      expect(pickWithMedium({})).toEqual(picked('nvme0n1'));
    });

    it('never takes the installer medium, even when it is the largest', () => {
      expect(pick(m, { BF_T_REMOVABLE: 'yes' })).toEqual(picked('sdd'));
      expect(pickWithMedium({ BF_T_REMOVABLE: 'yes' })).toEqual(picked('nvme0n1'));
      expect(pick(m, { BF_T_REMOVABLE: 'yes' }, '/dev/sdd')).toEqual(picked('nvme0n1'));
      expect(pickWithMedium({ BF_T_REMOVABLE: 'yes', BF_T_TRANSPORT: 'usb' })).toEqual(picked('sdb'));
    });

    it('matches a serial, and lists every disk with the first rule it breaks when none matches', () => {
      expect(pickWithMedium({ BF_T_SERIAL: 'S-B' })).toEqual(picked('vdb'));
      expect(pickWithMedium({ BF_T_SERIAL: 'nope' })).toEqual({
        status: 1,
        target: '',
        error: [
          `no disk matches the target (serial "nope", ${rules}):`,
          '  nvme0n1 (Samsung SSD 980 PRO 1TB, serial S5GX, 512.0 GiB, nvme): serial is S5GX, not nope',
          '  sda (Samsung SSD 860, serial S3Z1, 256.0 GiB, sata): serial is S3Z1, not nope',
          '  sdb (SanDisk Cruzer Blade, serial USB-B, 32.0 GiB, usb): serial is USB-B, not nope',
          '  sdc (QEMU QEMU HARDDISK, 1024.0 GiB, scsi): read-only',
          '  vda (serial S-A, 8.0 GiB, virtio): serial is S-A, not nope',
          '  vdb (serial S-B, 2.0 GiB, virtio): serial is S-B, not nope',
          medium,
        ].join('\n'),
      });
    });

    it.for([
      ['0x5002538E40A1B2C3', 'sda'],
      ['naa.5002538e40a1b2c3', 'sda'],
      ['wwn-0x5002538e40a1b2c3', 'sda'],
      ['eui.002538B11101A2B3', 'nvme0n1'],
    ])('matches WWN %s', ([wwn, target]) => {
      expect(pickWithMedium({ BF_T_WWN: wwn ?? '' })).toEqual(picked(target ?? ''));
    });

    it('says which disks have no WWN', () => {
      const p = pickWithMedium({ BF_T_WWN: '0x1' });
      expect(p.status).toBe(1);
      expect(p.error).toContain('\n  vda (serial S-A, 8.0 GiB, virtio): it has no WWN, not 0x1\n');
      expect(p.error).toContain(': WWN is 0x5002538e40a1b2c3, not 0x1\n');
    });

    it.for([
      ['nvme-Samsung_SSD_980_PRO_1TB_S5GX', 'nvme0n1'],
      ['/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GX', 'nvme0n1'],
      ['nvme-eui.002538b11101a2b3', 'nvme0n1'],
      ['/dev/disk/by-id/virtio-S-A', 'vda'],
      ['wwn-0x5002538e40a1b2c3', 'sda'],
      ['ata-Samsung_SSD_860_S3Z1', 'sda'],
      // udev's name holds the full ATA model, of which sysfs has only the first 16 characters.
      ['ata-Samsung_SSD_860_EVO_500GB_S3Z1', 'sda'],
    ])('matches byId %s', ([byId, target]) => {
      expect(pickWithMedium({ BF_T_BYID: byId ?? '' })).toEqual(picked(target ?? ''));
    });

    it('explains a byId that no disk has', () => {
      const p = pickWithMedium({ BF_T_BYID: '/dev/disk/by-id/virtio-S-Z' });
      expect(p.status).toBe(1);
      expect(p.error).toContain(
        '\n  vda (serial S-A, 8.0 GiB, virtio): its /dev/disk/by-id names are virtio-S-A, not virtio-S-Z\n',
      );
      expect(p.error).toMatch(/^no disk matches the target \(byId "\/dev\/disk\/by-id\/virtio-S-Z", /);
    });

    it('matches a model glob with blanks, also against "vendor model"', () => {
      expect(pickWithMedium({ BF_T_MODEL: 'Samsung SSD 9*' })).toEqual(picked('nvme0n1'));
      expect(pickWithMedium({ BF_T_MODEL: 'ATA Samsung*' })).toEqual(picked('sda'));
      expect(pickWithMedium({ BF_T_MODEL: 'Samsung*', BF_T_PICK: 'smallest' })).toEqual(picked('sda'));
      expect(pickWithMedium({ BF_T_MODEL: 'SanDisk Cruzer*', BF_T_REMOVABLE: 'yes' })).toEqual(picked('sdb'));
      const p = pickWithMedium({ BF_T_MODEL: 'WDC*' });
      expect(p.error).toContain('\n  vda (serial S-A, 8.0 GiB, virtio): it has no model, so none matches WDC*\n');
      expect(p.error).toContain(': model Samsung SSD 860 does not match WDC*\n');
    });

    it('matches a transport', () => {
      expect(pickWithMedium({ BF_T_TRANSPORT: 'sata' })).toEqual(picked('sda'));
      expect(pickWithMedium({ BF_T_TRANSPORT: 'virtio' })).toEqual(picked('vda'));
      const p = pickWithMedium({ BF_T_TRANSPORT: 'mmc' });
      expect(p.error).toContain(
        '\n  sda (Samsung SSD 860, serial S3Z1, 256.0 GiB, sata): transport is sata, not mmc\n',
      );
    });

    it('keeps to minSize and maxSize', () => {
      const bytes = (n: number) => String(n * GiB);
      expect(pickWithMedium({ BF_T_MIN: bytes(100), BF_T_MAX: bytes(300) })).toEqual(picked('sda'));
      expect(pickWithMedium({ BF_T_MIN: bytes(3), BF_T_PICK: 'smallest' })).toEqual(picked('vda'));
      expect(pickWithMedium({ BF_T_MAX: bytes(8) })).toEqual(picked('vda'));
      const p = pickWithMedium({ BF_T_MIN: bytes(600) });
      expect(p.error).toMatch(/^no disk matches the target \(minSize 600\.0 GiB, /);
      expect(p.error).toContain('\n  vda (serial S-A, 8.0 GiB, virtio): 8.0 GiB is smaller than minSize 600.0 GiB\n');
      const q = pickWithMedium({ BF_T_MAX: String(8 * GiB - 1), BF_T_TRANSPORT: 'virtio', BF_T_PICK: 'largest' });
      expect(q).toEqual(picked('vdb'));
      const r = pickWithMedium({ BF_T_MAX: String(2 * GiB - 1), BF_T_TRANSPORT: 'virtio' });
      expect(r.error).toContain(`: 2.0 GiB (${2 * GiB} bytes) is larger than maxSize 2.0 GiB (${2 * GiB - 1} bytes)\n`);
    });

    it('leaves out removable disks unless allowed', () => {
      const p = pickWithMedium({ BF_T_SERIAL: 'USB-B' });
      expect(p.status).toBe(1);
      expect(p.error).toContain(
        '\n  sdb (SanDisk Cruzer Blade, serial USB-B, 32.0 GiB, usb): removable (usb), and the target does not allow removable disks\n',
      );
      expect(pickWithMedium({ BF_T_SERIAL: 'USB-B', BF_T_REMOVABLE: 'yes' })).toEqual(picked('sdb'));
      expect(pickWithMedium({ BF_T_SERIAL: 'USB-B', BF_T_REMOVABLE: 'no' }).status).toBe(1);
    });

    it('takes the smallest', () => {
      expect(pickWithMedium({ BF_T_PICK: 'smallest' })).toEqual(picked('vdb'));
    });

    it('with pick only, takes the one match and refuses several', () => {
      expect(pickWithMedium({ BF_T_PICK: 'only', BF_T_SERIAL: 'S-A' })).toEqual(picked('vda'));
      expect(pickWithMedium({ BF_T_PICK: 'only', BF_T_TRANSPORT: 'virtio' })).toEqual({
        status: 1,
        target: '',
        error: [
          '2 disks match the target (transport virtio, removable disks not allowed, pick only), and pick is only:',
          '  vda (serial S-A, 8.0 GiB, virtio)',
          '  vdb (serial S-B, 2.0 GiB, virtio)',
          "Set the target's serial or byId to choose one.",
          medium,
        ].join('\n'),
      });
    });

    it('refuses an unknown pick and a size that is no number', () => {
      expect(pickWithMedium({ BF_T_PICK: 'biggest' })).toEqual({
        status: 1,
        target: '',
        error: 'target pick is biggest: expected only, largest or smallest',
      });
      expect(pickWithMedium({ BF_T_MIN: '1G' }).error).toBe('target size 1G is not a number of bytes');
    });

    it('refuses a tie for the largest or the smallest', () => {
      const t = machine([
        { name: 'vda', bus: 'virtio', size: 8 * GiB, serial: 'T-A', image: false },
        { name: 'vdb', bus: 'virtio', size: 4 * GiB, serial: 'T-B', image: false },
        { name: 'vdc', bus: 'virtio', size: 8 * GiB, serial: 'T-C', image: false },
        { name: 'vdd', bus: 'virtio', size: 4 * GiB, serial: 'T-D', image: false },
        { name: 'vde', bus: 'virtio', size: 16 * GiB, serial: 'T-E', image: false },
      ]);
      expect(pick(t, {}, 'vde')).toEqual({
        status: 1,
        target: '',
        error: [
          `2 disks tie for the largest (${8 * GiB} bytes) among those that match the target (${rules}):`,
          '  vda (serial T-A, 8.0 GiB, virtio)',
          '  vdc (serial T-C, 8.0 GiB, virtio)',
          "Set the target's serial or byId to choose one.",
          medium,
        ].join('\n'),
      });
      const s = pick(t, { BF_T_PICK: 'smallest' });
      expect(s.status).toBe(1);
      expect(s.error).toMatch(/^2 disks tie for the smallest \(4294967296 bytes\) /);
      expect(s.error).toContain('\n  vdb (serial T-B, 4.0 GiB, virtio)\n  vdd (serial T-D, 4.0 GiB, virtio)\n');
      expect(s.error).not.toContain(medium);
      expect(pick(t, {})).toEqual(picked('vde'));
    });

    it('refuses when the installer medium is the only disk, without naming it', () => {
      const only = machine([
        { name: 'vda', bus: 'virtio', size: 8 * GiB, serial: 'ONLY', partitions: ['vda1'], image: false },
      ]);
      const p = pick(only, {}, 'vda');
      expect(p).toEqual({
        status: 1,
        target: '',
        error: `no disk to install to: there is no disk besides the installer medium (target: ${rules})`,
      });
      expect(p.error).not.toMatch(/vda|ONLY/);
      expect(pick(only, {})).toEqual(picked('vda'));
      expect(pick(only, { BF_T_PICK: 'only' }, '/dev/vda').error).not.toMatch(/vda|ONLY/);
      // A partition of the medium stands for its disk.
      expect(pick(only, {}, '/dev/vda1')).toEqual(p);
    });

    it('refuses when there are no disks at all', () => {
      expect(pick(machine(EXCLUDED), {})).toEqual({
        status: 1,
        target: '',
        error: `no disk to install to: no disks found (target: ${rules})`,
      });
    });

    it('keeps models and globs as data: nothing in them runs', () => {
      const marker = (n: number) => join(work, `pwned-${n}`);
      const hostile = machine([
        { name: 'sda', bus: 'scsi', size: 8 * GiB, vendor: 'X', model: `$(touch ${marker(1)})`, image: false },
        { name: 'sdb', bus: 'scsi', size: 4 * GiB, vendor: 'Y', model: 'Disk;reboot', image: false },
        { name: 'sdc', bus: 'scsi', size: 2 * GiB, vendor: 'Z', model: '`touch x` [a]', image: false },
      ]);
      expect(pick(hostile, { BF_T_MODEL: '*;reboot' })).toEqual(picked('sdb'));
      expect(pick(hostile, { BF_T_MODEL: `$(touch ${marker(1)})` })).toEqual(picked('sda'));
      expect(pick(hostile, { BF_T_MODEL: '`touch x` \\[a\\]' })).toEqual(picked('sdc'));
      expect(pick(hostile, { BF_T_MODEL: '[' }).status).toBe(1);
      const hostileRules: readonly Record<string, string>[] = [
        { BF_T_MODEL: `\`touch ${marker(2)}\`` },
        { BF_T_MODEL: `*;touch ${marker(3)}` },
        { BF_T_SERIAL: `$(touch ${marker(4)})` },
        { BF_T_BYID: `$(touch ${marker(5)})` },
        { BF_T_WWN: `$(touch ${marker(6)})` },
        { BF_T_TRANSPORT: `$(touch ${marker(7)})` },
      ];
      for (const rule of hostileRules) expect(pick(hostile, rule).status).toBe(1);
      const p = pick(hostile, { BF_T_MODEL: `*;touch ${marker(8)}` });
      expect(p.error).toContain(
        `\n  sda (X $(touch ${marker(1)}), 8.0 GiB, scsi): model $(touch ${marker(1)}) does not match *;touch ${marker(8)}\n`,
      );
      expect(out(hostile, 'bf_disk_describe', 'sda')).toBe(`sda (X $(touch ${marker(1)}), 8.0 GiB, scsi)\n`);
      for (let n = 1; n <= 8; n++) expect(existsSync(marker(n))).toBe(false);
    });
  });
});
