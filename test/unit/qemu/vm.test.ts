import { describe, expect, it } from 'vitest';
import { TEST_SHELL_OEM_STRING } from '../../../src/qemu/boot-test.js';
import { findUefiFirmware } from '../../../src/qemu/firmware.js';
import { qemuArgs } from '../../../src/qemu/machine.js';
import {
  chooseVmBoot,
  defaultTargetPath,
  diskFormatOf,
  varsPathFor,
  vmArgs,
  type VmMachineOptions,
} from '../../../src/qemu/vm.js';

const base: VmMachineOptions = {
  image: '/o/minimal/installer.img',
  target: '/o/minimal/vm/target.img',
  vars: '/o/minimal/vm/target.vars.fd',
  installed: false,
  installer: true,
  accel: 'tcg',
};

/** The value after each occurrence of `flag`. */
const values = (args: readonly string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('bootforge vm: paths and formats', () => {
  it('keeps the target and its firmware variables beside the image', () => {
    expect(defaultTargetPath('/o/minimal/installer.img')).toBe('/o/minimal/vm/target.img');
    expect(varsPathFor('/o/minimal/vm/target.img')).toBe('/o/minimal/vm/target.vars.fd');
    expect(varsPathFor('/disks/laptop.qcow2')).toBe('/disks/laptop.vars.fd');
  });

  it('takes qcow2 from the extension, raw otherwise', () => {
    expect(diskFormatOf('a/installer.qcow2')).toBe('qcow2');
    expect(diskFormatOf('a/INSTALLER.QCOW2')).toBe('qcow2');
    expect(diskFormatOf('a/installer.img')).toBe('raw');
    expect(diskFormatOf('/dev/sdb')).toBe('raw');
  });
});

describe('bootforge vm: installer or installed system', () => {
  it('boots the installer for a blank target, the installed system alone otherwise', () => {
    expect(chooseVmBoot(false)).toMatchObject({ installer: true });
    expect(chooseVmBoot(false, true)).toMatchObject({ installer: true });
    expect(chooseVmBoot(true)).toMatchObject({ installer: false });
    expect(chooseVmBoot(true).reason).toContain('without the installer');
    expect(chooseVmBoot(true, true)).toMatchObject({ installer: true });
    expect(chooseVmBoot(true, true).reason).toContain('--installer');
  });
});

describe('bootforge vm: QEMU argv', () => {
  it('puts the serial console and the monitor on the terminal, and lets the guest reboot', () => {
    const args = vmArgs(base);
    expect(args[0]).toBe('qemu-system-x86_64');
    expect(values(args, '-serial')).toEqual(['mon:stdio']);
    expect(values(args, '-display')).toEqual(['none']);
    expect(args).not.toContain('-monitor');
    expect(args).not.toContain('-no-reboot');
    // The boot test's machine keeps its piped console and -no-reboot.
    const piped = qemuArgs({ accel: 'tcg' });
    expect(values(piped, '-serial')).toEqual(['stdio']);
    expect(piped).toContain('-no-reboot');
  });

  it('never passes the test shell OEM string (the installed system must show a login prompt)', () => {
    const args = vmArgs({ ...base, installed: true, installer: true, sshPort: 2222 });
    expect(args.join(' ')).not.toContain(TEST_SHELL_OEM_STRING);
    expect(values(args, '-smbios')).toEqual([]);
  });

  it('boots OVMF with the persistent variables file, read-write', () => {
    const fw = findUefiFirmware();
    const drives = values(vmArgs(base), '-drive');
    expect(drives).toContain(`if=pflash,format=${fw.format},unit=0,readonly=on,file=${fw.code}`);
    expect(drives).toContain(`if=pflash,format=${fw.format},unit=1,file=${base.vars}`);
  });

  it('attaches the installer as a read-only USB stick after the target when the target is blank', () => {
    const args = vmArgs(base);
    const drives = values(args, '-drive');
    expect(drives).toContain(`if=none,id=disk0,format=raw,file=${base.image},readonly=on`);
    expect(drives).toContain(`if=none,id=disk1,format=raw,file=${base.target}`);
    const devices = values(args, '-device');
    expect(devices).toContain('qemu-xhci,id=xhci');
    // The target first: an installer that reboots lands in the installed system.
    expect(devices).toContain('usb-storage,bus=xhci.0,drive=disk0,serial=bootforge-installer,bootindex=1');
    expect(devices).toContain('virtio-blk-pci,drive=disk1,serial=bootforge-target,bootindex=0');
  });

  it('boots an installed target alone', () => {
    const args = vmArgs({ ...base, installed: true, installer: false });
    const drives = values(args, '-drive').filter((d) => d?.startsWith('if=none'));
    expect(drives).toEqual([`if=none,id=disk0,format=raw,file=${base.target}`]);
    expect(args.join(' ')).not.toContain('usb-storage');
    expect(values(args, '-device')).toContain('virtio-blk-pci,drive=disk0,serial=bootforge-target,bootindex=0');
  });

  it('puts the stick first with --installer on an installed target', () => {
    const devices = values(vmArgs({ ...base, installed: true, installer: true }), '-device');
    expect(devices).toContain('usb-storage,bus=xhci.0,drive=disk0,serial=bootforge-installer,bootindex=0');
    expect(devices).toContain('virtio-blk-pci,drive=disk1,serial=bootforge-target,bootindex=1');
  });

  it('takes qcow2 disks by extension', () => {
    const drives = values(vmArgs({ ...base, image: '/i/installer.qcow2', target: '/t/pc.qcow2' }), '-drive');
    expect(drives).toContain('if=none,id=disk0,format=qcow2,file=/i/installer.qcow2,readonly=on');
    expect(drives).toContain('if=none,id=disk1,format=qcow2,file=/t/pc.qcow2');
  });

  it('passes accel, memory, CPUs, the SSH forward and extra QEMU options (last, as given)', () => {
    const args = vmArgs({ ...base, accel: 'kvm', memoryMiB: 2048, cpus: 2, sshPort: 2222, extraArgs: ['-s', '-S'] });
    expect(values(args, '-machine')).toEqual(['q35,accel=kvm']);
    expect(values(args, '-cpu')).toEqual(['host']);
    expect(values(args, '-m')).toEqual(['2048']);
    expect(values(args, '-smp')).toEqual(['2']);
    expect(values(args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22']);
    expect(args.slice(-2)).toEqual(['-s', '-S']);
    const plain = vmArgs(base);
    expect(values(plain, '-m')).toEqual(['1024']);
    expect(values(plain, '-nic')).toEqual(['none']);
  });
});
