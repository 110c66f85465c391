import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { readFat32 } from '../image/fat/reader.js';
import { resolveAccel } from '../qemu/boot-test.js';
import type { BuildManifest } from './build.js';

// bootforge test, as the CLI and library users reach it: the QEMU driver (src/qemu) plus
// what it needs from the image stage.
export {
  bootTest,
  BootTestError,
  readManifest,
  resolveAccel,
  type BootTestEvent,
  type BootTestOptions,
  type BootTestResult,
  type BootTestTimeouts,
  testCases,
} from '../qemu/boot-test.js';
export type { TestShell } from '../qemu/test-shell.js';
export { bootTestBuildEvents } from '../qemu/test-events.js';
export { parseInstallerLine, installerLineEvents, type InstallerLine } from '../qemu/installer-events.js';

/** Copies the installer's kernel (/bootforge/vmlinuz on the image's ESP) to `dest`, e.g. for resolveAccel. */
export async function installerKernel(image: string, manifest: BuildManifest, dest: string): Promise<string> {
  const esp = manifest.disk.partitions.find((p) => p.name === 'ESP');
  if (!esp) throw new BootforgeError('BF_BOOT_TEST', `the manifest of ${image} names no ESP partition`);
  const fd = openSync(image, 'r');
  try {
    const reader = await readFat32((offset, length) => {
      const b = Buffer.alloc(Math.max(0, Math.min(length, esp.size - offset)));
      return b.subarray(0, readSync(fd, b, 0, b.length, esp.start + offset));
    });
    writeFileSync(dest, await reader.readFile('/bootforge/vmlinuz'));
    return dest;
  } finally {
    closeSync(fd);
  }
}

/**
 * --accel auto for an image: kvm when the image's own kernel starts under KVM (some KVMs
 * start QEMU but cannot run Linux), else tcg. The kernel is copied into `workDir` and removed.
 */
export async function probeAccel(image: string, manifest: BuildManifest, workDir: string): Promise<'tcg' | 'kvm'> {
  mkdirSync(workDir, { recursive: true });
  const kernel = await installerKernel(image, manifest, join(workDir, 'probe-vmlinuz'));
  try {
    return await resolveAccel('auto', kernel);
  } finally {
    rmSync(kernel, { force: true });
  }
}
