/**
 * bootforge flash against real targets: files always; loop devices when running as
 * root (CI does), presented as removable USB sticks through a fake sysfs found by
 * their real device numbers. Results are checked with the real tools: sfdisk --dump
 * of the target equals the image's, cmp finds every mapped range identical.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flash } from '../../../src/pipeline/flash.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { runCli } from '../../helpers/cli.js';
import { makeFlashImage, type FlashImage } from '../../helpers/flash-image.js';
import { contentDigests, loopLab, sfdiskDump, withEnv } from '../../helpers/flash-loop.js';
import { hostTool } from '../../helpers/fake-sysfs.js';

const MIB = 1024 * 1024;
const ROOT = process.getuid?.() === 0 && existsSync('/dev/loop-control') && hostTool('losetup') !== null;
const NOT_ROOT = 'needs root for loop devices and mounts (CI runs as root); file targets are tested without it';
if (!ROOT) console.warn(`flash tests: skipping the loop-device tests: ${NOT_ROOT}`);
const HAVE_SFDISK = hostTool('sfdisk') !== null;

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-flash-'));
const mounts: string[] = [];
let image: FlashImage;

beforeAll(async () => {
  image = await makeFlashImage(tmp, 'installer.img', 64 * MIB, 6 * MIB);
});

afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  lab.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const lab = loopLab(tmp);
const loop = lab.loop;
const usbSticks = lab.usbSticks;

/** Every mapped range of the image, compared byte for byte by cmp. */
function expectMappedRangesEqual(target: string): void {
  for (const r of image.bmap.ranges) {
    const start = r.first * image.bmap.blockSize;
    const length = Math.min(image.size, (r.last + 1) * image.bmap.blockSize) - start;
    const cmp = spawnSync('cmp', ['-n', String(length), '-i', `${start}:${start}`, image.path, target], {
      encoding: 'utf8',
    });
    expect(cmp.status, `cmp of blocks ${r.first}-${r.last}: ${cmp.stdout}${cmp.stderr}`).toBe(0);
  }
}

describe('flash to files', () => {
  it('refuses a regular file unless --allow-file', async () => {
    const target = join(tmp, 'refused.img');
    writeFileSync(target, 'keep me');
    await expect(flash({ image: image.path, targets: [target] })).rejects.toMatchObject({
      code: 'BF_FLASH_NOT_DEVICE',
      message: `${target}: is a regular file, not a block device; pass --allow-file to write the image into a file`,
    });
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('writes the mapped blocks (sparse), then the whole image without a bmap; both read back equal', async () => {
    const reporter = new RecordingReporter();
    const target = join(tmp, 'copy.img');
    const result = await flash({ image: image.path, targets: [target], allowFile: true, reporter });
    expect(result.bmap).toBe(image.bmapPath);
    expect(result.targets.map((t) => [t.ok, t.error])).toEqual([[true, undefined]]);
    expect(result.targets[0]!.bytesWritten).toBe(image.bmap.mappedBlocksCount * 4096);
    expect(result.targets[0]!.verifyMs).toBeGreaterThanOrEqual(0);
    expect(readFileSync(target).equals(readFileSync(image.path))).toBe(true);
    // Only mapped blocks were written: the copy is as sparse as the image.
    expect(statSync(target).blocks * 512).toBeLessThan(16 * MIB);
    const progress = reporter.events.filter((e) => e.type === 'progress' && e.id === 'flash-write');
    expect(progress.at(-1)).toMatchObject({
      done: result.targets[0]!.bytesWritten,
      total: result.targets[0]!.bytesWritten,
    });

    const whole = join(tmp, 'whole.img');
    const full = await flash({ image: image.path, targets: [whole], allowFile: true, bmap: false });
    expect(full.bmap).toBeNull();
    expect(full.targets[0]!.bytesWritten).toBe(image.size);
    expect(readFileSync(whole).equals(readFileSync(image.path))).toBe(true);
    if (HAVE_SFDISK)
      expect(sfdiskDump(target).replaceAll(target, '')).toBe(sfdiskDump(image.path).replaceAll(image.path, ''));
  });

  it('writes the others when one target cannot even be opened (fleet without root)', async () => {
    const good = join(tmp, 'fleet-good.img');
    const unreachable = join(tmp, 'no-such-folder', 'x.img');
    const result = await flash({ image: image.path, targets: [unreachable, good], allowFile: true });
    expect(result.targets.map((t) => [t.target.path, t.ok, t.error?.code])).toEqual([
      [unreachable, false, 'BF_FLASH_WRITE'],
      [good, true, undefined],
    ]);
    expect(result.targets[0]!.error?.message).toMatch(
      new RegExp(`^${unreachable}: cannot open it for writing: ENOENT`),
    );
    expect(readFileSync(good).equals(readFileSync(image.path))).toBe(true);
  });

  it('refuses the image itself as a target, and an image that no longer matches its bmap', async () => {
    await expect(flash({ image: image.path, targets: [image.path], allowFile: true })).rejects.toMatchObject({
      code: 'BF_FLASH_IMAGE_DEVICE',
    });
    const changed = join(tmp, 'changed.img');
    copyFileSync(image.path, changed);
    copyFileSync(image.bmapPath, `${changed}.bmap`);
    const fd = openSync(changed, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, 2 * MIB); // inside the ESP's data
    closeSync(fd);
    const target = join(tmp, 'from-changed.img');
    await expect(flash({ image: changed, targets: [target], allowFile: true })).rejects.toMatchObject({
      code: 'BF_BMAP',
    });
    expect(existsSync(target)).toBe(false);
  });
});

describe.skipIf(!ROOT)('flash to loop devices (root)', () => {
  it('refuses a device that is not removable (a loop device in the real sysfs)', async () => {
    const { dev, backing } = loop('fixed');
    const digestsNow = contentDigests(dev, backing);
    const r = await runCli(['flash', image.path, dev, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`BF_FLASH_FIXED: ${dev} (${basename(dev)}): is not removable (virtual, 96 MiB)`);
    expect(r.stderr).toContain('--allow-fixed');
    expect(digestsNow()).toEqual(['unchanged', 'unchanged']);
  });

  it('refuses a mounted device, and the device that holds the image', async () => {
    const { dev, backing } = loop('mounted');
    // Inode tables and journal written now, so no background writer changes the device while mounted.
    execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', dev]);
    const mnt = join(tmp, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', [dev, mnt]);
    mounts.push(mnt);
    const inside = join(mnt, 'installer.img');
    copyFileSync(image.path, inside);
    // Read-only from here: a read-write ext4 keeps writing metadata to its device, so its digest would move.
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const digestsNow = contentDigests(dev, backing);
    await expect(flash({ image: image.path, targets: [dev], allowFixed: true })).rejects.toMatchObject({
      code: 'BF_FLASH_MOUNTED',
      message: `${dev} (${basename(dev)}): is mounted: ${dev} on ${mnt}`,
    });
    const r = await runCli(['flash', inside, dev, '--yes', '--allow-fixed']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `BF_FLASH_IMAGE_DEVICE: ${dev} (${basename(dev)}): holds the image file being flashed; writing it would destroy the image`,
    );
    expect(r.stderr).toContain('BF_FLASH_MOUNTED');
    expect(digestsNow()).toEqual(['unchanged', 'unchanged']);
  });

  it('refuses a busy (O_EXCL-claimed), a read-only and a too small device', async () => {
    const busy = loop('busy').dev;
    const ro = loop('ro').dev;
    const small = loop('small', 32 * MIB).dev;
    const digestsNow = contentDigests(busy, ro, small);
    const claim = openSync(busy, constants.O_RDONLY | constants.O_EXCL);
    try {
      await expect(flash({ image: image.path, targets: [busy], allowFixed: true })).rejects.toMatchObject({
        code: 'BF_FLASH_BUSY',
      });
    } finally {
      closeSync(claim);
    }
    execFileSync('blockdev', ['--setro', ro]);
    await expect(flash({ image: image.path, targets: [ro], allowFixed: true })).rejects.toMatchObject({
      code: 'BF_FLASH_READ_ONLY',
      message: `${ro} (${basename(ro)}): is read-only (sysfs ro = 1)`,
    });
    await expect(flash({ image: image.path, targets: [small], allowFixed: true })).rejects.toMatchObject({
      code: 'BF_FLASH_TOO_SMALL',
      message: `${small} (${basename(small)}): has 32 MiB, the image needs 64 MiB (67108864 bytes)`,
    });
    expect(digestsNow()).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  it('writes and verifies a loop device shown as a USB stick (CLI), as sfdisk and cmp see it', async () => {
    const { dev } = loop('stick');
    const sysfs = usbSticks('sys-stick', [dev]);
    const r = await withEnv({ BOOTFORGE_SYSFS: sysfs }, () => runCli(['flash', image.path, dev, '--yes']));
    expect(r.stderr).toContain(`${dev} (${basename(dev)}): SanDisk Ultra Fit, serial 4C530000, 96 MiB, usb, removable`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${dev}: wrote 6\\.\\d MiB in [0-9.]+ s \\([0-9.]+ MiB/s\\), verified in`));
    expectMappedRangesEqual(dev);
    if (HAVE_SFDISK) expect(sfdiskDump(dev)).toBe(sfdiskDump(image.path).replaceAll(image.path, '<dev>'));
  });

  it('detects a medium that does not keep what was written (read back after dropping the cache)', async () => {
    const { dev, backing } = loop('flaky');
    const sysfs = usbSticks('sys-flaky', [dev]);
    // Another opener (udev, a desktop's disk monitor) keeps the device's page cache alive: the
    // kernel drops it on the last close, and only then. bootforge must drop it itself.
    const holder = openSync(dev, 'r');
    const result = await flash({
      image: image.path,
      targets: [dev],
      system: { sysfs },
      // The medium changes under the device: the backing file, not the block device's page cache.
      // Without the cache drop the read-back would see the written bytes from memory and pass.
      beforeVerify: () => {
        const fd = openSync(backing, 'r+');
        writeSync(fd, Buffer.from('corrupt'), 0, 7, 2 * MIB + 100);
        fsyncSync(fd);
        closeSync(fd);
      },
    });
    closeSync(holder);
    expect(result.targets[0]!.ok).toBe(false);
    expect(result.targets[0]!.error?.code).toBe('BF_FLASH_VERIFY');
    expect(result.targets[0]!.error?.message).toMatch(
      new RegExp(`^${dev}: reads back different bytes: bytes \\d+-\\d+`),
    );
  });

  it('flashes several devices at once; one failing does not stop the others, and the command exits 1 naming it', async () => {
    const a = loop('fleet-a').dev;
    const b = loop('fleet-b').dev;
    const sysfs = usbSticks('sys-fleet', [a, b]);
    const full = join(tmp, 'full');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    mounts.push(full);
    const file = join(tmp, 'fleet-file.img');
    const tooSmall = join(full, 'no-room.img');
    const r = await withEnv({ BOOTFORGE_SYSFS: sysfs }, () =>
      runCli(['flash', image.path, a, b, file, tooSmall, '--yes', '--allow-file']),
    );
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toHaveLength(4);
    expect(r.stdout).toContain(`${tooSmall}: FAILED (BF_FLASH_WRITE)`);
    expect(r.stderr).toMatch(
      new RegExp(
        `BF_FLASH_WRITE: ${tooSmall.replaceAll('.', '\\.')}: writing \\d+ bytes at offset \\d+ failed: ENOSPC`,
      ),
    );
    for (const ok of [a, b, file]) {
      expect(r.stdout).toMatch(new RegExp(`^${ok}: wrote`, 'm'));
      expectMappedRangesEqual(ok);
    }
    expect(existsSync(tooSmall)).toBe(false);
    expect(readFileSync(file).equals(readFileSync(image.path))).toBe(true);
  });

  it('one device failing its read-back leaves the others verified (library result per device)', async () => {
    const a = loop('pair-a');
    const b = loop('pair-b');
    const sysfs = usbSticks('sys-pair', [a.dev, b.dev]);
    const result = await flash({
      image: image.path,
      targets: [a.dev, b.dev],
      system: { sysfs },
      beforeVerify: (target) => {
        if (target !== b.dev) return;
        const fd = openSync(b.backing, 'r+');
        writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 0); // the protective MBR
        fsyncSync(fd);
        closeSync(fd);
      },
    });
    expect(result.targets.map((t) => [t.target.path, t.ok, t.error?.code])).toEqual([
      [a.dev, true, undefined],
      [b.dev, false, 'BF_FLASH_VERIFY'],
    ]);
  });
});
