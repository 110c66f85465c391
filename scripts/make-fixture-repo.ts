// Builds test/fixtures/repo: a tiny signed Debian repository that error fixtures read
// through a file: mirror, so they need no network. Run once; the output is checked in.
import { mkdtempSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALLER_PACKAGES, SYSTEM_PACKAGES } from '../src/pipeline/packages.js';
import { buildRepo, writeKeyring } from '../test/helpers/debrepo.js';

const out = new URL('../test/fixtures/repo/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'bf-fixture-repo-'));
const repo = await buildRepo(join(tmp, 'repo'), {
  suites: {
    bookworm: {
      date: new Date(Date.UTC(2026, 0, 1)),
      validUntil: null,
      components: {
        main: [
          { name: 'hello', version: '2.10-3' },
          { name: 'needs-newer', version: '1.0-1', depends: 'hello (>= 9)' },
          { name: 'hello-fork', version: '1.0-1', conflicts: 'hello' },
          // Empty stand-ins for the installer's tools, so that a profile can get past resolution.
          ...[...new Set([...INSTALLER_PACKAGES, ...SYSTEM_PACKAGES])].map((name) => ({
            name,
            version: '1.0-1',
          })),
        ],
      },
    },
  },
});
await writeKeyring(join(tmp, 'repo', 'keyring.gpg'), repo.key);
rmSync(out, { recursive: true, force: true });
cpSync(join(tmp, 'repo'), out, { recursive: true });
rmSync(tmp, { recursive: true, force: true });
console.log(`wrote ${out} (key ${repo.key.fingerprint})`);
