import { describe, expect, it } from 'vitest';
import type { BlockTarget } from '../../../src/flash/device.js';
import { refusals, type SafetyFacts } from '../../../src/flash/safety.js';

const MIB = 1024 * 1024;

const stick: BlockTarget = {
  kind: 'block',
  path: '/dev/sdb',
  name: 'sdb',
  dev: '8:16',
  size: 16 * 1024 * MIB,
  removable: true,
  readOnly: false,
  transport: 'usb',
  model: 'Ultra Fit',
  vendor: 'SanDisk',
  serial: '4C530001',
  partitions: [
    { name: 'sdb1', dev: '8:17', holders: [] },
    { name: 'sdb2', dev: '8:18', holders: [] },
  ],
  holders: [],
  sysfsDir: '/sys/devices/pci0000:00/usb1/1-1/host6/target6:0:0/6:0:0:0/block/sdb',
  backing: [],
};

const facts: SafetyFacts = {
  imageSize: 300 * MIB,
  imageDiskDir: '/sys/devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1',
  imageIdentity: '66306:1234',
  mounts: [{ dev: '259:2', mountPoint: '/', source: '/dev/nvme0n1p2' }],
  swaps: [{ file: '/dev/nvme0n1p3', dev: '259:3' }],
  exclusive: 'free',
  allowFixed: false,
};

const codes = (t: BlockTarget, f: Partial<SafetyFacts> = {}): string[] =>
  refusals(t, { ...facts, ...f }).map((e) => e.code);

describe('flash safety checks', () => {
  it('passes a free, removable, large enough stick', () => {
    expect(refusals(stick, facts)).toEqual([]);
  });

  it('refuses a fixed disk unless allowed, naming it and the --allow-fixed hint', () => {
    const [e] = refusals({ ...stick, removable: false, transport: 'sata' }, facts);
    expect(e?.code).toBe('BF_FLASH_FIXED');
    expect(e?.message).toBe('/dev/sdb (sdb): is not removable (sata, Ultra Fit, 16 GiB): it may be a system disk');
    expect(e?.hint).toContain('--allow-fixed');
    expect(codes({ ...stick, removable: false }, { allowFixed: true })).toEqual([]);
  });

  it('refuses a disk with a mounted partition, by device number or by source', () => {
    const byDev = refusals(stick, {
      ...facts,
      mounts: [{ dev: '8:18', mountPoint: '/media/a b', source: '/dev/sdb2' }],
    });
    expect(byDev.map((e) => e.code)).toEqual(['BF_FLASH_MOUNTED']);
    expect(byDev[0]?.message).toBe('/dev/sdb (sdb): is mounted: /dev/sdb2 on /media/a b');
    expect(byDev[0]?.hint).toBe('unmount it first: umount /media/a b');
    // btrfs reports an anonymous device number: the source still names the partition.
    expect(codes(stick, { mounts: [{ dev: '0:45', mountPoint: '/mnt', source: '/dev/sdb1' }] })).toEqual([
      'BF_FLASH_MOUNTED',
    ]);
  });

  it('refuses swap, holders, a busy device, read-only, too small', () => {
    expect(codes(stick, { swaps: [{ file: '/dev/sdb2', dev: '8:18' }] })).toEqual(['BF_FLASH_SWAP']);
    expect(codes({ ...stick, holders: ['dm-0'] })).toEqual(['BF_FLASH_HOLDERS']);
    expect(codes({ ...stick, partitions: [{ name: 'sdb1', dev: '8:17', holders: ['md127'] }] })).toEqual([
      'BF_FLASH_HOLDERS',
    ]);
    expect(codes(stick, { exclusive: 'busy' })).toEqual(['BF_FLASH_BUSY']);
    expect(codes({ ...stick, readOnly: true })).toEqual(['BF_FLASH_READ_ONLY']);
    const small = refusals({ ...stick, size: 256 * MIB }, facts);
    expect(small.map((e) => e.code)).toEqual(['BF_FLASH_TOO_SMALL']);
    expect(small[0]?.message).toBe('/dev/sdb (sdb): has 256 MiB, the image needs 300 MiB (314572800 bytes)');
  });

  it('refuses the disk that holds the image first, and says "busy" only when nothing else explains it', () => {
    const got = codes(stick, {
      imageDiskDir: stick.sysfsDir,
      mounts: [{ dev: '8:17', mountPoint: '/media/usb', source: '/dev/sdb1' }],
      exclusive: 'busy',
    });
    expect(got).toEqual(['BF_FLASH_IMAGE_DEVICE', 'BF_FLASH_MOUNTED']);
  });

  it('refuses a device backed by the image file, even with --allow-fixed, and not one backed by another file', () => {
    const loop = {
      ...stick,
      path: '/dev/loop7',
      name: 'loop7',
      removable: false,
      backing: [
        { file: '/srv/other.img', identity: '66306:99' },
        { file: '/home/u/bootforge.img', identity: '66306:1234' },
      ],
    };
    const got = refusals(loop, { ...facts, allowFixed: true });
    expect(got.map((e) => [e.code, e.message])).toEqual([
      [
        'BF_FLASH_IMAGE_DEVICE',
        '/dev/loop7 (loop7): is backed by the image file being flashed (/home/u/bootforge.img); writing it would destroy the image',
      ],
    ]);
    expect(
      codes({ ...loop, backing: [{ file: '/srv/other.img', identity: '66306:99' }] }, { allowFixed: true }),
    ).toEqual([]);
    // A backing file that is gone ("(deleted)") has no identity and matches nothing.
    expect(codes({ ...loop, backing: [{ file: '/x (deleted)', identity: undefined }] }, { allowFixed: true })).toEqual(
      [],
    );
  });
});
