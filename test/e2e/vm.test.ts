import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { targetInstalled } from '../../src/pipeline/vm.js';
import { TmuxTerminal } from '../helpers/tmux.js';

// bootforge vm as a person uses it, on a real terminal (tmux): the first run builds the demo
// profile and boots its installer stick with a blank target, which the unattended installer
// fills and then powers off; the second run, given the image, finds the installed system,
// boots it alone to a login prompt on the serial console, and Ctrl-A X ends QEMU.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-vm-'));
const repo = resolvePath(import.meta.dirname, '../..');
const term = new TmuxTerminal(work);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
afterAll(() => {
  term.close();
  rmSync(work, { recursive: true, force: true });
});

describe('bootforge vm', () => {
  it('installs onto a persistent target, then boots it alone to a login prompt; Ctrl-A X quits', async () => {
    const bootforge = join(repo, 'bin/bootforge');
    const out = join(work, 'minimal');
    const target = join(out, 'vm', 'target.img');
    const vars = join(out, 'vm', 'target.vars.fd');

    // Run 1: the profile, built first (packages from the cache); a blank target, so the
    // installer stick; the demo installer powers off when done, which ends QEMU.
    const t1 = performance.now();
    term.start(
      'install',
      [bootforge, 'vm', 'profiles/minimal.yaml', '--hardware', 'qemu-x86_64', '--out', out, '--accel', 'tcg'],
      repo,
    );
    await term.waitFor('install', /booting the installer/, 900_000);
    const buildTime = seconds(t1);
    const t2 = performance.now();
    await term.waitFor('install', /Ctrl-A X quits QEMU/, 5_000);
    await term.waitFor('install', /bootforge: installed minimal generation 1 \([0-9a-f]+\) on \/dev\/vda/, 600_000);
    await term.waitFor('install', /^exit=\d+$/m, 180_000);
    const installTime = seconds(t2);
    const first = term.screen('install');
    expect(first).toMatch(/^exit=0$/m);
    expect(first).toContain('(new, blank)');
    expect(first, 'the test shell is only for bootforge test').not.toContain('bootforge-test: ready');
    expect(statSync(target).size).toBe(8 * 1024 ** 3);
    expect(existsSync(vars)).toBe(true);
    expect(await targetInstalled(target)).toBe(true);

    // Run 2: the same machine; the installed system boots without the stick.
    const t3 = performance.now();
    term.start('boot', [bootforge, 'vm', join(out, 'installer.img'), '--accel', 'tcg'], repo);
    await term.waitFor('boot', /booting it without the installer/, 60_000);
    await term.waitFor('boot', /^minimal login: /m, 300_000);
    const loginTime = seconds(t3);
    console.warn(
      `bootforge vm (tcg): build ${buildTime}, install ${installTime}, boot to the login prompt ${loginTime}`,
    );
    const second = term.screen('boot');
    expect(second).not.toContain('bootforge-installer');
    expect(second).not.toContain('(new, blank)');
    expect(second).toMatch(/bootforge: generation 1 \([0-9a-f]+\) active/);

    term.keys('boot', 'C-a', 'x');
    await term.waitFor('boot', /^exit=\d+$/m, 30_000);
    const after = term.screen('boot');
    expect(after).toMatch(/^exit=0$/m);
    expect(after).toContain('QEMU exited');
    expect(await targetInstalled(target), 'the target keeps its system').toBe(true);
  });
});
