import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { silentReporter } from '../../src/log/events.js';
import { build, type BuildResult } from '../../src/pipeline/build.js';
import { bundle, type BundleResult } from '../../src/pipeline/bundle.js';
import { openPackageSource, repoSettingsOf } from '../../src/pipeline/packages.js';
import { resolve } from '../../src/pipeline/resolve.js';
import { bootTest } from '../../src/qemu/boot-test.js';
import { GenerationVm } from './generation-vm.js';

const FIXTURES = 'test/fixtures/profiles/generations';

/** Which bundle to make: a profile of test/fixtures/profiles/generations, full or as a delta from another. */
export type BundleSpec = readonly [key: string, profile: string, base?: string];

export interface GenerationFixture {
  readonly built: BuildResult;
  readonly bundles: Readonly<Record<string, BundleResult>>;
  readonly vm: GenerationVm;
}

/**
 * The e2e generation tests' machine: gen-a's installer image installed by bootforge test
 * (generation 1), and the bundles on a FAT stick attached next to it.
 */
export async function installedGenerationMachine(
  work: string,
  specs: readonly BundleSpec[],
): Promise<GenerationFixture> {
  const profileOf = (file: string) => resolve({ profile: join(FIXTURES, file) }).resolved;
  const a = profileOf('gen-a.yaml');
  const source = openPackageSource(repoSettingsOf(a), {}, silentReporter);
  const built = await build({ profile: a, source, out: join(work, 'image') });
  const out = join(work, 'bundles');
  const bundles: Record<string, BundleResult> = {};
  for (const [key, file, base] of specs) {
    const basePath = base !== undefined ? bundles[base]?.path : undefined;
    bundles[key] = await bundle({ profile: profileOf(file), source, out, ...(basePath ? { base: basePath } : {}) });
  }
  // The bundles reach the machine on a FAT stick, as an administrator would carry them.
  const stick = join(work, 'bundles.img');
  const total = Object.values(bundles).reduce((s, b) => s + b.size, 0);
  execFileSync('mkfs.fat', ['-C', '-F', '32', stick, String(Math.ceil((total * 1.1) / 1024) + 40 * 1024)]);
  for (const b of Object.values(bundles)) {
    execFileSync('mcopy', ['-i', stick, b.path, '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  }
  const installDir = join(work, 'install');
  await bootTest({ image: built.image, profile: a, workDir: installDir, accel: 'tcg', keep: true });
  const machineDir = join(work, 'machine');
  mkdirSync(machineDir, { recursive: true });
  return { built, bundles, vm: new GenerationVm(machineDir, join(installDir, 'target.img'), stick) };
}

/** The command that switches the machine to a bundle on the stick. */
export const switchTo = (b: BundleResult): string =>
  `bootforge-gen switch /run/bundles/${basename(b.path)} --expect ${b.headerSha256}`;
