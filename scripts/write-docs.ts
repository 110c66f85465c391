// Writes the generated docs (docs/troubleshooting.md); with --check, fails when the checked-in files are stale.
import { relative } from 'node:path';
import { renderTroubleshooting } from './docs/troubleshooting.js';
import { writeGenerated } from './generated.js';

const root = new URL('../', import.meta.url);
const at = (path: string) => relative(process.cwd(), new URL(path, root).pathname);
const files = new Map([[at('docs/troubleshooting.md'), renderTroubleshooting()]]);
process.exitCode = writeGenerated(files, process.argv.includes('--check'), 'npm run docs') > 0 ? 1 : 0;
