import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '../../src/log/events.js';
import { build, type BuildResult } from '../../src/pipeline/build.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve } from '../../src/pipeline/resolve.js';
import { freshUefiVars, startMachine, type DiskInterface } from '../../src/qemu/machine.js';

// The installer image boots on UEFI (OVMF from QEMU's firmware descriptors) through
// systemd-boot into the installer initrd, from a virtio disk and from a USB stick.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-image-'));
let result: BuildResult;

beforeAll(async () => {
  const { resolved } = resolve({ profile: 'profiles/minimal.yaml' });
  const source = openPackageSource(repoSettingsOf(resolved), {}, silentReporter);
  result = await build({ profile: resolved, source, out: join(work, 'minimal') });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('installer image boots through OVMF and systemd-boot', () => {
  it.each<DiskInterface>(['virtio', 'usb'])('attached as %s', async (iface) => {
    const dir = mkdtempSync(join(work, `${iface}-`));
    const vm = startMachine({
      accel: 'tcg',
      memoryMiB: 1024,
      uefi: { varsPath: freshUefiVars(dir) },
      disks: [{ path: result.image, interface: iface, readonly: true, serial: 'BFINSTALLER' }],
      serialLog: join(dir, 'serial.log'),
    });
    try {
      // systemd-boot draws its menu on the serial console too.
      await vm.console.waitFor('Install minimal', 180_000, 'the systemd-boot menu');
      await vm.console.waitFor(
        `bootforge: initrd minimal-installer (installer) starting on kernel ${result.manifest.kernel}`,
        240_000,
        'the installer banner',
      );
      // The installer entry's command line reached the kernel.
      expect(vm.console.output).not.toContain('Kernel panic');
    } finally {
      vm.kill();
      await vm.exited.catch(() => undefined);
    }
  });
});
