// Initrd build speed and size: bootforge against dracut and mkinitramfs, same kernel, same
// module list (hardware/qemu-x86_64's initrd modules), zstd -9 for all, in the same run.
// The peers read an installed /lib/modules, so the bench installs that kernel package and
// each peer in turn (dracut and initramfs-tools conflict). Needs root and the Debian mirror.
// Usage: npx tsx bench/initrd.ts [runs]
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/exec/run.js';
import { silentReporter } from '../src/log/events.js';
import { buildInitrd } from '../src/pipeline/initrd.js';
import { lockProfile, openPackageSource, repoSettingsOf } from '../src/pipeline/packages.js';
import { resolve } from '../src/pipeline/resolve.js';

const runs = Number(process.argv[2] ?? 5);
const work = mkdtempSync(join(tmpdir(), 'bf-bench-initrd-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const apt = (...args: string[]) =>
  run(['apt-get', '-y', '-qq', '-o', 'Dpkg::Use-Pty=0', ...args], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 900_000,
  });

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

try {
  // Builds run from a locked profile, as users build: a copy, so the lock lands beside it.
  for (const f of ['minimal.yaml', 'base.yaml']) copyFileSync(join('profiles', f), join(work, f));
  const unlocked = resolve({ profile: join(work, 'minimal.yaml'), hardware: ['qemu-x86_64'] }).resolved;
  await lockProfile(unlocked, openPackageSource(repoSettingsOf(unlocked), {}, silentReporter));
  const { resolved } = resolve({ profile: join(work, 'minimal.yaml'), hardware: ['qemu-x86_64'] });
  const source = openPackageSource(repoSettingsOf(resolved), {}, silentReporter);
  const first = await buildInitrd({ profile: resolved, source, role: 'probe', out: join(work, 'warmup.img') });
  const kver = first.kernel.release;
  const modules = [...resolved.data.kernel.modules];
  console.log(`kernel ${kver}; modules requested: ${modules.join(' ')}; closure ${first.modules.length} modules`);

  // bootforge, warm package cache; a cold segment cache each run (the segments are the work).
  const bf: number[] = [];
  for (let i = 0; i < runs; i++) {
    rmSync(join(source.cacheRoot, 'segments'), { recursive: true, force: true });
    bf.push(
      await timeIt(() => buildInitrd({ profile: resolved, source, role: 'probe', out: join(work, 'bootforge.img') })),
    );
  }
  const bfSize = statSync(join(work, 'bootforge.img')).size;
  console.log(`bootforge: median ${median(bf).toFixed(0)} ms, ${(bfSize / 2 ** 20).toFixed(2)} MiB`);
  // A one-line profile change (the probe marker is config): only the config segment is re-packed.
  const rebuild: number[] = [];
  for (let i = 0; i < runs; i++) {
    rebuild.push(
      await timeIt(() =>
        buildInitrd({
          profile: resolved,
          source,
          role: 'probe',
          out: join(work, 'rebuild.img'),
          marker: `change-${i}`,
        }),
      ),
    );
  }

  console.log(`bootforge rebuild after a one-line config change: median ${median(rebuild).toFixed(0)} ms`);
  // The peers need the same kernel installed where they look for it.
  await apt('install', '--no-install-recommends', `linux-image-${kver}`);
  const list = modules.join(' ');

  // Installing one initramfs tool makes apt remove the other; the kernel package stays (it
  // depends on either). Purging one by hand would take the kernel with it.
  await apt('install', '--no-install-recommends', 'dracut', 'dracut-core', 'zstd');
  const dracut: number[] = [];
  for (let i = 0; i < runs; i++) {
    dracut.push(
      await timeIt(() =>
        run(
          [
            'dracut',
            '--force',
            '--no-hostonly',
            '--no-early-microcode',
            '--add-drivers',
            list,
            '--compress',
            'zstd -9 -q',
            '--kver',
            kver,
            join(work, 'dracut.img'),
          ],
          { timeoutMs: 600_000 },
        ),
      ),
    );
  }
  const dracutSize = statSync(join(work, 'dracut.img')).size;
  console.log(`dracut: median ${median(dracut).toFixed(0)} ms, ${(dracutSize / 2 ** 20).toFixed(2)} MiB`);

  await apt('install', '--no-install-recommends', 'initramfs-tools-core', 'initramfs-tools', 'zstd');
  const conf = join(work, 'initramfs-conf');
  mkdirSync(join(conf, 'conf.d'), { recursive: true });
  copyFileSync('/etc/initramfs-tools/initramfs.conf', join(conf, 'initramfs.conf'));
  writeFileSync(
    join(conf, 'initramfs.conf'),
    readFileSync(join(conf, 'initramfs.conf'), 'utf8')
      .replace(/^MODULES=.*$/m, 'MODULES=list')
      .replace(/^COMPRESS=.*$/m, 'COMPRESS=zstd') + '\nCOMPRESSLEVEL=9\n',
  );
  writeFileSync(join(conf, 'modules'), `${modules.join('\n')}\n`);
  for (const d of ['hooks', 'scripts']) mkdirSync(join(conf, d), { recursive: true });
  const mkinitramfs: number[] = [];
  for (let i = 0; i < runs; i++) {
    mkinitramfs.push(
      await timeIt(() =>
        run(['mkinitramfs', '-d', conf, '-o', join(work, 'mkinitramfs.img'), kver], { timeoutMs: 600_000 }),
      ),
    );
  }
  const mkSize = statSync(join(work, 'mkinitramfs.img')).size;

  const m = (xs: number[]) => median(xs).toFixed(0);
  console.log(`\n${runs} runs each, medians:`);
  console.log(`bootforge      ${m(bf).padStart(6)} ms  ${(bfSize / 2 ** 20).toFixed(2)} MiB`);
  console.log(`  rebuild after a one-line config change: ${m(rebuild)} ms`);
  console.log(`dracut         ${m(dracut).padStart(6)} ms  ${(dracutSize / 2 ** 20).toFixed(2)} MiB`);
  console.log(`mkinitramfs    ${m(mkinitramfs).padStart(6)} ms  ${(mkSize / 2 ** 20).toFixed(2)} MiB`);
  console.log(
    `speed: ${(median(dracut) / median(bf)).toFixed(1)}x dracut, ${(median(mkinitramfs) / median(bf)).toFixed(1)}x mkinitramfs`,
  );
  console.log(
    `size: ${(bfSize / dracutSize).toFixed(2)} of dracut's, ${(bfSize / mkSize).toFixed(2)} of mkinitramfs's (theirs carry udev, systemd or klibc tools; ours busybox)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
