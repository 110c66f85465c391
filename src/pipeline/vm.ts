import {
  closeSync,
  copyFileSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { run, runAttached } from '../exec/run.js';
import type { BlockReader } from '../image/gpt.js';
import { inspectReader } from '../image/inspect.js';
import { qcow2Reader } from '../image/qcow2.js';
import { findUefiFirmware } from '../qemu/firmware.js';
import {
  chooseVmBoot,
  DEFAULT_VM_DISK_SIZE,
  defaultTargetPath,
  diskFormatOf,
  varsPathFor,
  vmArgs,
  type DiskFormat,
} from '../qemu/vm.js';
import { probeAccel, readManifest } from './boot-test.js';

export { DEFAULT_VM_DISK_SIZE, VM_QUIT_HELP, type DiskFormat } from '../qemu/vm.js';

/**
 * `bootforge vm` as a library: boots an installer image (or the system it installed)
 * interactively in QEMU with OVMF, like `mkosi vm`. The target disk and the firmware
 * variables persist between runs, as on a real machine.
 *
 *     const r = await vm({ image: 'out/minimal/installer.img', onStart: (p) => console.error(p.reason) });
 */

export interface VmOptions {
  /** The installer image (`installer.img`, or a qcow2 by its extension). */
  readonly image: string;
  /** The target disk (raw, or qcow2 by its extension); default `<image dir>/vm/target.img`. */
  readonly target?: string;
  /** Size of a new target disk in bytes; default 8 GiB. */
  readonly targetSize?: number;
  /** Recreate the target disk and the firmware variables. */
  readonly fresh?: boolean;
  /** Attach the installer stick even when the target holds an installed system. */
  readonly installer?: boolean;
  /** Default auto: kvm when the image's kernel runs under KVM, else tcg. */
  readonly accel?: 'tcg' | 'kvm' | 'auto';
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Forward 127.0.0.1:<port> to the guest's port 22 (user networking). */
  readonly sshPort?: number;
  /** More QEMU options, appended. */
  readonly qemuArgs?: readonly string[];
  /** Called with the plan just before QEMU takes over the terminal. */
  readonly onStart?: (plan: VmPlan) => void;
}

export interface VmPlan {
  readonly image: string;
  readonly target: string;
  readonly targetFormat: DiskFormat;
  /** The target was created (blank) for this run. */
  readonly created: boolean;
  readonly vars: string;
  /** The target held an installed bootforge system before this run. */
  readonly installed: boolean;
  /** The installer stick is attached. */
  readonly installer: boolean;
  /** Why the installer is or is not attached. */
  readonly reason: string;
  readonly accel: 'tcg' | 'kvm';
  readonly args: readonly string[];
}

export interface VmResult extends VmPlan {
  /** QEMU's exit code: 0 after Ctrl-A X or the guest's poweroff. */
  readonly exitCode: number;
}

/**
 * Whether a disk holds an installed bootforge system: a GPT with an ESP whose
 * loader/entries hold a bootforge generation entry (the installer writes it last of
 * the ESP's files, so an interrupted install does not count).
 */
export async function holdsInstalledSystem(disk: BlockReader): Promise<boolean> {
  try {
    const info = await inspectReader(disk);
    return Object.keys(info.esp?.loader ?? {}).some((p) => /^\/loader\/entries\/bootforge-gen-\d+.*\.conf$/.test(p));
  } catch (e) {
    if (e instanceof BootforgeError) return false;
    throw e;
  }
}

/** Opens a target disk (raw or qcow2) and asks holdsInstalledSystem. */
export async function targetInstalled(path: string, format: DiskFormat = diskFormatOf(path)): Promise<boolean> {
  if (format === 'qcow2') {
    const scratch = mkdtempSync(join(dirname(path), '.inspect-'));
    try {
      return await holdsInstalledSystem(await qcow2Reader(path, scratch));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return await holdsInstalledSystem({
      size,
      read: async (offset, length) => {
        const buf = Buffer.alloc(length);
        await handle.read(buf, 0, length, offset);
        return buf;
      },
    });
  } finally {
    await handle.close();
  }
}

/** A blank disk, written beside its final name and renamed: a half-made disk never looks like a target. */
async function createTarget(path: string, format: DiskFormat, size: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  if (format === 'qcow2') {
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', tmp, String(size)]);
  } else {
    const fd = openSync(tmp, 'w');
    try {
      ftruncateSync(fd, size);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(tmp, path);
}

/** The machine's own copy of OVMF's variable store, from the template when it has none. */
function ensureVars(path: string): void {
  if (existsSync(path)) return;
  const tmp = `${path}.tmp-${process.pid}`;
  copyFileSync(findUefiFirmware().varsTemplate, tmp);
  renameSync(tmp, path);
}

async function chooseAccel(image: string, accel: VmOptions['accel'], workDir: string): Promise<'tcg' | 'kvm'> {
  if (accel !== undefined && accel !== 'auto') return accel;
  // The probe boots the image's own kernel, read from the raw image beside a qcow2.
  const raw = diskFormatOf(image) === 'raw' ? image : join(dirname(image), 'installer.img');
  if (!existsSync(raw) || !existsSync(join(dirname(image), 'manifest.json'))) return 'tcg';
  return probeAccel(raw, readManifest(dirname(image)), workDir);
}

/** Prepares the target disk and firmware variables and decides how to boot; starts nothing. */
export async function planVm(options: VmOptions): Promise<VmPlan> {
  const image = resolvePath(options.image);
  if (!existsSync(image)) {
    throw new BootforgeError('BF_FILE_NOT_FOUND', `no installer image at ${image}`, {
      hint: 'build one with bootforge build <profile>, or pass the profile to bootforge vm',
    });
  }
  const target = resolvePath(options.target ?? defaultTargetPath(image));
  const targetFormat = diskFormatOf(target);
  const vars = varsPathFor(target);
  if (options.fresh) {
    rmSync(target, { force: true });
    rmSync(vars, { force: true });
  }
  const created = !existsSync(target);
  if (created) await createTarget(target, targetFormat, options.targetSize ?? DEFAULT_VM_DISK_SIZE);
  ensureVars(vars);
  const installed = !created && (await targetInstalled(target, targetFormat));
  const choice = chooseVmBoot(installed, options.installer);
  const accel = await chooseAccel(image, options.accel, dirname(target));
  const args = vmArgs({
    image,
    target,
    vars,
    installed,
    installer: choice.installer,
    accel,
    ...(options.memoryMiB !== undefined ? { memoryMiB: options.memoryMiB } : {}),
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    ...(options.sshPort !== undefined ? { sshPort: options.sshPort } : {}),
    ...(options.qemuArgs ? { extraArgs: options.qemuArgs } : {}),
  });
  return { image, target, targetFormat, created, vars, installed, ...choice, accel, args };
}

/** Plans the machine and runs QEMU on this terminal until it exits. */
export async function vm(options: VmOptions): Promise<VmResult> {
  const plan = await planVm(options);
  options.onStart?.(plan);
  const exitCode = await runAttached(plan.args);
  return { ...plan, exitCode };
}
