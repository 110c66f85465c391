import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The real executable, as users and CI run it: exit codes, help, and no stack traces.
function bootforge(...args: string[]) {
  const r = spawnSync('bin/bootforge', args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/bootforge', () => {
  it('validates the workstation for a Framework 13 AMD (exit 0)', () => {
    const r = bootforge('validate', 'profiles/workstation.yaml', '--hardware', 'framework-13-amd-7040');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid profile "workstation"');
  });

  it('lists the bundled hardware ids', () => {
    const r = bootforge('hardware', 'list');
    expect(r.code).toBe(0);
    for (const id of [
      'qemu-x86_64',
      'framework-13-amd-7040',
      'framework-13-intel-13th',
      'thinkpad-x1-carbon-gen11',
      'dell-xps-13-9320',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${id} `, 'm'));
    }
  });

  it('shows a description with the reason of each quirk', () => {
    const r = bootforge('hardware', 'show', 'framework-13-amd-7040', '--kernel-version', '6.1.0');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/params: amdgpu.sg_display=0 \[kernel >=6.2 <6.6: skipped\]/);
    expect(r.stdout).toMatch(/why: .*https:\/\//);
  });

  it.each([['validate'], ['explain'], ['hardware', 'list'], ['hardware', 'show'], []])(
    'prints help for %j',
    (...cmd) => {
      const r = bootforge(...cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: bootforge/);
    },
  );

  it('prints its version', () => {
    const r = bootforge('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 on bad input with file:line:col, a code frame and a hint, and no stack trace', () => {
    const r = bootforge('validate', 'test/fixtures/invalid/hostname/profile.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^test\/fixtures\/invalid\/hostname\/profile\.yaml:3:13: BF_HOSTNAME: /);
    expect(r.stderr).toMatch(/^> 3 \|/m);
    expect(r.stderr).toMatch(/^hint: /m);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('exits 2 on a usage error', () => {
    expect(bootforge('frobnicate').code).toBe(2);
    expect(bootforge('validate').code).toBe(2);
  });

  it('shows the stack trace only with --debug', () => {
    const r = bootforge('validate', 'test/fixtures/invalid/hostname/profile.yaml', '--debug');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/BootforgeError|at .*\.ts:\d+/);
  });
});
