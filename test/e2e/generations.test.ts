import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/pipeline/build.js';
import type { BundleResult } from '../../src/pipeline/bundle.js';
import { installedGenerationMachine, switchTo } from '../helpers/generation-fixture.js';
import type { BootOutcome, GenerationVm } from '../helpers/generation-vm.js';

// Generations after the first, on a real (emulated) machine: OVMF, systemd-boot counting
// tries on a FAT ESP, bootforge-gen inside the installed system. One disk is installed,
// then booted again and again (QEMU exits at every reboot, so the test reads the ESP's
// entries between boots): switch, boot counting fallback for a generation whose health
// check fails and for one whose init does not exist, rollback. Power cuts: power-loss.test.ts.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-generations-'));
afterAll(async () => {
  // The last boot is left running by the test (nothing cuts it): end it before the folder goes.
  await vm?.stop();
  if (!process.env.BOOTFORGE_KEEP) rmSync(work, { recursive: true, force: true });
});

let built: BuildResult;
let bundles: Readonly<Record<string, BundleResult>>;
let vm: GenerationVm;

beforeAll(async () => {
  ({ built, bundles, vm } = await installedGenerationMachine(work, [
    ['a', 'gen-a.yaml'],
    ['b', 'gen-b.yaml'],
    // Generation 2 also as a delta from generation 1: what a one-file change costs to ship.
    ['bDelta', 'gen-b.yaml', 'a'],
    ['unhealthy', 'gen-unhealthy.yaml'],
    ['noinit', 'gen-noinit.yaml'],
  ]));
}, 1_200_000);

/** Boots, expects generation N to start and come out healthy or not; the entries after the boot ends are recorded. */
async function expectBoot(expected: BootOutcome['kind'], n?: number): Promise<BootOutcome> {
  const outcome = await vm.boot();
  expect(outcome.kind, `boot ${vm.boots}: ${JSON.stringify(outcome)}`).toBe(expected);
  if (outcome.kind === 'active' && n !== undefined) expect(outcome.generation, `boot ${vm.boots}`).toBe(n);
  return outcome;
}

function recordEntries(what: string): string[] {
  const entries = vm.entries();
  vm.note(`boot ${vm.boots} ${what}: entries now ${entries.join(' ')}`);
  return entries;
}

describe('generations on an installed machine (QEMU, OVMF, systemd-boot)', () => {
  it('the bundle of the installed profile is generation 1 itself (same id): builds are content-addressed', () => {
    expect(bundles.a?.generation.id).toBe(built.manifest.generation?.id);
    expect(bundles.b?.generation.id).not.toBe(bundles.a?.generation.id);
    // A one-file change as a delta: the same generation, a fraction of the bytes.
    const full = bundles.b as BundleResult;
    const delta = bundles.bDelta as BundleResult;
    expect(delta.generation).toEqual(full.generation);
    expect(delta.delta?.base).toBe(bundles.a?.generation.name);
    vm.note(
      `bundle of a one-file change: ${delta.size} bytes as a delta, ${full.size} bytes full (${((100 * delta.size) / full.size).toFixed(2)} %); ${delta.delta?.reused} files taken from generation 1`,
    );
    expect(delta.size * 20).toBeLessThan(full.size);
  });

  it('switch, boot counting fallback (health check, missing init), rollback', async () => {
    const b = bundles.bDelta as BundleResult;
    // Boot 1: generation 1; data in /home and /var; switch to b, shipped as a delta.
    await expectBoot('active', 1);
    let shell = await vm.ready();
    await shell.succeed(
      'echo precious >/home/demo/precious && mkdir -p /var/lib/bf-test && echo v >/var/lib/bf-test/precious && sync',
    );
    const started = performance.now();
    const out = await shell.succeed(switchTo(b));
    vm.note(
      `switch to generation 2 (${b.generation.id}): ${Math.round(performance.now() - started)} ms in the guest shell`,
    );
    expect(out).toContain(`generation 2 (${b.generation.id}) boots next, with 3 tries`);
    await vm.reboot();
    expect(recordEntries('generation 1')).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-2+3.conf']);

    // Boot 2: generation 2, healthy, blessed; generation 1 still listed.
    await expectBoot('active', 2);
    expect(await vm.health(2)).toBe('healthy');
    shell = await vm.ready();
    expect((await shell.succeed('cat /etc/bootforge-test-version')).trim()).toBe('b');
    const list = await shell.succeed('bootforge-gen list');
    vm.note(`bootforge-gen list on generation 2:\n${list.trim()}`);
    expect(list).toMatch(/^2 +[0-9a-f]{12} \S+ +gens +booted,next +good$/m);
    expect(list).toMatch(/^1 +[0-9a-f]{12} \S+ +gens +- +good$/m);
    expect(list).toContain('boot counting: this boot was counted (\\loader\\entries\\bootforge-gen-2+2-1.conf)');
    await shell.succeed(switchTo(bundles.unhealthy as BundleResult));
    await vm.reboot();
    expect(recordEntries('generation 2')).toEqual([
      'bootforge-gen-1.conf',
      'bootforge-gen-2.conf',
      'bootforge-gen-3+3.conf',
    ]);

    // Boots 3-5: generation 3 fails its health check and reboots; the loader counts down.
    const counted: string[] = [];
    for (const expected of ['bootforge-gen-3+2-1.conf', 'bootforge-gen-3+1-2.conf', 'bootforge-gen-3+0-3.conf']) {
      await expectBoot('active', 3);
      expect(await vm.health(3)).toBe('unhealthy');
      await vm.exit(120_000);
      const entries = recordEntries('generation 3 (health check fails)');
      expect(entries).toContain(expected);
      counted.push(expected);
    }
    // Boot 6: out of tries, generation 3 sorts last: generation 2 again, by itself.
    await expectBoot('active', 2);
    expect(await vm.health(2)).toBe('healthy');
    shell = await vm.ready();
    expect(await shell.succeed('bootforge-gen list')).toMatch(/^3 .* bad \(out of tries after 3 boots\)$/m);
    await shell.succeed(switchTo(bundles.noinit as BundleResult));
    await vm.reboot();
    recordEntries('generation 2 after the fallback');

    // Boots 7-9: generation 4 has no init: its initrd gives up and reboots.
    for (const expected of ['bootforge-gen-4+2-1.conf', 'bootforge-gen-4+1-2.conf', 'bootforge-gen-4+0-3.conf']) {
      const outcome = await expectBoot('failed');
      expect(outcome.kind === 'failed' && outcome.message).toContain('has no /sbin/no-such-init');
      await vm.exit(120_000);
      expect(recordEntries('generation 4 (no init)')).toContain(expected);
    }
    // Boot 10: generation 2 again; rollback makes generation 1 the next boot.
    await expectBoot('active', 2);
    expect(await vm.health(2)).toBe('healthy');
    shell = await vm.ready();
    expect(await shell.succeed('bootforge-gen rollback')).toContain('generation 1 boots next');
    await vm.reboot();
    expect(recordEntries('generation 2, rolled back')).toEqual([
      'bootforge-gen-1.conf',
      'bootforge-gen-2+0.conf',
      'bootforge-gen-3+0-3.conf',
      'bootforge-gen-4+0-3.conf',
    ]);

    // Boot 11: generation 1, with everything written to /home and /var.
    await expectBoot('active', 1);
    expect(await vm.health(1)).toBe('healthy');
    shell = await vm.ready();
    expect((await shell.succeed('cat /etc/bootforge-test-version')).trim()).toBe('a');
    expect((await shell.succeed('cat /home/demo/precious /var/lib/bf-test/precious')).trim()).toBe('precious\nv');
    const after = await shell.succeed('bootforge-gen list');
    vm.note(`bootforge-gen list after the rollback:\n${after.trim()}`);
    expect(after).toMatch(/^2 .* bad \(rolled back\)$/m);
    expect(after).toMatch(/^1 .* booted,next +good$/m);
    await vm.reboot();
  }, 2_400_000);
});
