import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

// `bootforge hardware detect` as users run it, in-process, on the sysfs snapshots in test/fixtures/sysfs.
const FIXTURES = 'test/fixtures/sysfs';
const work = mkdtempSync(join(tmpdir(), 'bootforge-detect-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const detect = (...args: string[]) => runCli(['hardware', 'detect', ...args]);

interface DetectJson {
  dmi: Record<string, string | null>;
  serial: { status: string; value?: string; perMachine?: boolean };
  matches: { id: string; score: number; rule: number }[];
  auto: { status: string; id?: string; ids?: string[] };
  initrdModules: { name: string; why: string }[];
  draft: { id: string; yaml: string } | { skipped: string } | null;
}

describe('bootforge hardware detect', () => {
  it('recognises the QEMU VM the boot tests use', async () => {
    const r = await detect('--sysfs', `${FIXTURES}/qemu-q35`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  sys_vendor       QEMU\n  product_name     Standard PC (Q35 + ICH9, 2009)\n');
    expect(r.stdout).toMatch(/^ {2}qemu-x86_64 {2}2 DMI fields, rule 1: sys_vendor=QEMU product_name=Standard PC/m);
    expect(r.stdout).toContain('hardware: auto picks qemu-x86_64 (2 DMI fields)');
    expect(r.stdout).toContain(
      '  sda (disk): 0:0:0:0 sd [sd_mod], 1-1:1.0 usb-storage [usb_storage], 1-1 usb [usbcore], usb1 usb [usbcore], 0000:00:02.0 xhci_hcd [xhci_pci]',
    );
    expect(r.stdout).toContain('  vda (disk): virtio1 virtio_blk, 0000:00:03.0 virtio-pci [virtio_pci]');
    expect(r.stdout).toContain('  all listed by qemu-x86_64');
    expect(r.stdout).not.toContain('draft');
  });

  it('recognises the ThinkPad, showing its serial number as per machine', async () => {
    const r = await detect('--sysfs', `${FIXTURES}/thinkpad-x1-carbon-gen11`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  product_serial   PF0EXMPL (per machine: never used to match)');
    expect(r.stdout).toContain('hardware: auto picks thinkpad-x1-carbon-gen11 (2 DMI fields)');
    expect(r.stdout).toContain(
      '  input3 (keyboard "AT Translated Set 2 keyboard"): serio0 atkbd (built in), i8042 i8042 (built in)',
    );
  });

  it('prints a draft description for an unknown model, the same as --json carries', async () => {
    const r = await detect('--sysfs', `${FIXTURES}/unknown-laptop`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('matching descriptions: none');
    expect(r.stdout).toContain(
      'hardware: auto picks generic-x86_64: no description matches this machine, and generic-x86_64 is the generic fallback',
    );
    expect(r.stdout).toContain('  not listed by generic-x86_64: vmd, thunderbolt');
    const marker =
      'draft description of this unknown model (review it, then save it as hardware/asustek-zenbook-ux3402za.yaml):\n\n';
    expect(r.stdout).toContain(marker);
    const yaml = r.stdout.slice(r.stdout.indexOf(marker) + marker.length);

    const j = await detect('--sysfs', `${FIXTURES}/unknown-laptop`, '--json');
    expect(j.code).toBe(0);
    const json = JSON.parse(j.stdout) as DetectJson;
    expect(json.draft).toEqual({ id: 'asustek-zenbook-ux3402za', yaml: `${yaml}\n` });
    expect(json.auto).toEqual({ status: 'generic', id: 'generic-x86_64' });

    // Saved where descriptions are looked up, it is used: the machine is no longer unknown.
    const dir = join(work, 'mine');
    mkdirSync(dir);
    writeFileSync(join(dir, 'asustek-zenbook-ux3402za.yaml'), yaml);
    const again = await detect('--sysfs', `${FIXTURES}/unknown-laptop`, '--hardware-dir', dir);
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain('hardware: auto picks asustek-zenbook-ux3402za (2 DMI fields)');
    expect(again.stdout).toContain('  all listed by asustek-zenbook-ux3402za');
  });

  it('prints stable JSON', async () => {
    const r = await detect('--sysfs', `${FIXTURES}/unknown-laptop`, '--json');
    expect(r.stdout).toMatchSnapshot();
    const t = JSON.parse(
      (await detect('--sysfs', `${FIXTURES}/thinkpad-x1-carbon-gen11`, '--json')).stdout,
    ) as DetectJson;
    expect(t.serial).toEqual({ status: 'readable', value: 'PF0EXMPL', perMachine: true });
    expect(t.dmi.sys_vendor).toBe('LENOVO');
    expect(t.matches).toEqual([expect.objectContaining({ id: 'thinkpad-x1-carbon-gen11', score: 2, rule: 0 })]);
    expect(t.draft).toBeNull();
  });

  it('warns about a tie, which would stop the installer', async () => {
    const dir = join(work, 'tie');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'qemu-other.yaml'),
      'id: qemu-other\ndescription: another QEMU description\nmatch:\n  - sys_vendor: QEMU\n    product_version: pc-q35-*\n',
    );
    const r = await detect('--sysfs', `${FIXTURES}/qemu-q35`, '--hardware-dir', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'hardware: auto picks nothing: qemu-other, qemu-x86_64 match equally well (2 DMI fields); the installer stops on a tie',
    );
    expect(r.stderr).toBe(
      'bootforge: warning: this machine matches qemu-other, qemu-x86_64 equally well: with hardware: auto the installer stops; make one of them more specific',
    );
  });

  it('reads a snapshot taken with its sys/ folder', async () => {
    const snap = join(work, 'snapshot');
    cpSync(`${FIXTURES}/qemu-q35`, join(snap, 'sys'), { recursive: true, verbatimSymlinks: true });
    const r = await detect('--sysfs', snap);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sysfs: ${join(snap, 'sys')}`);
    expect(r.stdout).toContain('hardware: auto picks qemu-x86_64');
  });

  it('refuses a missing sysfs folder as bad input (exit 2)', async () => {
    const r = await detect('--sysfs', join(work, 'no-such-folder'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^BF_SYSFS: cannot read sysfs at .*no-such-folder: no such folder\nhint: /);
  });
});
