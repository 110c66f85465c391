import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'bf-vm-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const image = join(work, 'installer.img');
writeFileSync(image, Buffer.alloc(4096));

// Every refusal comes before QEMU starts: exit 2 (bad input) with BF_USAGE or BF_FILE_NOT_FOUND.
describe('bootforge vm: arguments', () => {
  it.each([
    [['--accel', 'xen'], /BF_USAGE[\s\S]*unknown accelerator "xen"/],
    [['--disk-size', 'lots'], /BF_USAGE[\s\S]*--disk-size takes a size of at least 64MiB/],
    [['--disk-size', '1MiB'], /BF_USAGE[\s\S]*--disk-size/],
    [['--memory', '1.5'], /BF_USAGE[\s\S]*--memory takes a whole number from 128/],
    [['--cpus', '0'], /BF_USAGE[\s\S]*--cpus takes a whole number from 1 to 256/],
    [['--ssh-port', '70000'], /BF_USAGE[\s\S]*--ssh-port takes a whole number from 1 to 65535/],
    [['--json'], /BF_USAGE[\s\S]*vm is interactive and has no JSON output[\s\S]*hint: .*bootforge build --json/],
  ])('refuses %j', async (flags, message) => {
    const r = await runCli(['vm', image, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a missing image and creates nothing', async () => {
    const r = await runCli(['vm', join(work, 'none.img'), '--accel', 'tcg']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BF_FILE_NOT_FOUND[\s\S]*no installer image at/);
  });

  it('lists its options in --help', async () => {
    const r = await runCli(['vm', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--target',
      '--disk-size',
      '--fresh',
      '--installer',
      '--accel',
      '--memory',
      '--cpus',
      '--ssh-port',
    ])
      expect(r.stdout).toContain(flag);
  });
});
