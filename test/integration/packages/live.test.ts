import { describe, expect, it } from 'vitest';
import { RecordingReporter } from '../../../src/log/events.js';
import { assembleTreeOf, openPackageSource, resolveClosures, unpackPackages } from '../../../src/pipeline/packages.js';

// The real archive, through the mirror the build host's apt is configured with (CI has one).
// Set BOOTFORGE_SKIP_LIVE=1 on a machine without a Debian mirror.
const INSTALLER_SET = ['busybox-static', 'fdisk', 'e2fsprogs', 'dosfstools', 'systemd-boot-efi', 'linux-image-amd64'];

describe.skipIf(process.env.BOOTFORGE_SKIP_LIVE === '1')('live Debian mirror (host apt sources)', () => {
  it(
    'resolves, fetches and extracts the installer set',
    async () => {
      const reporter = new RecordingReporter();
      const source = openPackageSource(
        { suites: ['bookworm', 'bookworm-updates', 'bookworm-security'], components: ['main'], architecture: 'amd64' },
        {},
        reporter,
      );
      const { repository, closures } = await resolveClosures(source, {
        installer: { requests: INSTALLER_SET, essential: false, priorities: [] },
      });
      // Every suite verified against Debian's archive keyring.
      for (const s of repository.suites) expect(s.release.signer).toMatch(/^[0-9A-F]{40}$/);
      const list = closures.installer ?? [];
      const names = list.map((p) => p.record.name);
      for (const n of INSTALLER_SET) expect(names).toContain(n);
      const image = list.find((p) => /^linux-image-6\.\d+\.\d+-\d+-amd64$/.test(p.record.name));
      expect(image, 'the meta-package leads to a versioned generic kernel').toBeDefined();

      const unpacked = await unpackPackages(
        source,
        list.map((p) => p.record),
      );
      const tree = assembleTreeOf(unpacked);
      const kernel = image?.record.name.replace('linux-image-', '') ?? '';
      // Tools may be links (mkfs.ext4 -> mke2fs): follow them inside the tree.
      const expectFile = (path: string) => expect(tree.resolve(path, { follow: true })?.type, path).toBe('file');
      expectFile('/usr/bin/busybox');
      expectFile('/usr/sbin/sfdisk');
      expectFile('/usr/sbin/mkfs.ext4');
      expectFile('/usr/sbin/mkfs.fat');
      expectFile('/usr/lib/systemd/boot/efi/systemd-bootx64.efi');
      expectFile(`/boot/vmlinuz-${kernel}`);
      expectFile(`/usr/lib/modules/${kernel}/kernel/drivers/block/virtio_blk.ko`);
      expect(tree.get('/lib')).toMatchObject({ type: 'symlink', target: 'usr/lib' });
      expect(tree.get('/usr/bin/busybox')?.mode).toBe(0o755);
      // glibc's loader, found through the merged /lib64.
      expect(tree.resolve('/lib64/ld-linux-x86-64.so.2', { follow: true })?.type).toBe('file');
    },
    15 * 60_000,
  );
});
