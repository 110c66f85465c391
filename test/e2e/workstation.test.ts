import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '../../src/log/events.js';
import { build, type BuildResult } from '../../src/pipeline/build.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve, resolveForKernel } from '../../src/pipeline/resolve.js';
import type { ResolvedProfile } from '../../src/profile/resolve.js';
import { bootTest } from '../../src/qemu/boot-test.js';

// The Debian workstation (systemd, NetworkManager, OpenSSH, sudo) through bootforge test:
// installed after the confirmation prompt, booted to a running systemd, logged in over SSH
// with the user's key through QEMU's forwarded port, sudo -n for that user.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-workstation-'));
const PROFILE = 'profiles/workstation.yaml';
let profile: ResolvedProfile;
let built: BuildResult;

beforeAll(async () => {
  const options = { profile: PROFILE, hardware: ['qemu-x86_64'] };
  const first = resolve(options).resolved;
  const source = openPackageSource(repoSettingsOf(first), {}, silentReporter);
  profile = await resolveForKernel(options, first, source);
  built = await build({ profile, source, out: join(work, 'workstation') });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the workstation profile', () => {
  it('installs, reaches a running systemd, and lets its user in over SSH with sudo', async () => {
    const result = await bootTest({
      image: built.image,
      profile,
      workDir: join(work, 'test'),
      accel: 'tcg',
      ssh: { identity: 'test/fixtures/ssh/demo_ed25519' },
      timeouts: { install: 1_200_000, boot: 600_000 },
    });
    expect(result.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['system running', 'ssh login alice']));
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(result.tests.every((t) => t.ok)).toBe(true);
    expect(result.hostname).toMatch(/^ws-/);
  });
});
