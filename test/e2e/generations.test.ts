import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentReporter } from '../../src/log/events.js';
import { build, type BuildResult } from '../../src/pipeline/build.js';
import { bundle, type BundleResult } from '../../src/pipeline/bundle.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve } from '../../src/pipeline/resolve.js';
import { bootTest } from '../../src/qemu/boot-test.js';
import { GenerationVm, type BootOutcome } from '../helpers/generation-vm.js';

// Generations after the first, on a real (emulated) machine: OVMF, systemd-boot counting
// tries on a FAT ESP, bootforge-gen inside the installed system. One disk is installed,
// then booted again and again (QEMU exits at every reboot, so the test reads the ESP's
// entries between boots): switch, boot counting fallback for a generation whose health
// check fails and for one whose init does not exist, rollback, then power cuts at every
// step of a switch and at random times during it.
const FIXTURES = 'test/fixtures/profiles/generations';
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-generations-'));
afterAll(() => {
  if (!process.env.BOOTFORGE_KEEP) rmSync(work, { recursive: true, force: true });
});

let built: BuildResult;
const bundles: Record<string, BundleResult> = {};
let vm: GenerationVm;
const bundlePath = (b: BundleResult) => `/run/bundles/${basename(b.path)}`;
const switchTo = (b: BundleResult) => `bootforge-gen switch ${bundlePath(b)} --expect ${b.headerSha256}`;

beforeAll(async () => {
  const profileOf = (file: string) => resolve({ profile: join(FIXTURES, file) }).resolved;
  const a = profileOf('gen-a.yaml');
  const source = openPackageSource(repoSettingsOf(a), {}, silentReporter);
  built = await build({ profile: a, source, out: join(work, 'image') });
  const out = join(work, 'bundles');
  for (const [key, file] of [
    ['a', 'gen-a.yaml'],
    ['b', 'gen-b.yaml'],
    ['unhealthy', 'gen-unhealthy.yaml'],
    ['noinit', 'gen-noinit.yaml'],
  ] as const) {
    bundles[key] = await bundle({ profile: profileOf(file), source, out });
  }
  // Generation 2 also as a delta from generation 1: what a one-file change costs to ship.
  bundles.bDelta = await bundle({ profile: profileOf('gen-b.yaml'), source, out, base: bundles.a?.path });
  // The bundles reach the machine on a FAT stick, as an administrator would carry them.
  const stick = join(work, 'bundles.img');
  const total = Object.values(bundles).reduce((s, b) => s + b.size, 0);
  execFileSync('mkfs.fat', ['-C', '-F', '32', stick, String(Math.ceil((total * 1.1) / 1024) + 40 * 1024)]);
  for (const b of Object.values(bundles)) {
    execFileSync('mcopy', ['-i', stick, b.path, '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  }
  // Generation 1 installed by the installer image and checked by bootforge test.
  const installDir = join(work, 'install');
  await bootTest({ image: built.image, profile: a, workDir: installDir, accel: 'tcg', keep: true });
  const machineDir = join(work, 'machine');
  mkdirSync(machineDir, { recursive: true });
  vm = new GenerationVm(machineDir, join(installDir, 'target.img'), stick);
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

  it('power cuts at every step of a switch and at random times: every boot reaches a whole generation', async () => {
    const a = bundles.a as BundleResult;
    const b = bundles.b as BundleResult;
    const byVersion: Record<string, BundleResult> = { a, b };
    // Seeded, so that a failure can be replayed: BOOTFORGE_POWER_SEED=<seed> npm run test:e2e.
    const seed = Number(process.env.BOOTFORGE_POWER_SEED ?? 20261126);
    const random = mulberry32(seed);
    const written: string[] = [];
    const check = [
      // Every entry is whole and names a whole generation whose kernel and initrd it carries.
      'for e in /boot/loader/entries/*.conf; do',
      '  test -s "$e" || { echo "empty entry $e"; exit 1; };',
      '  name=$(sed -n "s/.*bootforge\\.generation=\\([^ ]*\\).*/\\1/p" "$e");',
      '  tree=/bootforge/store/$name;',
      '  test -f "$tree/usr/lib/bootforge/generation.conf" || { echo "$e: no tree $name"; exit 1; };',
      '  k=$(sed -n "s|^linux /||p" "$e"); i=$(sed -n "s|^initrd /||p" "$e");',
      '  (. "$tree/usr/lib/bootforge/generation.conf"; cmp "/boot/$k" "$tree$BF_GEN_KERNEL" && cmp "/boot/$i" "$tree$BF_GEN_INITRD") || { echo "$e: kernel or initrd differs"; exit 1; };',
      'done; echo entries-ok',
    ].join(' ');

    /** One boot after a cut: it must start a whole generation that becomes healthy, with all data kept. */
    const survive = async (): Promise<string> => {
      const outcome = await vm.boot();
      expect(outcome.kind, `boot ${vm.boots} after a power cut: ${JSON.stringify(outcome)}`).toBe('active');
      const n = outcome.kind === 'active' ? outcome.generation : 0;
      expect(await vm.health(n), `boot ${vm.boots}`).toBe('healthy');
      const shell = await vm.ready();
      expect(await shell.succeed(check)).toContain('entries-ok');
      const version = (await shell.succeed('cat /etc/bootforge-test-version')).trim();
      const current = (await shell.succeed('readlink /run/current-system')).trim();
      expect(current).toBe(`/bootforge/store/${byVersion[version]?.generation.name}`);
      if (written.length > 0)
        expect((await shell.succeed(`cat ${written.join(' ')} | wc -l`)).trim()).toBe(String(written.length));
      expect((await shell.succeed('cat /home/demo/precious /var/lib/bf-test/precious')).trim()).toBe('precious\nv');
      // Only the booted generation stays: the next switch unpacks the other one in full.
      await shell.succeed('bootforge-gen gc --keep 1');
      const file = `/home/demo/power-${vm.boots}`;
      await shell.succeed(`echo ${vm.boots} >${file} && echo ${vm.boots} >/var/lib/bf-test/power-${vm.boots} && sync`);
      written.push(file, `/var/lib/bf-test/power-${vm.boots}`);
      return version;
    };

    // A whole switch, traced: its durable steps are the cut points.
    let version = await survive();
    const started = performance.now();
    const traced = await vm.shell?.succeed(`BOOTFORGE_TRACE=1 ${switchTo(version === 'a' ? b : a)} 2>&1`);
    const switchMs = performance.now() - started;
    const steps = (traced ?? '').match(/^bootforge-gen: op (\d+): (.*)$/gm) ?? [];
    vm.note(`a whole switch: ${steps.length} durable steps, ${Math.round(switchMs)} ms\n${steps.join('\n')}`);
    expect(steps.length).toBeGreaterThanOrEqual(15);
    await vm.reboot();

    const points = [
      ...steps.map((_, i) => ({ step: i + 1 })),
      ...Array.from({ length: 5 }, () => ({ afterMs: Math.round(random() * switchMs) })),
    ];
    let survived = 0;
    for (const point of points) {
      version = await survive();
      if (points.indexOf(point) > 0) survived += 1;
      const target = version === 'a' ? b : a;
      const shell = vm.shell;
      if ('step' in point) {
        await shell?.succeed(
          `BOOTFORGE_STOP_AT=${point.step} BOOTFORGE_STOP_MODE=pause ${switchTo(target)} </dev/null >/dev/console 2>&1 &`,
        );
        await vm.console.waitFor(`bootforge-gen: stopped before operation ${point.step} `, 180_000);
      } else {
        await shell?.succeed(`${switchTo(target)} </dev/null >/dev/console 2>&1 &`);
        await new Promise((r) => setTimeout(r, point.afterMs));
      }
      await vm.cut();
      vm.note(
        `power cut ${'step' in point ? `before step ${point.step}` : `${point.afterMs} ms into a switch`} (booted ${version}); entries: ${vm.entries().join(' ')}`,
      );
    }
    await survive();
    survived += 1;
    vm.note(
      `power cuts: ${points.length} tried (${steps.length} steps + ${points.length - steps.length} random times, seed ${seed}), ${survived} survived`,
    );
    expect(survived).toBe(points.length);
    expect(points.length).toBeGreaterThanOrEqual(20);
  }, 3_600_000);
});

/** A small seeded PRNG (mulberry32): the same seed, the same cut times. */
function mulberry32(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}
