/**
 * The review's attacks on `bootforge flash` (root, real loop devices): the medium
 * swapped behind the checked path while the user confirms, a flash over an earlier
 * image that stops part way, a user in the disk group without CAP_SYS_ADMIN, a user
 * without access, a partition and a by-id style link as targets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/log/events.js';
import { flash } from '../../../src/pipeline/flash.js';
import { runCli } from '../../helpers/cli.js';
import { hostTool } from '../../helpers/fake-sysfs.js';
import { makeFlashImage, type FlashImage } from '../../helpers/flash-image.js';
import { contentDigests, loopLab, sfdiskDump, withEnv } from '../../helpers/flash-loop.js';
import { devOf, flashMachine } from '../../helpers/flash-sysfs.js';

const MIB = 1024 * 1024;
const ROOT = process.getuid?.() === 0 && existsSync('/dev/loop-control') && hostTool('losetup') !== null;
const HAVE_SETPRIV = hostTool('setpriv') !== null;
const NOBODY = 65534;
/** Debian's disk group. */
const DISK_GID = 6;

// World-readable: the tests that run bootforge as nobody read the image and the fake sysfs.
const tmp = mkdtempSync(join(tmpdir(), 'bootforge-flash-safety-'));
chmodSync(tmp, 0o755);
const lab = loopLab(tmp);
let image: FlashImage;
let old: FlashImage;

beforeAll(async () => {
  image = await makeFlashImage(tmp, 'new.img', 64 * MIB, 6 * MIB);
  old = await makeFlashImage(tmp, 'old.img', 64 * MIB, 3 * MIB);
});

afterAll(() => {
  lab.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** Blocks the file holds on disk: 0 for a sparse file nothing was ever written to. */
const allocated = (file: string): number => statSync(file).blocks;

function readAt(file: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** A .bmap'd copy of the image whose data no longer matches the bmap: the flash fails after writing the data. */
function mismatched(name: string): string {
  const path = join(tmp, name);
  copyFileSync(image.path, path);
  copyFileSync(image.bmapPath, `${path}.bmap`);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from('X'), 0, 1, 2 * MIB); // inside the ESP's data
  closeSync(fd);
  return path;
}

/**
 * Sets the device node's owner and mode for one test and puts them back after
 * (devtmpfs keeps them for the next user of that loop device).
 */
function withNodeAccess<T>(dev: string, uid: number, gid: number, mode: number, body: () => T): T {
  const before = statSync(dev);
  chownSync(dev, uid, gid);
  chmodSync(dev, mode);
  try {
    return body();
  } finally {
    chownSync(dev, before.uid, before.gid);
    chmodSync(dev, before.mode & 0o7777);
  }
}

/** bootforge's CLI run as `uid` (no capabilities, no supplementary groups). */
function asUser(uid: number, args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--', process.execPath, ...args],
    { cwd: resolve('.'), env: { ...process.env, NO_COLOR: '1', HOME: tmp, ...env }, encoding: 'utf8' },
  );
}

describe.skipIf(!ROOT)('flash: the device checked is the device written (root)', () => {
  it('a medium swapped behind the same /dev/loopN during the prompt is not written', async () => {
    const stick = lab.loop('swap-checked');
    const other = lab.backing('swap-other');
    const sysfs = lab.usbSticks('sys-swap', [stick.dev]);
    let swapped = 'no';
    const result = await flash({
      image: image.path,
      targets: [stick.dev],
      system: { sysfs },
      confirm: () => {
        // The reviewer's swap: another medium on the same loop device while the user reads the list.
        spawnSync('losetup', ['-d', stick.dev]);
        const attach = spawnSync('losetup', [stick.dev, other], { encoding: 'utf8' });
        swapped = attach.status === 0 ? 'yes' : `refused: ${attach.stderr.trim()}`;
        return true;
      },
    }).catch((e: Error) => e);
    // The unchecked medium is never written, whatever the kernel let the swap do.
    expect(allocated(other), `swap ${swapped}`).toBe(0);
    if (swapped === 'yes') {
      // The swap went through: the held descriptor points at the old medium, now gone.
      expect(result instanceof Error || !result.targets[0]!.ok).toBe(true);
    } else {
      // The held O_EXCL descriptor kept the checked medium attached: it, and only it, was written.
      expect(result).not.toBeInstanceOf(Error);
      if (!(result instanceof Error)) expect(result.targets[0]!.ok).toBe(true);
      expect(readAt(stick.backing, 0, MIB).equals(readAt(image.path, 0, MIB))).toBe(true);
    }
  });

  it('a by-id style link re-pointed to another device during the prompt: the checked device is written', async () => {
    const a = lab.loop('link-a');
    const b = lab.loop('link-b');
    const sysfs = lab.usbSticks('sys-link', [a.dev, b.dev]);
    const byId = join(tmp, 'by-id');
    mkdirSync(byId);
    const link = join(byId, 'usb-SanDisk_Ultra_Fit_4C530000-0:0');
    symlinkSync(a.dev, link);
    const result = await flash({
      image: image.path,
      targets: [link],
      system: { sysfs },
      confirm: (targets) => {
        expect(targets[0]).toMatchObject({ kind: 'block', path: link, name: basename(a.dev) });
        unlinkSync(link);
        symlinkSync(b.dev, link);
        return true;
      },
    });
    expect(result.targets[0]!.ok, result.targets[0]!.error?.message).toBe(true);
    expect(allocated(b.backing)).toBe(0);
    expect(readAt(a.backing, 0, MIB).equals(readAt(image.path, 0, MIB))).toBe(true);
  });

  it('a by-id style link gets the same checks as the device (fixed, mounted)', async () => {
    const fixed = lab.loop('link-fixed');
    const link = join(tmp, 'usb-fixed-link');
    symlinkSync(fixed.dev, link);
    const fixedDigests = contentDigests(fixed.dev, fixed.backing);
    const r = await runCli(['flash', image.path, link, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`BF_FLASH_FIXED: ${link} (${basename(fixed.dev)}): is not removable (virtual, 96 MiB)`);
    expect(fixedDigests()).toEqual(['unchanged', 'unchanged']);

    const mounted = lab.loop('link-mounted');
    // Inode tables and journal written now, so no background writer changes the device while mounted.
    execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', mounted.dev]);
    const mnt = join(tmp, 'link-mnt');
    mkdirSync(mnt);
    // Read-only: a read-write ext4 keeps writing metadata to its device, so its digest would move.
    execFileSync('mount', ['-o', 'ro', mounted.dev, mnt]);
    try {
      const mlink = join(tmp, 'usb-mounted-link');
      symlinkSync(mounted.dev, mlink);
      const mountedDigests = contentDigests(mounted.dev, mounted.backing);
      await expect(flash({ image: image.path, targets: [mlink], allowFixed: true })).rejects.toMatchObject({
        code: 'BF_FLASH_MOUNTED',
        message: `${mlink} (${basename(mounted.dev)}): is mounted: ${mounted.dev} on ${mnt}`,
      });
      expect(mountedDigests()).toEqual(['unchanged', 'unchanged']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('refuses a partition, naming the whole disk (a loop device shown as partition 1 of a USB stick)', async () => {
    // This kernel's loop devices have no partitions (losetup -P cannot scan): the fake sysfs
    // presents the real loop device's number as sdz1, a partition of a stick sdz.
    const part = lab.loop('as-partition');
    const machine = flashMachine(join(tmp, 'sys-partition'), [
      { name: 'sdz', dev: '8:240', bus: 'usb', size: 96 * MIB, removable: true, partitions: ['sdz1'] },
    ]);
    const dir = realpathSync(join(machine.sysfs, 'block', 'sdz', 'sdz1'));
    writeFileSync(join(dir, 'dev'), `${devOf(part.dev)}\n`);
    symlinkSync(dir, join(machine.sysfs, 'dev', 'block', devOf(part.dev)));
    const r = await withEnv({ BOOTFORGE_SYSFS: machine.sysfs }, () => runCli(['flash', image.path, part.dev, '--yes']));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `BF_FLASH_NOT_DEVICE: ${part.dev}: is partition 1 of sdz; flash the whole disk (/dev/sdz)`,
    );
    expect(allocated(part.backing)).toBe(0);
  });
});

const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe.skipIf(!ROOT)('flash: a device backed by the image is refused before anything is written (root)', () => {
  it('a loop device over the image itself, with --allow-fixed: BF_FLASH_IMAGE_DEVICE, the image unchanged', async () => {
    const self = join(tmp, 'self.img');
    copyFileSync(image.path, self);
    copyFileSync(image.bmapPath, `${self}.bmap`);
    const before = sha256Of(self);
    const { dev } = lab.attach(self);
    const r = await runCli(['flash', self, dev, '--allow-fixed', '--yes']);
    expect(r.stderr).toContain(
      `BF_FLASH_IMAGE_DEVICE: ${dev} (${basename(dev)}): is backed by the image file being flashed (${self}); writing it would destroy the image`,
    );
    expect(r.code).toBe(2);
    expect(sha256Of(self)).toBe(before);
  });

  it('a device-mapper device over a partition of a loop over the image (fake sysfs walked through slaves/)', async () => {
    // This kernel has no device-mapper: a real loop device plays dm-0 (a removable stick,
    // so only the backing check can refuse it), built on loop9p1 of a loop9 over the image.
    const self = join(tmp, 'self-dm.img');
    copyFileSync(image.path, self);
    const before = sha256Of(self);
    const target = lab.loop('dm-target');
    const machine = flashMachine(join(tmp, 'sys-dm'), [
      { name: 'dm-0', dev: devOf(target.dev), bus: 'usb', size: 96 * MIB, removable: true },
    ]);
    const loop9 = join(machine.sysfs, 'devices', 'virtual', 'block', 'loop9');
    mkdirSync(join(loop9, 'loop'), { recursive: true });
    mkdirSync(join(loop9, 'loop9p1'));
    writeFileSync(join(loop9, 'loop', 'backing_file'), `${self}\n`);
    writeFileSync(join(loop9, 'loop9p1', 'partition'), '1\n');
    const dm = realpathSync(join(machine.sysfs, 'block', 'dm-0'));
    mkdirSync(join(dm, 'slaves'));
    symlinkSync(join(loop9, 'loop9p1'), join(dm, 'slaves', 'loop9p1'));
    await expect(flash({ image: self, targets: [target.dev], system: { sysfs: machine.sysfs } })).rejects.toMatchObject(
      {
        code: 'BF_FLASH_IMAGE_DEVICE',
        message: `${target.dev} (dm-0): is backed by the image file being flashed (${self}); writing it would destroy the image`,
      },
    );
    expect(allocated(target.backing)).toBe(0);
    expect(sha256Of(self)).toBe(before);
  });
});

describe.skipIf(!ROOT)('flash: a flash that stops part way leaves no partition table (root)', () => {
  it('over an earlier image: a bmap mismatch after the data leaves neither the old primary nor a backup GPT', async () => {
    const stick = lab.loop('over-old');
    const sysfs = lab.usbSticks('sys-over-old', [stick.dev]);
    const first = await flash({ image: old.path, targets: [stick.dev], system: { sysfs } });
    expect(first.targets[0]!.ok).toBe(true);
    expect(sfdiskDump(stick.dev)).toContain('label: gpt');
    // Where a disk's own backup GPT lives (the old image's was written there by hand: a stick made by another tool).
    const tail = readAt(old.path, old.size - 33 * 512, 33 * 512);
    const fd = openSync(stick.backing, 'r+');
    writeSync(fd, tail, 0, tail.length, 96 * MIB - tail.length);
    closeSync(fd);

    await expect(
      flash({ image: mismatched('new-mismatch.img'), targets: [stick.dev], system: { sysfs } }),
    ).rejects.toMatchObject({ code: 'BF_BMAP' });
    const dump = spawnSync('sfdisk', ['--dump', stick.dev], { encoding: 'utf8' });
    expect(dump.status, dump.stdout).not.toBe(0);
    expect(dump.stderr).toContain('does not contain a recognized partition table');
    expect(readAt(stick.backing, 0, MIB).equals(Buffer.alloc(MIB))).toBe(true);
    expect(readAt(stick.backing, 96 * MIB - 33 * 512, 33 * 512).equals(Buffer.alloc(33 * 512))).toBe(true);
    // The data before the failure was written (the image's ESP data, not the old one's).
    expect(readAt(stick.backing, 4 * MIB, 4096).equals(readAt(image.path, 4 * MIB, 4096))).toBe(true);
  });

  it('over an earlier image: a flash interrupted mid-data leaves no partition table', async () => {
    const stick = lab.loop('interrupted');
    const sysfs = lab.usbSticks('sys-interrupted', [stick.dev]);
    expect((await flash({ image: old.path, targets: [stick.dev], system: { sysfs } })).targets[0]!.ok).toBe(true);
    const stop = new AbortController();
    const reporter = {
      emit: (e: BuildEvent) => {
        if (e.type === 'progress' && e.id === 'flash-write' && e.done > 0) stop.abort(new Error('stopped'));
      },
      close: () => undefined,
    };
    await expect(
      flash({ image: image.path, targets: [stick.dev], system: { sysfs }, bmap: false, reporter, signal: stop.signal }),
    ).rejects.toThrow('stopped');
    const dump = spawnSync('sfdisk', ['--dump', stick.dev], { encoding: 'utf8' });
    expect(dump.status, dump.stdout).not.toBe(0);
    expect(readAt(stick.backing, 0, MIB).equals(Buffer.alloc(MIB))).toBe(true);
  });

  it('a target that fails part way reports the bytes written to it, not the total', async () => {
    const full = join(tmp, 'full');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', full]);
    try {
      const good = join(tmp, 'partial-good.img');
      const result = await flash({
        image: image.path,
        targets: [join(full, 'no-room.img'), good],
        allowFile: true,
      });
      const [failed, ok] = result.targets;
      expect(failed!.error?.code).toBe('BF_FLASH_WRITE');
      expect(ok!.ok).toBe(true);
      expect(ok!.bytesWritten).toBe(image.bmap.mappedBlocksCount * 4096);
      expect(failed!.bytesWritten).toBeLessThan(2 * MIB);
    } finally {
      execFileSync('umount', [full]);
    }
  });
});

describe.skipIf(!ROOT || !HAVE_SETPRIV)('flash without root (setpriv to nobody)', () => {
  it('with read-write access but no CAP_SYS_ADMIN: written and verified from the medium (no BF_FLASH_WRITE)', () => {
    const stick = lab.loop('nobody-rw');
    const sysfs = lab.usbSticks('sys-nobody', [stick.dev]);
    const r = withNodeAccess(stick.dev, NOBODY, NOBODY, 0o600, () =>
      asUser(NOBODY, ['bin/bootforge', 'flash', image.path, stick.dev, '--yes', '--json'], { BOOTFORGE_SYSFS: sysfs }),
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { targets: { ok: boolean; verifiedFrom: string }[] };
    expect(result.targets.map((t) => [t.ok, t.verifiedFrom])).toEqual([[true, 'medium (O_DIRECT)']]);
    expect(readAt(stick.backing, 0, MIB).equals(readAt(image.path, 0, MIB))).toBe(true);
  });

  it('the O_DIRECT read-back finds a medium that did not keep the data, though the page cache did', () => {
    const stick = lab.loop('nobody-flaky');
    const sysfs = lab.usbSticks('sys-nobody-flaky', [stick.dev]);
    chownSync(stick.backing, NOBODY, NOBODY);
    const script = join(tmp, 'flaky-as-nobody.mts');
    writeFileSync(
      script,
      `import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { flash } from ${JSON.stringify(resolve('src/pipeline/flash.ts'))};
const [image, dev, backing, sysfs] = process.argv.slice(2);
// Another opener keeps the device's page cache alive (the kernel drops it on the last close).
const holder = openSync(dev, 'r');
const result = await flash({ image, targets: [dev], system: { sysfs }, beforeVerify: () => {
  const fd = openSync(backing, 'r+');
  writeSync(fd, Buffer.from('corrupt'), 0, 7, 2 * 1048576 + 100);
  fsyncSync(fd);
  closeSync(fd);
} });
closeSync(holder);
process.stdout.write(JSON.stringify(result.targets.map((t) => [t.error?.code, t.verifiedFrom])));
`,
    );
    const r = withNodeAccess(stick.dev, NOBODY, NOBODY, 0o600, () =>
      asUser(NOBODY, ['--import', 'tsx', script, image.path, stick.dev, stick.backing, sysfs]),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([['BF_FLASH_VERIFY', 'medium (O_DIRECT)']]);
  });

  it('without access to the device: a permission error, not "busy"', () => {
    const stick = lab.loop('nobody-denied');
    const sysfs = lab.usbSticks('sys-nobody-denied', [stick.dev]);
    // root:disk 0660, as udev leaves a disk: nobody is not in the disk group.
    const r = withNodeAccess(stick.dev, 0, DISK_GID, 0o660, () =>
      asUser(NOBODY, ['bin/bootforge', 'flash', image.path, stick.dev, '--yes'], { BOOTFORGE_SYSFS: sysfs }),
    );
    expect(r.status, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`BF_FLASH_PERMISSION: ${stick.dev}: cannot open it for writing: EACCES`));
    expect(r.stderr).toContain('hint: run bootforge flash as root');
    expect(r.stderr).not.toContain('BF_FLASH_BUSY');
    expect(allocated(stick.backing)).toBe(0);
  });
});
