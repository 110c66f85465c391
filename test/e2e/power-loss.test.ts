import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleResult } from '../../src/pipeline/bundle.js';
import { installedGenerationMachine, switchTo } from '../helpers/generation-fixture.js';
import type { GenerationVm } from '../helpers/generation-vm.js';

// Power cuts during bootforge-gen switch on an installed machine (QEMU, OVMF, systemd-boot):
// QEMU is killed before every durable step of a switch (the BOOTFORGE_STOP_AT hook pauses
// there) and at seeded random times during full switches; every following boot must reach a
// whole generation (old or new) that becomes healthy, with whole boot entries and all data
// synced to /home and /var before the cut. The machine alternates between two generations;
// `gc --keep 1` before each switch makes sure the switch has the whole way to go.
const work = mkdtempSync(join(tmpdir(), 'bf-e2e-power-'));
afterAll(async () => {
  // The last boot is left running by the test (nothing cuts it): end it before the folder goes.
  await vm?.stop();
  if (!process.env.BOOTFORGE_KEEP) rmSync(work, { recursive: true, force: true });
});

let bundles: Readonly<Record<string, BundleResult>>;
let vm: GenerationVm;

beforeAll(async () => {
  ({ bundles, vm } = await installedGenerationMachine(work, [
    ['a', 'gen-a.yaml'],
    ['b', 'gen-b.yaml'],
    ['bFromA', 'gen-b.yaml', 'a'],
    ['aFromB', 'gen-a.yaml', 'b'],
  ]));
}, 1_200_000);

// Every entry is whole and names a whole generation whose kernel and initrd it carries.
const CHECK_ENTRIES = [
  'for e in /boot/loader/entries/*.conf; do',
  '  test -s "$e" || { echo "empty entry $e"; exit 1; };',
  '  name=$(sed -n "s/.*bootforge\\.generation=\\([^ ]*\\).*/\\1/p" "$e");',
  '  tree=/bootforge/store/$name;',
  '  test -f "$tree/usr/lib/bootforge/generation.conf" || { echo "$e: no tree $name"; exit 1; };',
  '  k=$(sed -n "s|^linux /||p" "$e"); i=$(sed -n "s|^initrd /||p" "$e");',
  '  (. "$tree/usr/lib/bootforge/generation.conf"; cmp "/boot/$k" "$tree$BF_GEN_KERNEL" && cmp "/boot/$i" "$tree$BF_GEN_INITRD") || { echo "$e: kernel or initrd differs"; exit 1; };',
  'done; echo entries-ok',
].join(' ');

describe('power loss during bootforge-gen switch', () => {
  it('cuts before every step of a (delta) switch and at random times during full ones: every boot reaches a whole generation', async () => {
    const { a, b, bFromA, aFromB } = bundles as Record<string, BundleResult>;
    const byVersion: Record<string, BundleResult> = { a: a as BundleResult, b: b as BundleResult };
    const delta = (booted: string) => (booted === 'a' ? bFromA : aFromB) as BundleResult;
    const full = (booted: string) => (booted === 'a' ? b : a) as BundleResult;
    // Seeded, so that a failure can be replayed: BOOTFORGE_POWER_SEED=<seed> npm run test:e2e.
    const seed = Number(process.env.BOOTFORGE_POWER_SEED ?? 20261126);
    const random = mulberry32(seed);
    const written: string[] = [];

    /** One boot after a cut: a whole generation that becomes healthy, with all synced data. */
    const survive = async (): Promise<string> => {
      const outcome = await vm.boot();
      expect(outcome.kind, `boot ${vm.boots} after a power cut: ${JSON.stringify(outcome)}`).toBe('active');
      const n = outcome.kind === 'active' ? outcome.generation : 0;
      expect(await vm.health(n), `boot ${vm.boots}`).toBe('healthy');
      const shell = await vm.ready();
      // One round trip over the serial console (each costs seconds under TCG).
      const [entries = '', version = '', current = '', count = '', fsck = ''] = (
        await shell.succeed(
          `(${CHECK_ENTRIES}); cat /etc/bootforge-test-version; readlink /run/current-system; cat /dev/null ${written.join(' ')} | wc -l; tail -n 1 /run/bootforge/esp-fsck.log`,
        )
      )
        .trim()
        .split('\n');
      expect(entries).toBe('entries-ok');
      // The ESP was checked (and repaired) before it was mounted: "<device>: N files, M/T clusters".
      expect(fsck).toMatch(/: \d+ files, \d+\/\d+ clusters$/);
      vm.note(`boot ${vm.boots}: ESP ${fsck}`);
      expect(current).toBe(`/bootforge/store/${byVersion[version]?.generation.name}`);
      expect(count.trim()).toBe(String(written.length));
      // Only the booted generation stays (the next switch has the whole way to go); data to keep.
      const home = `/home/demo/power-${vm.boots}`;
      const varFile = `/var/lib/bf-test/power-${vm.boots}`;
      await shell.succeed(
        `bootforge-gen gc --keep 1 && ! ls /boot/FSCK*.REC 2>/dev/null && mkdir -p /var/lib/bf-test && echo ${vm.boots} >${home} && echo ${vm.boots} >${varFile} && sync`,
      );
      written.push(home, varFile);
      return version;
    };
    const timed = async (command: string): Promise<{ out: string; ms: number }> => {
      const started = performance.now();
      const out = (await vm.shell?.succeed(command)) ?? '';
      return { out, ms: Math.round(performance.now() - started) };
    };

    // One whole delta switch, traced: its durable steps are the cut points. One whole full
    // switch, timed: the window for the random cuts.
    let version = await survive();
    const traced = await timed(`BOOTFORGE_TRACE=1 ${switchTo(delta(version))} 2>&1`);
    const steps = traced.out.match(/^bootforge-gen: op (\d+): (.*)$/gm) ?? [];
    vm.note(`a whole delta switch: ${steps.length} durable steps, ${traced.ms} ms\n${steps.join('\n')}`);
    expect(steps.length).toBeGreaterThanOrEqual(15);
    await vm.reboot();
    version = await survive();
    const whole = await timed(switchTo(full(version)));
    vm.note(`a whole full switch (${full(version).size} bytes): ${whole.ms} ms`);
    await vm.reboot();

    // Each cut costs a boot (~60 s under TCG). By default every third step and the last one (the
    // entry that makes the switch visible), one cut right after a switch has finished (what it
    // made durable must boot: vfat leaves a renamed file empty until its inode is written back,
    // which this caught), and one random time; BOOTFORGE_POWER_STEPS=all cuts before every step.
    // The unit tier kills bootforge-gen before every step, each time.
    const everyStep = process.env.BOOTFORGE_POWER_STEPS === 'all';
    const chosen = steps.map((_, i) => i + 1).filter((n) => everyStep || n % 3 === 1 || n === steps.length);
    const points: ({ step: number } | { finished: true } | { afterMs: number })[] = [
      { finished: true },
      ...chosen.map((step) => ({ step })),
      ...Array.from({ length: Number(process.env.BOOTFORGE_POWER_RANDOM ?? 1) }, () => ({
        afterMs: Math.round(random() * whole.ms),
      })),
    ];
    let survived = 0;
    const reached = new Set<number>();
    let mustBoot: string | undefined;
    for (const [i, point] of points.entries()) {
      version = await survive();
      if (i > 0) survived += 1;
      if (mustBoot) expect(version, 'the generation a finished switch made boots after the cut').toBe(mustBoot);
      mustBoot = undefined;
      if ('finished' in point) {
        // The switch returns; the cut comes a second or two later, well within vfat's 30 s writeback.
        await vm.shell?.succeed(`${switchTo(delta(version))} </dev/null >/run/bootforge/switch.log 2>&1`);
        mustBoot = version === 'a' ? 'b' : 'a';
      } else if ('step' in point) {
        // Traced into a file; the test asks the shell where it stopped (the console can garble a line).
        await vm.shell?.succeed(
          `rm -f /run/bootforge/stopped-at; BOOTFORGE_TRACE=1 BOOTFORGE_STOP_AT=${point.step} BOOTFORGE_STOP_MODE=pause ${switchTo(delta(version))} </dev/null >/run/bootforge/switch.log 2>&1 & echo $! >/run/bootforge/switch.pid`,
        );
        const deadline = Date.now() + 180_000;
        for (;;) {
          const state = (
            (await vm.shell?.succeed(
              'if [ -f /run/bootforge/stopped-at ]; then echo stopped; elif kill -0 "$(cat /run/bootforge/switch.pid)" 2>/dev/null; then echo running; else echo finished; fi',
            )) ?? ''
          ).trim();
          if (state === 'stopped') {
            reached.add(point.step);
            break;
          }
          if (state === 'finished') {
            // The switch had fewer steps this time (what the machine had left over decides): the cut
            // still comes, after a finished switch; the trace says which steps there were.
            // Its whole output (an error before the first step shows there) and the ESP's mount state.
            const trace =
              (await vm.shell?.succeed('tail -n 8 /run/bootforge/switch.log; grep " /boot " /proc/mounts; true')) ?? '';
            vm.note(`step ${point.step} not reached: the switch ended first; its output:\n${trace.trim()}`);
            break;
          }
          expect(Date.now(), `the switch neither stopped before step ${point.step} nor finished`).toBeLessThan(
            deadline,
          );
          await new Promise((r) => setTimeout(r, 1000));
        }
      } else {
        await vm.shell?.succeed(`${switchTo(full(version))} </dev/null >/dev/console 2>&1 &`);
        await new Promise((r) => setTimeout(r, point.afterMs));
      }
      await vm.cut();
      const where =
        'finished' in point
          ? 'right after a finished switch'
          : 'step' in point
            ? `before step ${point.step}`
            : `${point.afterMs} ms into a full switch`;
      vm.note(`boot ${vm.boots}: power cut ${where} (running ${version}); entries: ${vm.entries().join(' ')}`);
    }
    version = await survive();
    survived += 1;
    if (mustBoot) expect(version, 'the generation a finished switch made boots after the cut').toBe(mustBoot);
    vm.note(
      `power cuts: ${points.length} tried (before ${reached.size} of the ${chosen.length} chosen of ${steps.length} steps, the rest after finished or during full switches at random times, seed ${seed}), ${survived} survived`,
    );
    expect(survived).toBe(points.length);
    expect(reached.size).toBeGreaterThanOrEqual(chosen.length - 1);
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
