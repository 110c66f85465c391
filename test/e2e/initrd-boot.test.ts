import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentReporter } from '../../src/log/events.js';
import { buildInitrd } from '../../src/pipeline/initrd.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve } from '../../src/pipeline/resolve.js';
import { startMachine } from '../../src/qemu/machine.js';

// Debian's generic kernel + bootforge's initrd for hardware/qemu-x86_64, booted
// directly (no firmware) under TCG: /init mounts devtmpfs/proc/sys, loads the
// virtio and storage modules with busybox modprobe, sees the virtio disk.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-initrd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('initrd boots in QEMU', () => {
  it('loads the modules with modprobe, sees a virtio disk, and prints the marker', async () => {
    const { resolved } = resolve({ profile: 'profiles/minimal.yaml', hardware: ['qemu-x86_64'] });
    const source = openPackageSource(repoSettingsOf(resolved), {}, silentReporter);
    const marker = `e2e-${process.pid}`;
    const initrd = await buildInitrd({
      profile: resolved,
      source,
      role: 'probe',
      out: join(work, 'initrd.img'),
      marker,
    });
    const disk = join(work, 'disk.img');
    writeFileSync(disk, Buffer.alloc(0));
    rmSync(disk);
    writeFileSync(disk, Buffer.alloc(16 * 1024 * 1024));

    const vm = startMachine({
      accel: 'tcg',
      memoryMiB: 512,
      kernel: initrd.kernel.vmlinuz,
      initrd: initrd.path,
      append: 'console=ttyS0,115200 panic=10 quiet',
      disks: [{ path: disk, interface: 'virtio', serial: 'E2EDISK' }],
      serialLog: join(work, 'serial.log'),
    });
    try {
      await vm.console.waitFor(
        `bootforge: initrd minimal-probe (probe) starting on kernel ${initrd.kernel.release}`,
        120_000,
        'the banner',
      );
      const modules = await vm.console.waitFor(/bootforge-probe: modules ([^\n]*)\n/, 60_000, 'the module list');
      const loaded = (modules[1] ?? '').trim().split(/\s+/);
      for (const m of [
        'virtio_pci',
        'virtio_blk',
        'virtio_scsi',
        'nvme',
        'ahci',
        'usb_storage',
        'uas',
        'xhci_pci',
        'ext4',
        'vfat',
        'nls_cp437',
      ]) {
        expect(loaded, `module ${m} loaded`).toContain(m);
      }
      // Dependencies came in through modules.dep (ext4 needs jbd2 and mbcache).
      expect(loaded).toEqual(expect.arrayContaining(['jbd2', 'mbcache', 'virtio_ring']));
      expect((await vm.console.waitFor(/bootforge-probe: block ([^\n]*)\n/, 30_000, 'the block devices'))[1]).toContain(
        'vda',
      );
      await vm.console.waitFor(`bootforge-probe: OK ${marker}`, 30_000, 'the marker');
      expect(await vm.exited).toBe(0);
      expect(vm.console.output).not.toMatch(/cannot load module/);
    } finally {
      vm.kill();
    }
  });
});
