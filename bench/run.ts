// npm run bench: every benchmark, each against its peer in the same run.
import { spawnSync } from 'node:child_process';

for (const script of ['bench/packages.ts', 'bench/initrd.ts', 'bench/memory.ts', 'bench/bundle.ts']) {
  console.log(`\n=== ${script}`);
  const r = spawnSync('npx', ['tsx', script], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
