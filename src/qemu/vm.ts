import { basename, dirname, extname, join } from 'node:path';
import { qemuArgs, type DiskSpec, type MachineSpec } from './machine.js';

/**
 * `bootforge vm`, the QEMU side: one machine like a person's PC, the installer image
 * as a read-only USB stick, a persistent target disk and firmware variables, the
 * serial console on the terminal. Pure: the pipeline decides what the target holds.
 */

export type DiskFormat = 'raw' | 'qcow2';

/** A new target disk's size: room for a few generations of a desktop system. */
export const DEFAULT_VM_DISK_SIZE = 8 * 1024 ** 3;

/** What the person at the terminal needs before QEMU takes it over (QEMU's mux keys). */
export const VM_QUIT_HELP = 'Ctrl-A X quits QEMU, Ctrl-A C toggles its monitor, Ctrl-A H lists the keys';

/** qcow2 by the name's extension, raw for everything else (.img, .raw, a device). */
export function diskFormatOf(path: string): DiskFormat {
  return extname(path).toLowerCase() === '.qcow2' ? 'qcow2' : 'raw';
}

/** `<image dir>/vm/target.img`: beside the image, so each build output keeps its own machine. */
export function defaultTargetPath(image: string): string {
  return join(dirname(image), 'vm', 'target.img');
}

/** `<dir>/<target name without extension>.vars.fd`: the machine's UEFI variables live with its disk. */
export function varsPathFor(target: string): string {
  return join(dirname(target), `${basename(target, extname(target))}.vars.fd`);
}

export interface VmBootChoice {
  /** Whether the installer stick is attached. */
  readonly installer: boolean;
  /** Why, for the person at the terminal. */
  readonly reason: string;
}

/** A blank (or unfinished) target needs the installer; an installed one boots alone unless asked. */
export function chooseVmBoot(installed: boolean, wantInstaller = false): VmBootChoice {
  if (!installed)
    return { installer: true, reason: 'the target disk holds no installed system: booting the installer' };
  if (wantInstaller)
    return {
      installer: true,
      reason: 'the target disk holds an installed system; booting the installer (--installer)',
    };
  return {
    installer: false,
    reason: 'the target disk holds an installed system: booting it without the installer (--installer to add it)',
  };
}

export interface VmMachineOptions {
  /** The installer image (raw or qcow2 by its extension). */
  readonly image: string;
  readonly target: string;
  /** The persistent copy of OVMF's variables. */
  readonly vars: string;
  readonly installed: boolean;
  /** Attach the installer stick. */
  readonly installer: boolean;
  readonly accel: 'tcg' | 'kvm';
  /** Default 1024. */
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Forward 127.0.0.1:<port> to the guest's port 22. */
  readonly sshPort?: number;
  /** The user's own QEMU options, appended. */
  readonly extraArgs?: readonly string[];
}

/**
 * The machine: never the test shell's OEM string, so the installed system shows a login
 * prompt. Boot order as on a PC after an install: the target first, so that an
 * installer that reboots lands in the installed system; with --installer on an
 * installed target, the stick first, or it would never boot.
 */
export function vmMachine(o: VmMachineOptions): MachineSpec {
  const stickFirst = o.installed && o.installer;
  const target: DiskSpec = {
    path: o.target,
    format: diskFormatOf(o.target),
    interface: 'virtio',
    serial: 'bootforge-target',
    bootIndex: stickFirst ? 1 : 0,
  };
  const stick: DiskSpec = {
    path: o.image,
    format: diskFormatOf(o.image),
    interface: 'usb',
    readonly: true,
    serial: 'bootforge-installer',
    bootIndex: stickFirst ? 0 : 1,
  };
  return {
    accel: o.accel,
    memoryMiB: o.memoryMiB ?? 1024,
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    uefi: { varsPath: o.vars },
    disks: o.installer ? [stick, target] : [target],
    console: 'terminal',
    ...(o.sshPort !== undefined ? { sshPort: o.sshPort } : {}),
    ...(o.extraArgs && o.extraArgs.length > 0 ? { extraArgs: o.extraArgs } : {}),
  };
}

/** QEMU's argv for the machine (reads QEMU's firmware descriptors to find OVMF). */
export function vmArgs(o: VmMachineOptions): string[] {
  return qemuArgs(vmMachine(o));
}
