import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockFile } from '../../../src/packages/lock.js';
import { runCli } from '../../helpers/cli.js';
import { buildRepo, writeKeyring, type BuiltRepo } from '../../helpers/debrepo.js';
import { startRepoServer, type RepoServer } from '../../helpers/http-server.js';

let work: string;
let repo: BuiltRepo;
let server: RepoServer;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bf-lock-'));
  const pkg = (name: string, version: string, extra = {}) => ({ name, version, ...extra });
  repo = await buildRepo(join(work, 'repo'), {
    suites: {
      bookworm: {
        components: {
          main: [
            pkg('linux-image-amd64', '6.1.0-1', { depends: 'linux-image-6.1.0-1-amd64' }),
            pkg('linux-image-6.1.0-1-amd64', '6.1.100-1'),
            pkg('busybox-static', '1:1.35.0-4'),
            pkg('fdisk', '2.38.1-5', { depends: 'libc6' }),
            pkg('e2fsprogs', '1.47.0-2', { depends: 'libc6' }),
            pkg('dosfstools', '4.2-1', { depends: 'libc6' }),
            pkg('util-linux', '2.38.1-5', { depends: 'libc6' }),
            pkg('tar', '1.34-1', { depends: 'libc6' }),
            pkg('zstd', '1.5.4-2', { depends: 'libc6' }),
            pkg('systemd-boot-efi', '252.39-1'),
            pkg('libc6', '2.36-9'),
            pkg('htop', '3.2.2-2', { depends: 'libc6' }),
          ],
        },
      },
    },
  });
  server = await startRepoServer(repo.dir);
  await writeKeyring(join(work, 'k.gpg'), repo.key);
}, 60_000);

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

function writeProfile(extra: string): string {
  const path = join(work, 'demo.yaml');
  writeFileSync(
    path,
    `name: demo\nsystem: {init: busybox}\npackages:\n  mirror: ${server.url}\n  keyring: k.gpg\n  suites: [bookworm]\n${extra}`,
  );
  return path;
}

const flags = () => ['--cache-dir', join(work, 'cache'), '--apt-dir', join(work, 'no-apt'), '--quiet'];

describe('bootforge lock', () => {
  it('writes every closure with exact versions and hashes, and the same lock twice', async () => {
    const profile = writeProfile('');
    const first = await runCli(['lock', profile, ...flags()]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`wrote ${join(work, 'demo.lock.json')}`);
    const lock = JSON.parse(readFileSync(join(work, 'demo.lock.json'), 'utf8')) as LockFile;
    expect(Object.keys(lock.closures)).toEqual(['installer', 'system']);
    const installer = lock.closures.installer?.packages.map((p) => `${p.name}=${p.version}`);
    expect(installer).toEqual([
      'busybox-static=1:1.35.0-4',
      'dosfstools=4.2-1',
      'e2fsprogs=1.47.0-2',
      'fdisk=2.38.1-5',
      'libc6=2.36-9',
      'linux-image-6.1.0-1-amd64=6.1.100-1',
      'linux-image-amd64=6.1.0-1',
      'systemd-boot-efi=252.39-1',
      'tar=1.34-1',
      'util-linux=2.38.1-5',
      'zstd=1.5.4-2',
    ]);
    for (const p of lock.closures.installer?.packages ?? []) {
      expect(p.sha256).toBe(repo.debs.get(`${p.name}_${p.version}`)?.sha256);
      expect(p.filename).toMatch(/^pool\/main\//);
    }
    expect(lock.suites[0]?.suite).toBe('bookworm');
    expect(JSON.stringify(lock)).not.toContain(server.url); // the mirror is not part of the lock
    const again = await runCli(['lock', profile, ...flags()]);
    expect(again.stdout).toContain('no package changes');
    expect(readFileSync(join(work, 'demo.lock.json'), 'utf8')).toBe(JSON.stringify(lock, null, 2) + '\n');
  });

  it('lock --check accepts a current lock and refuses one the profile has outgrown, saying what changed', async () => {
    const profile = writeProfile('');
    await runCli(['lock', profile, ...flags()]);
    expect((await runCli(['lock', profile, '--check'])).code).toBe(0);
    writeProfile('  install: [htop]\n');
    const stale = await runCli(['lock', profile, '--check']);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('BF_LOCK_STALE');
    expect(stale.stderr).toContain('system: added htop');
    const updated = await runCli(['lock', profile, ...flags()]);
    expect(updated.stdout).toContain('system: +htop 3.2.2-2');
    expect((await runCli(['lock', profile, '--check'])).code).toBe(0);
  });
});
