/**
 * A fake sysfs for `bootforge flash` (fake-sysfs.ts's machine plus what flash looks
 * up: dev/block/M:m links and `dev` attributes), so a test can present a real loop
 * device, found by its device number, as a removable USB stick.
 */
import { mkdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { devString } from '../../src/flash/device.js';
import { fakeMachine, type FakeDisk, type FakeMachine, type FakeMachineOptions } from './fake-sysfs.js';

export interface FlashDisk extends FakeDisk {
  /** "major:minor" this disk answers to: a real device's (devOf('/dev/loop3')) or made up. */
  readonly dev: string;
}

/** "major:minor" of a block device node. */
export const devOf = (node: string): string => devString(statSync(node).rdev);

export function flashMachine(root: string, disks: readonly FlashDisk[], options: FakeMachineOptions = {}): FakeMachine {
  const machine = fakeMachine(
    root,
    disks.map((d) => ({ ...d, image: false })),
    options,
  );
  for (const d of disks) {
    const dir = realpathSync(join(machine.sysfs, 'block', d.name));
    writeFileSync(join(dir, 'dev'), `${d.dev}\n`);
    const link = join(machine.sysfs, 'dev', 'block', d.dev);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), dir), link);
  }
  return machine;
}
