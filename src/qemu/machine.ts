import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnInteractive, type Interactive } from '../exec/run.js';
import { SerialConsole } from './console.js';
import { findUefiFirmware } from './firmware.js';

export type DiskInterface = 'virtio' | 'usb' | 'nvme' | 'ahci';

export interface DiskSpec {
  readonly path: string;
  readonly format?: 'raw' | 'qcow2';
  readonly interface: DiskInterface;
  /** Appears as the disk's serial (by-id names, the installer's target rules). */
  readonly serial?: string;
  readonly readonly?: boolean;
  /** The firmware's boot order (0 first): tried in this order, before disks without one. */
  readonly bootIndex?: number;
}

export interface MachineSpec {
  /** tcg works everywhere; kvm only where /dev/kvm really works. */
  readonly accel: 'tcg' | 'kvm';
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Direct kernel boot (no firmware): fast, for initrd tests. */
  readonly kernel?: string;
  readonly initrd?: string;
  readonly append?: string;
  /** Boot through OVMF with this writable copy of the variable store (created from the template). */
  readonly uefi?: { readonly varsPath: string };
  readonly disks?: readonly DiskSpec[];
  /** SMBIOS strings, to fake a laptop's DMI: type 1 (system) and type 2 (board). */
  readonly smbios?: {
    readonly system?: Readonly<Record<string, string>>;
    readonly board?: Readonly<Record<string, string>>;
  };
  /**
   * SMBIOS OEM strings (type 11), e.g. `io.bootforge.test-shell=1`: how a test
   * tells the guest something before it boots (systemd reads them as credentials too).
   */
  readonly oemStrings?: readonly string[];
  /** Forward host 127.0.0.1:<port> to guest port 22 through user networking. */
  readonly sshPort?: number;
  readonly serialLog?: string;
  /**
   * pipe (default): the serial console on QEMU's stdin/stdout for a driver, and a guest
   * reboot ends QEMU. terminal: the serial console multiplexed with the monitor on the
   * terminal QEMU inherits (Ctrl-A X quits, Ctrl-A C the monitor), and a reboot reboots.
   */
  readonly console?: 'pipe' | 'terminal';
  /** Appended as given (a user's own QEMU options). */
  readonly extraArgs?: readonly string[];
}

function smbiosArg(type: number, fields: Readonly<Record<string, string>>): string[] {
  // QEMU's option syntax doubles commas inside values.
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/,/g, ',,')}`);
  return ['-smbios', [`type=${type}`, ...parts].join(',')];
}

export function qemuArgs(spec: MachineSpec): string[] {
  const args = [
    'qemu-system-x86_64',
    '-machine',
    `q35,accel=${spec.accel}`,
    ...(spec.accel === 'tcg' ? ['-cpu', 'max'] : ['-cpu', 'host']),
    '-m',
    String(spec.memoryMiB ?? 1024),
    '-smp',
    String(spec.cpus ?? 1),
    '-display',
    'none',
    ...(spec.console === 'terminal'
      ? ['-serial', 'mon:stdio']
      : ['-serial', 'stdio', '-monitor', 'none', '-no-reboot']),
  ];
  if (spec.kernel) args.push('-kernel', spec.kernel);
  if (spec.initrd) args.push('-initrd', spec.initrd);
  if (spec.append !== undefined) args.push('-append', spec.append);
  if (spec.uefi) {
    const fw = findUefiFirmware();
    args.push(
      '-drive',
      `if=pflash,format=${fw.format},unit=0,readonly=on,file=${fw.code}`,
      '-drive',
      `if=pflash,format=${fw.format},unit=1,file=${spec.uefi.varsPath}`,
    );
  }
  let usb = false;
  (spec.disks ?? []).forEach((d, i) => {
    const id = `disk${i}`;
    args.push(
      '-drive',
      `if=none,id=${id},format=${d.format ?? 'raw'},file=${d.path}${d.readonly ? ',readonly=on' : ''}`,
    );
    const boot = d.bootIndex !== undefined ? `,bootindex=${d.bootIndex}` : '';
    const props = `${d.serial ? `,serial=${d.serial}` : ''}${boot}`;
    switch (d.interface) {
      case 'virtio':
        args.push('-device', `virtio-blk-pci,drive=${id}${props}`);
        break;
      case 'nvme':
        args.push('-device', `nvme,drive=${id},serial=${d.serial ?? `NVME${i}`}${boot}`);
        break;
      case 'ahci':
        args.push('-device', `ide-hd,drive=${id},bus=ide.${i}${props}`);
        break;
      case 'usb':
        if (!usb) args.push('-device', 'qemu-xhci,id=xhci');
        usb = true;
        args.push('-device', `usb-storage,bus=xhci.0,drive=${id}${props}`);
        break;
    }
  });
  if (spec.smbios?.system) args.push(...smbiosArg(1, spec.smbios.system));
  if (spec.smbios?.board) args.push(...smbiosArg(2, spec.smbios.board));
  if (spec.oemStrings && spec.oemStrings.length > 0) {
    // One -smbios option takes every string; QEMU's option syntax doubles commas inside values.
    const values = spec.oemStrings.map((v) => `value=${v.replace(/,/g, ',,')}`);
    args.push('-smbios', ['type=11', ...values].join(','));
  }
  if (spec.sshPort !== undefined) {
    args.push(
      '-netdev',
      `user,id=net0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
      '-device',
      'virtio-net-pci,netdev=net0',
    );
  } else {
    args.push('-nic', 'none');
  }
  args.push(...(spec.extraArgs ?? []));
  return args;
}

export interface RunningMachine {
  readonly console: SerialConsole;
  readonly process: Interactive;
  readonly args: readonly string[];
  /** Resolves with QEMU's exit code when the guest powers off. */
  readonly exited: Promise<number>;
  kill(): void;
}

/** Makes a writable copy of OVMF's variable store for one machine. */
export function freshUefiVars(dir: string): string {
  const path = join(dir, 'OVMF_VARS.fd');
  copyFileSync(findUefiFirmware().varsTemplate, path);
  return path;
}

export function startMachine(spec: MachineSpec): RunningMachine {
  const args = qemuArgs(spec);
  const proc = spawnInteractive(args);
  const console = new SerialConsole(proc.stdout, proc.stdin, spec.serialLog);
  const exited = proc.exited.finally(() => console.close());
  return { console, process: proc, args, exited, kill: () => proc.kill() };
}
