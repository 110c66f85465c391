// Writes schema/*.schema.json from the zod schemas; with --check, fails when the checked-in files are stale.
import { relative } from 'node:path';
import { jsonSchemas, renderSchema } from '../src/pipeline/schemas.js';
import { writeGenerated } from './generated.js';

const dir = new URL('../schema/', import.meta.url);
const files = new Map(
  Object.entries(jsonSchemas()).map(([name, schema]) => [
    relative(process.cwd(), new URL(name, dir).pathname),
    renderSchema(schema),
  ]),
);
process.exitCode = writeGenerated(files, process.argv.includes('--check'), 'npm run schema') > 0 ? 1 : 0;
