import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFat32 } from '../../../src/image/fat32.js';
import { writeGpt, MIB } from '../../../src/image/gpt.js';
import { PARTITION_TYPE } from '../../../src/image/guid.js';
import { planVm, targetInstalled } from '../../../src/pipeline/vm.js';
import { findUefiFirmware } from '../../../src/qemu/firmware.js';
import { toolRuns } from '../../helpers/tools.js';

const work = mkdtempSync(join(tmpdir(), 'bf-vm-plan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A 128 MiB raw disk with a GPT and a FAT32 ESP holding `files`, as an installer leaves one. */
async function diskWith(path: string, files: readonly string[]): Promise<string> {
  const gpt = writeGpt({
    diskSize: 128 * MIB,
    diskGuid: '8A4D5B1E-0C8B-4B3C-9D39-5D1C2A8E7F10',
    partitions: [
      { name: 'ESP', type: PARTITION_TYPE.esp, size: 64 * MIB },
      { name: 'root', type: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', size: 'rest' },
    ],
  });
  const esp = gpt.layout.partitions[0];
  if (!esp) throw new Error('no ESP');
  const fd = openSync(path, 'w');
  try {
    for (const w of gpt.writes) writeSync(fd, w.data, 0, w.data.length, w.offset);
    await writeFat32(
      {
        size: esp.size,
        label: 'ESP',
        volumeId: 1,
        timestamp: new Date(0),
        hiddenSectors: esp.firstLba,
        files: files.map((p) => ({ path: p, data: Buffer.from('title x\n') })),
      },
      (offset, data) => void writeSync(fd, data, 0, data.length, esp.start + offset),
    );
  } finally {
    closeSync(fd);
  }
  return path;
}

const image = join(work, 'installer.img');
writeFileSync(image, Buffer.alloc(1024 * 1024));

describe('bootforge vm: what the target disk holds', () => {
  it('an ESP with a bootforge generation entry is an installed system', async () => {
    const disk = await diskWith(join(work, 'installed.img'), [
      '/loader/entries/bootforge-gen-1+3.conf',
      '/EFI/BOOT/BOOTX64.EFI',
    ]);
    expect(await targetInstalled(disk)).toBe(true);
  });

  it('a blank disk, a GPT without that entry (an interrupted install, the installer image) are not', async () => {
    const blank = join(work, 'blank.img');
    closeSync(openSync(blank, 'w'));
    execFileSync('truncate', ['-s', '64M', blank]);
    expect(await targetInstalled(blank)).toBe(false);
    expect(await targetInstalled(await diskWith(join(work, 'half.img'), ['/EFI/BOOT/BOOTX64.EFI']))).toBe(false);
    expect(await targetInstalled(await diskWith(join(work, 'stick.img'), ['/loader/entries/install.conf']))).toBe(
      false,
    );
  });

  it.runIf(toolRuns('qemu-img'))('reads a qcow2 target through qemu-img', async () => {
    const raw = await diskWith(join(work, 'q.img'), ['/loader/entries/bootforge-gen-2.conf']);
    const qcow2 = join(work, 'q.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    expect(await targetInstalled(qcow2)).toBe(true);
  });
});

describe('bootforge vm: planning the machine', () => {
  it('creates a sparse blank target and the firmware variables beside it, and boots the installer', async () => {
    const plan = await planVm({ image, accel: 'tcg', targetSize: 256 * MIB });
    expect(plan.target).toBe(join(work, 'vm', 'target.img'));
    expect(plan.vars).toBe(join(work, 'vm', 'target.vars.fd'));
    expect(plan).toMatchObject({ created: true, installed: false, installer: true, accel: 'tcg', targetFormat: 'raw' });
    expect(statSync(plan.target).size).toBe(256 * MIB);
    expect(statSync(plan.target).blocks).toBe(0);
    expect(readFileSync(plan.vars)).toEqual(readFileSync(findUefiFirmware().varsTemplate));
    expect(plan.args).toContain(`if=none,id=disk0,format=raw,file=${image},readonly=on`);
  });

  it('keeps the target and variables of an earlier run; --fresh recreates both', async () => {
    const target = await diskWith(join(work, 'disk.img'), ['/loader/entries/bootforge-gen-1.conf']);
    const vars = join(work, 'disk.vars.fd');
    writeFileSync(vars, 'the machine’s own variables');
    const again = await planVm({ image, target, accel: 'tcg' });
    expect(again).toMatchObject({ created: false, installed: true, installer: false });
    expect(again.args.join(' ')).not.toContain('bootforge-installer');
    expect(readFileSync(vars, 'utf8')).toBe('the machine’s own variables');
    const withStick = await planVm({ image, target, accel: 'tcg', installer: true });
    expect(withStick).toMatchObject({ installed: true, installer: true });

    const fresh = await planVm({ image, target, accel: 'tcg', fresh: true, targetSize: 64 * MIB });
    expect(fresh).toMatchObject({ created: true, installed: false, installer: true });
    expect(statSync(target).size).toBe(64 * MIB);
    expect(readFileSync(vars)).toEqual(readFileSync(findUefiFirmware().varsTemplate));
  });

  it.runIf(toolRuns('qemu-img'))('creates a qcow2 target with qemu-img', async () => {
    const target = join(work, 'laptop.qcow2');
    const plan = await planVm({ image, target, accel: 'tcg', targetSize: 64 * MIB });
    expect(plan).toMatchObject({ created: true, targetFormat: 'qcow2', vars: join(work, 'laptop.vars.fd') });
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', target], { encoding: 'utf8' })) as {
      format: string;
      'virtual-size': number;
    };
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * MIB });
    expect(plan.args).toContain(`if=none,id=disk1,format=qcow2,file=${target}`);
  });

  it('refuses a missing image', async () => {
    await expect(planVm({ image: join(work, 'nope.img'), accel: 'tcg' })).rejects.toMatchObject({
      code: 'BF_FILE_NOT_FOUND',
    });
    expect(existsSync(join(work, 'vm', 'nope'))).toBe(false);
  });
});
