import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '../../src/log/events.js';
import { build, type BuildResult } from '../../src/pipeline/build.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve } from '../../src/pipeline/resolve.js';
import { freshUefiVars, startMachine, type DiskSpec } from '../../src/qemu/machine.js';

// The installer's refusals, on the real image under OVMF: each case boots the installer
// next to disks it must not take, waits for its FAILED line, and checks that no disk changed.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-safety-'));
let result: BuildResult;

beforeAll(async () => {
  const { resolved } = resolve({ profile: 'profiles/minimal.yaml' });
  const source = openPackageSource(repoSettingsOf(resolved), {}, silentReporter);
  result = await build({ profile: resolved, source, out: join(work, 'minimal') });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function blankDisk(dir: string, name: string, size = 2 * 1024 ** 3): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  return path;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Boots the installer with these disks; resolves with the FAILED line and the whole console output. */
async function installerFails(
  dir: string,
  disks: DiskSpec[],
  options: { afterWriting?: boolean } = {},
): Promise<{ failed: string; output: string }> {
  const vm = startMachine({
    accel: 'tcg',
    memoryMiB: 1024,
    uefi: { varsPath: freshUefiVars(dir) },
    disks,
    serialLog: join(dir, 'serial.log'),
  });
  try {
    await vm.console.waitFor(
      `bootforge: initrd minimal-installer (installer) starting on kernel ${result.manifest.kernel}`,
      240_000,
      'the installer banner',
    );
    const m = await vm.console.waitFor(/bootforge: FAILED: ([^\r\n]*)\r?\n/, 600_000, 'the installer to refuse');
    if (!options.afterWriting) expect(vm.console.output).not.toMatch(/bootforge: \[5\/9\]/);
    return { failed: m[1] ?? '', output: vm.console.output };
  } finally {
    vm.kill();
    await vm.exited.catch(() => undefined);
  }
}

const stick = (path: string): DiskSpec => ({ path, interface: 'usb', readonly: true, serial: 'BFSTICK' });

describe('the installer refuses instead of guessing', () => {
  it('never offers its own medium: booted from a virtio disk with no other disk, it has no target', async () => {
    const dir = mkdtempSync(join(work, 'alone-'));
    const { failed } = await installerFails(dir, [
      { path: result.image, interface: 'virtio', readonly: true, serial: 'BFINSTALLER' },
    ]);
    expect(failed).toContain('no target disk: no disk to install to: there is no disk besides the installer medium');
    expect(failed).not.toMatch(/vda \(/);
  });

  it('refuses a disk that holds a partition table when the profile says wipe: never', async () => {
    const dir = mkdtempSync(join(work, 'used-'));
    const target = blankDisk(dir, 'used.img');
    const sfdisk = spawnSync('sfdisk', ['--quiet', target], { input: 'label: gpt\n,100MiB,L\n', encoding: 'utf8' });
    expect(sfdisk.stderr).toBe('');
    const before = await sha256(target);
    const { failed } = await installerFails(dir, [
      stick(result.image),
      { path: target, interface: 'virtio', serial: 'USED' },
    ]);
    expect(failed).toMatch(/refusing \/dev\/vda \(.*serial USED.*\): it is not blank \(.*signature gpt/);
    expect(failed).toContain('disk.wipe: never; nothing was written');
    expect(await sha256(target)).toBe(before);
  });

  it('refuses two disks that tie for the largest', async () => {
    const dir = mkdtempSync(join(work, 'tie-'));
    const a = blankDisk(dir, 'a.img');
    const b = blankDisk(dir, 'b.img');
    const { failed } = await installerFails(dir, [
      stick(result.image),
      { path: a, interface: 'virtio', serial: 'TWIN-A' },
      { path: b, interface: 'virtio', serial: 'TWIN-B' },
    ]);
    expect(failed).toContain('2 disks tie for the largest');
    expect(await sha256(a)).toBe(await sha256(b));
    expect(spawnSync('sfdisk', ['--dump', a]).status).not.toBe(0);
  });

  it('aborts on a corrupted payload byte before it touches the target', async () => {
    const dir = mkdtempSync(join(work, 'corrupt-'));
    const image = join(dir, 'installer.img');
    expect(spawnSync('cp', ['--sparse=always', result.image, image]).status).toBe(0);
    const payload = result.manifest.disk.partitions.find((p) => p.name === 'bootforge-payload');
    if (!payload) throw new Error('no payload partition in the manifest');
    // A byte in the middle of the compressed payload, after the (intact) header.
    const at = payload.start + 4096 + Math.floor(result.manifest.payload.size / 2);
    const fd = openSync(image, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    writeSync(fd, Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, at);
    closeSync(fd);
    const target = blankDisk(dir, 'target.img');
    const before = await sha256(target);
    const { failed } = await installerFails(dir, [
      stick(image),
      { path: target, interface: 'virtio', serial: 'TARGET' },
    ]);
    expect(failed).toMatch(/the payload on \/dev\/sda2 is corrupt \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/);
    expect(failed).toContain('nothing was written to any disk');
    expect(await sha256(target)).toBe(before);
  });

  it('leaves no partition table behind when it fails after writing (the disk never boots half-installed)', async () => {
    const dir = mkdtempSync(join(work, 'full-'));
    // Passes the size check (ESP + the system's size + 4 MiB) but the ext4 filesystem's own
    // metadata leaves too little room: unpacking fails with "No space left on device".
    const mib = 1024 ** 2;
    const size = Math.ceil((64 * mib + result.manifest.payload.uncompressedSize + 5 * mib) / mib) * mib;
    const target = blankDisk(dir, 'small.img', size);
    const { failed, output } = await installerFails(
      dir,
      [stick(result.image), { path: target, interface: 'virtio', serial: 'SMALL' }],
      {
        afterWriting: true,
      },
    );
    expect(failed).toMatch(
      /^step 7\/9 \(installing generation 1 \([0-9a-f]+\)\): unpacking the payload failed: .*No space left on device/,
    );
    expect(output).toContain('the partition table of /dev/vda was erased: it will not boot a half-installed system');
    expect(spawnSync('sfdisk', ['--dump', target]).status).not.toBe(0);
    expect(spawnSync('wipefs', ['--no-act', '--noheadings', target], { encoding: 'utf8' }).stdout).toBe('');
  });
});
