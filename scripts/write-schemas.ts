// Writes schema/*.schema.json from the zod schemas; with --check, fails when the checked-in files are stale.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas, renderSchema } from '../src/pipeline/schemas.js';

const dir = new URL('../schema/', import.meta.url).pathname;
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, schema] of Object.entries(jsonSchemas())) {
  const path = join(dir, name);
  const text = renderSchema(schema);
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = '';
  }
  if (current === text) continue;
  if (check) {
    console.error(`schema/${name} is out of date: run npm run schema`);
    stale++;
  } else {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    console.log(`wrote schema/${name}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
