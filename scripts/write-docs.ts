// Writes the generated docs (docs/troubleshooting.md); with --check, fails when the checked-in files are stale.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderTroubleshooting } from './docs/troubleshooting.js';

const root = new URL('../', import.meta.url).pathname;
const check = process.argv.includes('--check');
const pages: Record<string, () => string> = { 'docs/troubleshooting.md': renderTroubleshooting };
let stale = 0;
for (const [name, render] of Object.entries(pages)) {
  const path = join(root, name);
  const text = render();
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = '';
  }
  if (current === text) continue;
  if (check) {
    console.error(`${name} is out of date: run npx tsx scripts/write-docs.ts`);
    stale++;
  } else {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    console.log(`wrote ${name}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
