// Regenerates test/fixtures/invalid/*/expected.txt from the CLI's current output.
// Review the diff before committing: these files are the specification of our error messages.
import { writeFileSync } from 'node:fs';
import { runCli } from '../test/helpers/cli.js';
import { invalidFixtures } from '../test/helpers/fixtures.js';

for (const f of invalidFixtures()) {
  const result = await runCli(f.argv);
  writeFileSync(f.expectedPath, `${result.stderr}\n`);
  console.log(`${f.name}: exit ${result.code}`);
}
