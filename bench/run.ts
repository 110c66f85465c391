// npm run bench: every benchmark, each against its peer in the same run.
// npm run bench -- flash bundle: only those (names as in bench/, without .ts).
import { spawnSync } from 'node:child_process';

const ALL = ['packages', 'initrd', 'memory', 'bundle', 'flash'];
const chosen = process.argv.slice(2);
const unknown = chosen.filter((n) => !ALL.includes(n));
if (unknown.length > 0) {
  console.error(`bench: no benchmark ${unknown.join(', ')}; there are: ${ALL.join(' ')}`);
  process.exit(2);
}

for (const name of chosen.length > 0 ? chosen : ALL) {
  const script = `bench/${name}.ts`;
  console.log(`\n=== ${script}`);
  const r = spawnSync('npx', ['tsx', script], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
