import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeb822Sources, parseOneLineSources, readAptSources } from '../../../src/packages/apt-sources.js';
import { resolveRepoConfig, securityUriFor } from '../../../src/packages/repo-config.js';
import { type BootforgeError } from '../../../src/errors/index.js';

const DEB822 = `# comment
Types: deb deb-src
URIs: http://mirror.test/debian
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.test/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGJ...
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
Enabled: no
URIs: http://disabled.test/debian
Suites: trixie
Components: main
`;

describe('apt sources', () => {
  it('reads deb822 stanzas, inline keys, and skips disabled ones', () => {
    const s = parseDeb822Sources(DEB822, 'x.sources');
    expect(s.map((x) => [x.uri, x.suites, x.components])).toEqual([
      ['http://mirror.test/debian', ['bookworm', 'bookworm-updates'], ['main', 'non-free-firmware']],
      ['http://mirror.test/debian-security', ['bookworm-security'], ['main']],
    ]);
    expect(s[0]?.signedBy).toBe('/usr/share/keyrings/debian-archive-keyring.gpg');
    expect(s[1]?.signedBy).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGJ...');
    expect(s[1]?.from).toBe('x.sources:8');
  });

  it('reads one-line sources with options, and skips deb-src and comments', () => {
    const s = parseOneLineSources(
      '# deb http://commented.test/debian bookworm main\ndeb-src http://src.test/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.test/debian bookworm main contrib\n',
      'a.list',
    );
    expect(s).toEqual([
      {
        uri: 'http://one.test/debian',
        suites: ['bookworm'],
        components: ['main', 'contrib'],
        signedBy: '/k.gpg',
        from: 'a.list:3',
      },
    ]);
  });

  it('reads a whole /etc/apt folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bf-apt-'));
    mkdirSync(join(dir, 'sources.list.d'));
    writeFileSync(join(dir, 'sources.list'), 'deb http://list.test/debian bookworm main\n');
    writeFileSync(join(dir, 'sources.list.d', 'debian.sources'), DEB822);
    writeFileSync(join(dir, 'sources.list.d', 'ignored.list.disabled'), 'deb http://no.test/debian bookworm main\n');
    expect(readAptSources(dir).map((s) => s.uri)).toEqual([
      'http://list.test/debian',
      'http://mirror.test/debian',
      'http://mirror.test/debian-security',
    ]);
  });
});

describe('mirror resolution order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bf-apt-'));
  mkdirSync(join(dir, 'sources.list.d'));
  writeFileSync(join(dir, 'sources.list.d', 'debian.sources'), DEB822);
  const base = { suites: ['bookworm', 'bookworm-security'], components: ['main'], architecture: 'amd64', aptDir: dir };
  const uris = (inputs: Parameters<typeof resolveRepoConfig>[0]) =>
    resolveRepoConfig(inputs).suites.map((s) => [s.suite, s.uri, s.origin]);

  it('takes the host apt sources last, per suite', () => {
    expect(uris({ ...base, env: {} })).toEqual([
      ['bookworm', 'http://mirror.test/debian', `apt source ${dir}/sources.list.d/debian.sources:2`],
      ['bookworm-security', 'http://mirror.test/debian-security', `apt source ${dir}/sources.list.d/debian.sources:8`],
    ]);
  });

  it('prefers the flag over the environment over the profile, and derives the security archive', () => {
    const env = { BOOTFORGE_MIRROR: 'http://env.test/debian' };
    expect(
      uris({ ...base, env, mirror: { flag: 'http://flag.test/debian/', profile: 'http://profile.test/debian' } }),
    ).toEqual([
      ['bookworm', 'http://flag.test/debian', '--mirror'],
      ['bookworm-security', 'http://flag.test/debian-security', '--mirror + "-security"'],
    ]);
    expect(uris({ ...base, env, mirror: { profile: 'http://profile.test/debian' } })[0]).toEqual([
      'bookworm',
      'http://env.test/debian',
      'BOOTFORGE_MIRROR',
    ]);
    expect(uris({ ...base, env: {}, mirror: { profile: 'http://profile.test/debian' } })[0]).toEqual([
      'bookworm',
      'http://profile.test/debian',
      'packages.mirror',
    ]);
    expect(
      uris({
        ...base,
        env: { BOOTFORGE_SECURITY_MIRROR: 'http://sec.test/s' },
        mirror: { flag: 'http://flag.test/debian' },
      })[1],
    ).toEqual(['bookworm-security', 'http://sec.test/s', 'BOOTFORGE_SECURITY_MIRROR']);
    expect(securityUriFor('http://x.test/debian/')).toBe('http://x.test/debian-security');
  });

  it('takes the keyring from the flag, the profile, then Signed-By', () => {
    const host = resolveRepoConfig({ ...base, env: {} }).suites;
    expect(host[0]?.keyring).toEqual({ path: '/usr/share/keyrings/debian-archive-keyring.gpg' });
    expect('inline' in (host[1]?.keyring ?? {})).toBe(true);
    const flagged = resolveRepoConfig({ ...base, env: {}, keyring: { flag: '/a.gpg', profile: '/b.gpg' } }).suites;
    expect(flagged.map((s) => s.keyring)).toEqual([{ path: '/a.gpg' }, { path: '/a.gpg' }]);
  });

  it('says how to configure a mirror when there is none', () => {
    const empty = mkdtempSync(join(tmpdir(), 'bf-apt-'));
    let error: BootforgeError | undefined;
    try {
      resolveRepoConfig({ ...base, aptDir: empty, env: {} });
    } catch (e) {
      error = e as BootforgeError;
    }
    expect(error?.code).toBe('BF_NO_MIRROR');
    expect(error?.message).toBe('no Debian mirror is configured for suite bookworm');
    expect(error?.hint).toContain('--mirror');
    expect(error?.hint).toContain('BOOTFORGE_MIRROR');
  });
});
