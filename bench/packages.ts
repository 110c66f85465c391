// Measures the package source on the real archive with a cold cache in a temporary folder:
// index load, resolve, download, and extraction of the generic kernel package, with peak RSS.
// Usage: npx tsx bench/packages.ts   (needs the host's apt sources, or BOOTFORGE_MIRROR)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingReporter } from '../src/log/events.js';
import { openPackageSource, resolveClosures, unpackPackages } from '../src/pipeline/packages.js';
import { loadRepository } from '../src/packages/repository.js';
import { resolveClosure, parsePackageRequest } from '../src/packages/resolve.js';
import { Universe } from '../src/packages/universe.js';
import { formatSize } from '../src/schema/size.js';

const INSTALLER_SET = ['busybox-static', 'fdisk', 'e2fsprogs', 'dosfstools', 'systemd-boot-efi', 'linux-image-amd64'];
const cacheDir = mkdtempSync(join(tmpdir(), 'bf-bench-packages-'));
const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
const time = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  const out = await fn();
  console.log(
    `${label.padEnd(34)} ${(performance.now() - t).toFixed(0).padStart(6)} ms   rss peak so far ${mib(peak)}`,
  );
  return out;
};

try {
  const source = openPackageSource(
    { suites: ['bookworm', 'bookworm-updates', 'bookworm-security'], components: ['main'], architecture: 'amd64' },
    { cacheDir },
    new RecordingReporter(),
  );
  const opts = { downloader: source.downloader, reporter: source.reporter, indexCacheDir: join(cacheDir, 'index') };
  const cold = await time('index load, cold (download+parse)', () => loadRepository(source.config, opts));
  await time('index load, warm (parsed cache)', () => loadRepository(source.config, opts));
  const universe = await time('universe (sort 63k packages)', () => Promise.resolve(new Universe(cold.records)));
  const closure = await time('resolve installer set', () =>
    Promise.resolve(resolveClosure(universe, INSTALLER_SET.map(parsePackageRequest))),
  );
  const download = closure.reduce((n, p) => n + p.record.size, 0);
  const installed = closure.reduce((n, p) => n + (p.record.installedSize ?? 0) * 1024, 0);
  console.log(
    `installer closure: ${closure.length} packages, ${formatSize(download)} download, ${formatSize(installed)} installed`,
  );
  const kernel = closure.find((p) => /^linux-image-6.*-amd64$/.test(p.record.name));
  const others = closure.filter((p) => p !== kernel).map((p) => p.record);
  await time('download + unpack all but kernel', () => unpackPackages(source, others));
  if (kernel) {
    await time('download kernel .deb', () =>
      source.downloader.get(
        `${source.config.suites.find((s) => s.suite === kernel.record.suite)?.uri ?? ''}/${kernel.record.filename}`,
        kernel.record,
        'kernel',
      ),
    );
    await time(`extract ${kernel.record.name} (${formatSize(kernel.record.size)})`, () =>
      unpackPackages(source, [kernel.record]),
    );
  }
  await time('resolve+unpack again (all cached)', async () => {
    const { closures } = await resolveClosures(source, {
      c: { requests: INSTALLER_SET, essential: false, priorities: [] },
    });
    return unpackPackages(
      source,
      (closures.c ?? []).map((p) => p.record),
    );
  });
  console.log(`peak RSS ${mib(peak)}; node ${process.version}`);
} finally {
  clearInterval(sampler);
  rmSync(cacheDir, { recursive: true, force: true });
}
