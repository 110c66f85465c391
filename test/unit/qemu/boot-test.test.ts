import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname as hostHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BuildManifest } from '../../../src/pipeline/build.js';
import { resolve } from '../../../src/pipeline/resolve.js';
import type { ResolvedProfile } from '../../../src/profile/resolve.js';
import {
  BootTestError,
  bootTest,
  dmiWord,
  expectedHostname,
  smbiosFor,
  testCases,
  type BootTestEvent,
} from '../../../src/qemu/boot-test.js';
import { findUefiFirmware } from '../../../src/qemu/firmware.js';
import { shQuote, renderTemplate } from '../../../src/templates/render.js';

const work = mkdtempSync(join(tmpdir(), 'bf-boot-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('host names with DMI placeholders', () => {
  it('fills them as the installed system does: lower case, runs of other characters as one "-"', () => {
    expect(dmiWord('BF-TEST-0001')).toBe('bf-test-0001');
    expect(dmiWord('  Dell Inc. / XPS  ')).toBe('dell-inc-xps');
    expect(dmiWord('')).toBe('unknown');
    expect(dmiWord('---')).toBe('unknown');
    expect(dmiWord('A'.repeat(50))).toBe('a'.repeat(40));
    expect(expectedHostname('ws-{{serial}}', { serial: 'PF3X ABC' })).toBe('ws-pf3x-abc');
    expect(expectedHostname('{{ vendor }}-{{product}}', { manufacturer: 'LENOVO', product: '21HM' })).toBe(
      'lenovo-21hm',
    );
    expect(expectedHostname('plain')).toBe('plain');
  });

  it('gives the VM test values for the fields the host name needs, keeping given ones', () => {
    expect(smbiosFor('minimal')).toEqual({});
    expect(smbiosFor('ws-{{serial}}')).toEqual({ system: { serial: 'BF-TEST-0001' } });
    expect(smbiosFor('{{vendor}}-{{serial}}', { system: { serial: 'X1' }, board: { product: 'b' } })).toEqual({
      system: { serial: 'X1', manufacturer: 'bootforge' },
      board: { product: 'b' },
    });
  });
});

describe('profile tests', () => {
  it('reads a string as a command that must succeed, and objects as they are', () => {
    expect(
      testCases([
        'id demo',
        { name: 'no root password', fail: 'grep -q x /etc/shadow', timeout: 5 },
        { succeed: 'true' },
        {},
      ]),
    ).toEqual([
      { name: 'id demo', succeed: 'id demo' },
      { name: 'no root password', fail: 'grep -q x /etc/shadow', timeoutMs: 5000 },
      { name: 'true', succeed: 'true' },
      { name: '(empty test)' },
    ]);
  });
});

// bootTest with a stand-in for qemu-system-x86_64 (BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64): a script
// that prints what the installer or the installed system would, then runs the real test shell
// on its stdio. The checks then run on this host: those that hold here pass, the others fail.
let haveFirmware = true;
try {
  findUefiFirmware();
} catch {
  haveFirmware = false;
}
const ID = 'abc123';
const SERVER = join(work, 'test-shell');
writeFileSync(SERVER, renderTemplate('generation/test-shell.sh.hbs', {}));
const manifest = {
  profile: 'minimal',
  generation: { number: 1, id: ID, name: `${ID}-minimal`, path: `/bootforge/store/${ID}-minimal` },
} as unknown as BuildManifest;

let n = 0;
function fakeQemu(install: string, boot: string): string {
  const dir = join(work, `fake${++n}`);
  const script = [
    '#!/bin/sh',
    `dir=${shQuote(dir)}`,
    'case " $* " in *usb-storage*) mode=install ;; *) mode=boot ;; esac',
    'printf "%s\\n" "$@" >"$dir-args-$mode"',
    'echo "BdsDxe: loading Boot0001"',
    'if [ "$mode" = install ]; then',
    install,
    'else',
    boot,
    'fi',
    '',
  ].join('\n');
  writeFileSync(`${dir}.sh`, script, { mode: 0o755 });
  return dir;
}
const INSTALLED = [
  "echo 'bootforge: [1/2] partitioning /dev/vda'",
  "echo 'bootforge: [2/2] unpacking the system'",
  `echo 'bootforge: installed minimal generation 1 (${ID}) on /dev/vda'`,
  'exit 0',
].join('\n');
const BOOTED = [`echo 'bootforge: generation 1 (${ID}) active'`, `exec sh ${shQuote(SERVER)}`].join('\n');

const previous = process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64;
afterEach(() => {
  if (previous === undefined) delete process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64;
  else process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64 = previous;
});

/** minimal.yaml with what this host can satisfy: its host name, root in group root, a word of its /proc/cmdline. */
function hostProfile(): ResolvedProfile {
  const { resolved } = resolve({ profile: 'profiles/minimal.yaml' });
  const word = readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/)[0] ?? '';
  return {
    ...resolved,
    data: {
      ...resolved.data,
      system: { ...resolved.data.system, hostname: hostHostname() },
      users: [
        {
          ...resolved.data.users[0],
          name: 'root',
          uid: 0,
          groups: ['root'],
        } as ResolvedProfile['data']['users'][number],
      ],
      kernel: { ...resolved.data.kernel, params: word ? [word] : [] },
      tests: ['true', { name: 'must fail', fail: 'false' }, { name: 'fails', succeed: 'echo nope; exit 2' }],
    },
  };
}

async function failure(p: Promise<unknown>): Promise<BootTestError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(BootTestError);
  return e as BootTestError;
}

describe('bootTest with a stand-in for QEMU', () => {
  it('installs, boots, runs the checks and the tests, and names the first failing step', async (ctx) => {
    if (!haveFirmware) ctx.skip('OVMF is not installed');
    const fake = fakeQemu(INSTALLED, BOOTED);
    process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64 = `${fake}.sh`;
    const image = join(work, 'installer.img');
    writeFileSync(image, '');
    const events: BootTestEvent[] = [];
    const workDir = join(work, 'run1');
    const e = await failure(
      bootTest({
        image,
        manifest,
        profile: hostProfile(),
        workDir,
        targetSize: 1024 ** 3,
        onEvent: (ev) => events.push(ev),
      }),
    );
    // This host has no /run/current-system and no bootforge boot entries.
    expect(e.step).toBe('check current system');
    expect(e.code).toBe('BF_BOOT_TEST');
    expect(e.message).toMatch(/^check current system failed \(and 2 more failed\): /);
    expect(e.hint).toContain(`serial log: ${join(workDir, 'boot.log')}`);
    expect(e.checks.map((c) => [c.name, c.ok])).toEqual([
      ['hostname', true],
      ['user root', true],
      ['kernel parameters', true],
      ['current system', false],
      ['boot entry', false],
    ]);
    expect(e.tests.map((c) => [c.name, c.ok])).toEqual([
      ['true', true],
      ['must fail', true],
      ['fails', false],
    ]);
    expect(e.tests[2]?.detail).toContain('command failed with exit status 2: echo nope; exit 2');
    expect(e.tests[2]?.detail).toContain('nope');
    expect(events).toContainEqual({ type: 'progress', step: 2, steps: 2, message: 'unpacking the system' });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'mark', phase: 'install', message: 'installed on /dev/vda' }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'mark', phase: 'boot', message: 'test shell ready' }),
    );

    // The installer ran from a read-only USB stick beside the blank target; the installed disk booted alone.
    const install = readFileSync(`${fake}-args-install`, 'utf8');
    expect(install).toContain(`if=none,id=disk0,format=raw,file=${image},readonly=on`);
    expect(install).toContain('usb-storage,bus=xhci.0,drive=disk0,serial=bootforge-installer');
    expect(install).toContain('virtio-blk-pci,drive=disk1,serial=bootforge-target');
    expect(install).not.toContain('io.bootforge.test-shell');
    const boot = readFileSync(`${fake}-args-boot`, 'utf8');
    expect(boot).toContain('type=11,value=io.bootforge.test-shell=1');
    expect(boot).not.toContain('usb-storage');
    expect(boot).toContain(`file=${join(workDir, 'boot-vars.fd')}`);
    // A sparse target, and the files of a failed run are kept.
    expect(statSync(join(workDir, 'target.img')).size).toBe(1024 ** 3);
    expect(statSync(join(workDir, 'target.img')).blocks).toBe(0);
    expect(readFileSync(join(workDir, 'install.log'), 'utf8')).toContain('bootforge: installed minimal');
  });

  it('fails at once when the installer prints FAILED, with its message and last lines', async (ctx) => {
    if (!haveFirmware) ctx.skip('OVMF is not installed');
    const fake = fakeQemu(
      "echo 'bootforge: [1/2] finding the target'\necho 'bootforge: FAILED: no disk matches the target rule'\nexec sleep 60",
      BOOTED,
    );
    process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64 = `${fake}.sh`;
    const started = performance.now();
    const e = await failure(
      bootTest({
        image: join(work, 'installer.img'),
        manifest,
        profile: hostProfile(),
        workDir: join(work, 'run2'),
        targetSize: 1 << 20,
      }),
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(e.step).toBe('install');
    expect(e.message).toBe('install: the installer failed: no disk matches the target rule');
    expect(e.hint).toContain('bootforge: [1/2] finding the target');
    expect(e.hint).toContain(`serial log: ${join(work, 'run2', 'install.log')}`);
    expect(existsSync(`${fake}-args-boot`)).toBe(false);
  });

  it('fails when the installer installs another generation, or never says it installed', async (ctx) => {
    if (!haveFirmware) ctx.skip('OVMF is not installed');
    process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64 = `${fakeQemu(INSTALLED.replace(ID, 'def456'), BOOTED)}.sh`;
    const options = { image: join(work, 'installer.img'), manifest, profile: hostProfile(), targetSize: 1 << 20 };
    const other = await failure(bootTest({ ...options, workDir: join(work, 'run3') }));
    expect(other.message).toBe(
      `install: the installer installed minimal generation 1 (def456); expected minimal generation 1 (${ID})`,
    );
    process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64 = `${fakeQemu('exec sleep 60', BOOTED)}.sh`;
    const silent = await failure(bootTest({ ...options, workDir: join(work, 'run4'), timeouts: { install: 500 } }));
    expect(silent.step).toBe('install');
    expect(silent.message).toMatch(
      /^install: no "bootforge: installed ..." from the installer on the serial console within 1 s/,
    );
  });

  it('fails when the installed system boots another generation', async (ctx) => {
    if (!haveFirmware) ctx.skip('OVMF is not installed');
    process.env.BOOTFORGE_TOOL_QEMU_SYSTEM_X86_64 = `${fakeQemu(INSTALLED, BOOTED.replace(ID, 'def456'))}.sh`;
    const e = await failure(
      bootTest({
        image: join(work, 'installer.img'),
        manifest,
        profile: hostProfile(),
        workDir: join(work, 'run5'),
        targetSize: 1 << 20,
      }),
    );
    expect(e.step).toBe('boot');
    expect(e.message).toBe(`boot: generation 1 (def456) is active; expected generation 1 (${ID})`);
  });

  it('refuses a manifest without a generation', async () => {
    await expect(
      bootTest({
        image: join(work, 'installer.img'),
        manifest: { profile: 'minimal' } as BuildManifest,
        profile: hostProfile(),
        workDir: join(work, 'run6'),
      }),
    ).rejects.toThrow(/names no generation/);
  });
});
