// Flash speed: bootforge flash against bmaptool copy (the same .bmap; it checks the image
// against the bmap's checksums while writing) and dd bs=4M conv=fsync (no bmap: the whole
// image), same installer image (the minimal demo, built here), same run. bootforge also
// reads every range back after writing, which neither peer does: it is measured with
// --no-verify (write only, the fair match for bmaptool) and with the read-back.
// Targets: a file, and as root a loop device over a sparse file (a fake sysfs shows it as
// a removable USB stick, as the flash tests do). Needs the Debian mirror (or a warm cache)
// and bmaptool (scripts/setup-host.sh installs bmap-tools). Usage: npx tsx bench/flash.ts [runs]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run } from '../src/exec/run.js';
import { silentReporter } from '../src/log/events.js';
import { build } from '../src/pipeline/build.js';
import { flash, type FlashSystem } from '../src/pipeline/flash.js';
import { openPackageSource, repoSettingsOf } from '../src/pipeline/packages.js';
import { resolve } from '../src/pipeline/resolve.js';
import { devOf, flashMachine } from '../test/helpers/flash-sysfs.js';

const runs = Number(process.argv[2] ?? 3);
const MIB = 2 ** 20;
const ROOT = process.getuid?.() === 0 && existsSync('/dev/loop-control');
const work = mkdtempSync(join(tmpdir(), 'bf-bench-flash-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
let loopDev: string | undefined;

interface Contender {
  readonly name: string;
  /** Bytes it writes: the mapped blocks, or the whole image for dd. */
  readonly bytes: number;
  readonly go: (target: string) => Promise<unknown>;
}

/** Median ms of each contender over `runs` rounds, taking turns so drift hits all alike. */
async function race(
  contenders: readonly Contender[],
  target: string,
  reset: () => void,
): Promise<Map<Contender, number>> {
  const times = new Map<Contender, number[]>(contenders.map((c) => [c, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of contenders) {
      reset();
      const t = performance.now();
      await c.go(target);
      times.get(c)!.push(performance.now() - t);
    }
  }
  return new Map(contenders.map((c) => [c, median(times.get(c)!)]));
}

function report(title: string, results: Map<Contender, number>, imageSize: number): void {
  const ms = (name: string) => [...results].find(([c]) => c.name === name)![1];
  console.log(`\n${title}: median of ${runs} runs`);
  for (const [c, t] of results) {
    const rate = (bytes: number) => `${(bytes / MIB / (t / 1000)).toFixed(1)} MiB/s`;
    console.log(
      `  ${c.name.padEnd(34)} ${t.toFixed(0).padStart(6)} ms  ${rate(c.bytes).padStart(13)} written  ${rate(imageSize).padStart(13)} of image`,
    );
  }
  const ratio = (a: string, b: string) => (ms(a) / ms(b)).toFixed(2);
  console.log(
    `  time ratios (<1: bootforge faster): write only / bmaptool ${ratio('bootforge --no-verify', 'bmaptool copy')}, ` +
      `write+verify / bmaptool ${ratio('bootforge (write+verify)', 'bmaptool copy')}, ` +
      `write only / dd ${ratio('bootforge --no-verify', 'dd bs=4M conv=fsync')}, ` +
      `write+verify / dd ${ratio('bootforge (write+verify)', 'dd bs=4M conv=fsync')}`,
  );
}

try {
  const { resolved } = resolve({ profile: 'profiles/minimal.yaml' });
  const source = openPackageSource(repoSettingsOf(resolved), {}, silentReporter);
  const built = await build({ profile: resolved, source, out: join(work, 'minimal') });
  const image = built.image;
  const bmap = `${image}.bmap`;
  console.log(
    `image ${basename(image)}: ${(built.size / MIB).toFixed(0)} MiB, ${(built.mappedBytes / MIB).toFixed(1)} MiB mapped by its bmap`,
  );

  const contenders = (system?: Partial<FlashSystem>): Contender[] => {
    const bootforge = (verify: boolean) => async (target: string) => {
      const r = await flash({
        image,
        targets: [target],
        allowFile: system === undefined,
        verify,
        ...(system ? { system } : {}),
      });
      // A target that failed is not a time to report.
      if (r.targets[0]?.error) throw r.targets[0].error;
    };
    return [
      { name: 'bootforge --no-verify', bytes: built.mappedBytes, go: bootforge(false) },
      { name: 'bootforge (write+verify)', bytes: built.mappedBytes, go: bootforge(true) },
      {
        name: 'bmaptool copy',
        bytes: built.mappedBytes,
        go: (target) => run(['bmaptool', '-q', 'copy', '--bmap', bmap, image, target], { timeoutMs: 600_000 }),
      },
      {
        name: 'dd bs=4M conv=fsync',
        bytes: built.size,
        go: (target) =>
          run(['dd', `if=${image}`, `of=${target}`, 'bs=4M', 'conv=fsync', 'status=none'], { timeoutMs: 600_000 }),
      },
    ];
  };

  // A file target: each tool starts from no file, so each pays for allocating its blocks.
  const file = join(work, 'target.img');
  report('file target', await race(contenders(), file, () => rmSync(file, { force: true })), built.size);

  if (!ROOT) {
    console.log('\nloop device: skipped (needs root for losetup)');
  } else {
    const backing = join(work, 'loop.backing');
    writeFileSync(backing, '');
    truncateSync(backing, built.size + 64 * MIB);
    loopDev = execFileSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' }).trim();
    // A loop device keeps a read-only flag set while an earlier user had it (the flash tests set one).
    await run(['blockdev', '--setrw', loopDev]);
    const machine = flashMachine(join(work, 'sysfs'), [
      {
        name: basename(loopDev),
        dev: devOf(loopDev),
        bus: 'usb',
        size: statSync(backing).size,
        removable: true,
        vendor: 'SanDisk',
        model: 'Ultra Fit',
        usbSerial: '4C530001',
      },
    ]);
    // One unmeasured whole-image write first: every run then overwrites allocated blocks of the backing file.
    await run(['dd', `if=${image}`, `of=${loopDev}`, 'bs=4M', 'conv=fsync', 'status=none']);
    report(
      `loop device (${loopDev} over a sparse file)`,
      await race(contenders({ sysfs: machine.sysfs }), loopDev, () => undefined),
      built.size,
    );
  }
} finally {
  if (loopDev !== undefined) execFileSync('losetup', ['-d', loopDev]);
  rmSync(work, { recursive: true, force: true });
}
