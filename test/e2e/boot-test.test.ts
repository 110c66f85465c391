import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The library as users import it (package.json "exports"); docs/library.md shows this file's example region.
import {
  bootTest,
  build,
  installerKernel,
  openPackageSource,
  parseInstallerLine,
  repoSettingsOf,
  resolve,
  silentReporter,
  testCases,
  type BootTestEvent,
  type BuildResult,
  type ResolvedProfile,
} from 'bootforge';

// bootforge test on the demo profile: the installer image installs generation 1 onto a
// blank virtio disk from a read-only USB stick and powers off; the disk then boots alone
// into generation 1, whose test shell runs the checks and the profile's tests.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-boot-test-'));
let profile: ResolvedProfile;
let built: BuildResult;

// #region library-example
beforeAll(async () => {
  ({ resolved: profile } = resolve({ profile: 'profiles/minimal.yaml', hardware: ['qemu-x86_64'] }));
  const source = openPackageSource(repoSettingsOf(profile), {}, silentReporter);
  built = await build({ profile, source, out: join(work, 'minimal') });
});
// #endregion library-example
afterAll(() => {
  if (!process.env.BOOTFORGE_KEEP) rmSync(work, { recursive: true, force: true });
});

describe('bootforge test', () => {
  it('finds the installer kernel on the image for the KVM probe', async () => {
    const kernel = await installerKernel(built.image, built.manifest, join(work, 'vmlinuz'));
    const sha = createHash('sha256').update(readFileSync(kernel)).digest('hex');
    expect(sha).toBe(built.manifest.artifacts.vmlinuz?.sha256);
  });

  it('installs profiles/minimal.yaml, boots generation 1 and passes its checks and tests', async () => {
    const generation = built.manifest.generation;
    expect(generation, 'manifest.json names the generation the installer activates').toBeDefined();
    const events: BootTestEvent[] = [];
    // #region library-example-test
    const workDir = join(work, 'test');
    const result = await bootTest({
      image: built.image,
      profile,
      workDir,
      accel: 'tcg',
      onEvent: (e) => events.push(e),
    });
    // #endregion library-example-test

    expect(result.generation).toEqual(generation);
    expect(result.generation.id).toMatch(/^[0-9a-f]+$/);
    expect(result.generation.name).toBe(`${result.generation.id}-minimal`);
    expect(result.installedOn).toMatch(/^\/dev\/vd[a-z]$/);
    expect(result.hostname).toBe('minimal');

    // Every built-in check ran and passed: host name, each user, kernel parameters, current system, boot entry.
    expect(result.checks.map((c) => c.name)).toEqual([
      'hostname',
      ...profile.data.users.map((u) => `user ${u.name}`),
      'kernel parameters',
      'current system',
      'boot entry',
    ]);
    for (const c of result.checks) expect(c, c.name).toMatchObject({ ok: true });

    // The profile's tests ran, in order, and passed.
    expect(result.tests.map((t) => t.name)).toEqual(testCases(profile.data.tests).map((t) => t.name));
    expect(result.tests.length).toBeGreaterThan(0);
    for (const t of result.tests) expect(t, t.name).toMatchObject({ ok: true });

    // Phases in order, with times.
    const phases = events.flatMap((e) => (e.type === 'phase' && e.state === 'done' ? [e.phase] : []));
    expect(phases).toEqual(['install', 'boot', 'checks', 'tests', 'poweroff']);
    const t = result.timings;
    expect(t.installToInstalledMs).toBeGreaterThan(0);
    expect(t.installMs).toBeGreaterThanOrEqual(t.installToInstalledMs);
    expect(t.bootToShellMs).toBeGreaterThanOrEqual(t.bootToGenerationMs);
    expect(t.totalMs).toBeGreaterThan(t.installMs + t.bootToShellMs);

    // Inside the unpack (a minute or more under TCG) the installer says how far it is, at
    // most every 5 s, done only growing; none of its lines comes after the step.
    const unpack = events.flatMap((e) => (e.type === 'step-progress' && e.step === 7 ? [e] : []));
    expect(unpack.length).toBeGreaterThan(0);
    unpack.forEach((e, i) => {
      expect(e.message).toBe('unpacking the system');
      expect(e.total).toBeGreaterThan(0);
      expect(e.done).toBeLessThanOrEqual(e.total);
      expect(e.done).toBeGreaterThanOrEqual(unpack[i - 1]?.done ?? 0);
    });
    const serial = readFileSync(result.logs.install, 'utf8').split('\n').map(parseInstallerLine);
    const progressAt = serial.flatMap((l, i) => (l?.kind === 'progress' ? [i] : []));
    expect(progressAt).toHaveLength(events.filter((e) => e.type === 'step-progress').length);
    const step8 = serial.findIndex((l) => l?.kind === 'step' && l.step === 8);
    expect(Math.max(...progressAt)).toBeLessThan(step8);
    console.warn(`installer progress lines: ${progressAt.length}; serial log: ${result.logs.install}`);

    // Serial logs stay; the target disk goes after a passing run.
    expect(existsSync(result.logs.install)).toBe(true);
    expect(existsSync(result.logs.boot)).toBe(true);
    expect(existsSync(join(workDir, 'target.img'))).toBe(false);
  });
});
