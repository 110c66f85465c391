// Update bundle size for a one-file change: bootforge's delta bundle (unchanged files as hard
// links into the base) against the full bundle and against a binary delta of the whole tree
// (zstd --patch-from, the old tar as the dictionary), same two generations, same run.
// Needs the Debian mirror (or a warm cache) and zstd >= 1.4.5. Usage: npx tsx bench/bundle.ts
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/exec/run.js';
import { silentReporter } from '../src/log/events.js';
import { bundle, type BundleResult } from '../src/pipeline/bundle.js';
import { decodeFrames } from '../src/pipeline/delta.js';
import { openPackageSource, repoSettingsOf } from '../src/pipeline/packages.js';
import { resolve } from '../src/pipeline/resolve.js';

const work = mkdtempSync(join(tmpdir(), 'bf-bench-bundle-'));
const FIXTURES = 'test/fixtures/profiles/generations';

/** The uncompressed tar of a full bundle. */
async function treeTar(b: BundleResult, out: string): Promise<void> {
  const data = readFileSync(b.path);
  writeFileSync(out, Buffer.concat(await decodeFrames(data.subarray(4096), b.uncompressedSize, b.path)));
}

try {
  const profileOf = (file: string) => resolve({ profile: join(FIXTURES, file) }).resolved;
  const a = profileOf('gen-a.yaml');
  const source = openPackageSource(repoSettingsOf(a), {}, silentReporter);
  const out = join(work, 'bundles');
  const fullA = await bundle({ profile: a, source, out });
  let t = performance.now();
  const fullB = await bundle({ profile: profileOf('gen-b.yaml'), source, out });
  const fullMs = performance.now() - t;
  t = performance.now();
  const delta = await bundle({ profile: profileOf('gen-b.yaml'), source, out, base: fullA.path });
  const deltaMs = performance.now() - t;

  await treeTar(fullA, join(work, 'a.tar'));
  await treeTar(fullB, join(work, 'b.tar'));
  t = performance.now();
  await run([
    'zstd',
    '-q',
    '-f',
    '-3',
    '--long=27',
    `--patch-from=${join(work, 'a.tar')}`,
    join(work, 'b.tar'),
    '-o',
    join(work, 'b.patch.zst'),
  ]);
  const patchMs = performance.now() - t;
  const patch = statSync(join(work, 'b.patch.zst')).size;

  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`one-file change, generation of ${(fullB.treeSize / 2 ** 20).toFixed(1)} MiB:`);
  console.log(`  full bundle                 ${kib(fullB.size).padStart(12)}  ${fullMs.toFixed(0)} ms`);
  console.log(
    `  bootforge delta bundle      ${kib(delta.size).padStart(12)}  ${deltaMs.toFixed(0)} ms (${delta.delta?.reused} files from the base)`,
  );
  console.log(
    `  zstd --patch-from (peer)    ${kib(patch).padStart(12)}  ${patchMs.toFixed(0)} ms (after decompressing both trees)`,
  );
  console.log(
    `ratio delta/full: ${(delta.size / fullB.size).toFixed(4)}; delta/zstd-patch: ${(delta.size / patch).toFixed(2)}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
