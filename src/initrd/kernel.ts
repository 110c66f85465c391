import { BootforgeError } from '../errors/index.js';
import type { FsTree } from '../fstree/tree.js';
import type { FileEntry } from '../fstree/types.js';

/** The kernel an unpacked tree carries: its release, its image, and where its modules are. */
export interface KernelInTree {
  /** Release string as `uname -r` prints it: "6.1.0-28-amd64". */
  readonly release: string;
  readonly vmlinuz: FileEntry;
  readonly modulesDir: string;
}

/**
 * Finds the one kernel in a tree (Debian puts the image at /boot/vmlinuz-<release>
 * and modules under /usr/lib/modules/<release>). Two kernels are ambiguous: a
 * profile names one kernel package.
 */
export function findKernel(tree: FsTree): KernelInTree {
  const releases = new Set<string>();
  for (const e of tree.entries()) {
    const m = /^\/usr\/lib\/modules\/([^/]+)\/kernel$/.exec(e.path);
    if (m?.[1] !== undefined && e.type === 'dir') releases.add(m[1]);
  }
  const found = [...releases].filter((r) => tree.get(`/boot/vmlinuz-${r}`)?.type === 'file');
  if (found.length !== 1) {
    throw new BootforgeError(
      'BF_KERNEL_NOT_FOUND',
      found.length === 0
        ? 'the unpacked packages contain no kernel (no /boot/vmlinuz-<release> with /usr/lib/modules/<release>)'
        : `the unpacked packages contain several kernels: ${found.join(', ')}`,
      { hint: 'kernel.package must name one kernel image package, e.g. linux-image-amd64' },
    );
  }
  const release = found[0] ?? '';
  return {
    release,
    vmlinuz: tree.get(`/boot/vmlinuz-${release}`) as FileEntry,
    modulesDir: `/usr/lib/modules/${release}`,
  };
}
