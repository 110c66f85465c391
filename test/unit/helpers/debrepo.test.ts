// Proves that test/helpers/debrepo.ts builds what a real Debian client expects, checked with the real tools
// (dpkg-deb, xz, gpgv) and with openpgp, and that each tamper helper breaks exactly what it claims to.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendOutsideSignedBlock,
  buildRepo,
  cloneRepo,
  flipByte,
  generateKey,
  generateRsaKey,
  hasTool,
  indexPath,
  mustRun,
  releasePath,
  replaceInRelease,
  resign,
  rewritePackages,
  runTool,
  writeKeyring,
  type BuiltRepo,
  type FakePackage,
  type KeyPair,
} from '../../helpers/debrepo.js';

type Stanza = Record<string, string>;

/** deb822 stanzas; continuation lines are kept with their newline, as the multi-line fields need. */
function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  for (const block of text.split(/\n\n+/)) {
    if (block.trim() === '') continue;
    const s: Stanza = {};
    let last: string | undefined;
    for (const line of block.split('\n')) {
      if (line === '') continue;
      if (/^[ \t]/.test(line) && last !== undefined) {
        s[last] = `${s[last] ?? ''}\n${line}`;
        continue;
      }
      const colon = line.indexOf(':');
      last = line.slice(0, colon);
      s[last] = line.slice(colon + 1).trim();
    }
    out.push(s);
  }
  return out;
}

function field(s: Stanza | undefined, name: string): string {
  const v = s?.[name];
  if (v === undefined) throw new Error(`missing field ${name} in ${JSON.stringify(s)}`);
  return v;
}

/** `[sha256 or md5, size, path]` of a Release hash section. */
function hashLines(release: string, section: 'SHA256' | 'MD5Sum'): [string, number, string][] {
  const body = field(parseStanzas(release)[0], section);
  return body
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [h, size, path] = l.trim().split(/\s+/);
      return [h ?? '', Number(size), path ?? ''];
    });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** How many signatures in an InRelease verify against these keys (0 when none do). */
async function validClearsigned(armored: string, keys: readonly KeyPair[]): Promise<number> {
  const message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  const verificationKeys = await openpgp.readKeys({ binaryKeys: Buffer.concat(keys.map((k) => k.publicBinary)) });
  const { signatures } = await openpgp.verify({ message, verificationKeys });
  let ok = 0;
  for (const s of signatures) {
    try {
      await s.verified;
      ok += 1;
    } catch {
      // unknown key or bad signature
    }
  }
  return ok;
}

async function validDetached(data: Buffer, armoredSignature: string, keys: readonly KeyPair[]): Promise<number> {
  const message = await openpgp.createMessage({ binary: data });
  const signature = await openpgp.readSignature({ armoredSignature });
  const verificationKeys = await openpgp.readKeys({ binaryKeys: Buffer.concat(keys.map((k) => k.publicBinary)) });
  const { signatures } = await openpgp.verify({ message, signature, verificationKeys });
  let ok = 0;
  for (const s of signatures) {
    try {
      await s.verified;
      ok += 1;
    } catch {
      // unknown key or bad signature
    }
  }
  return ok;
}

const armoredPath = (r: BuiltRepo) => releasePath(r.dir, 'stable');

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

const PACKAGES: FakePackage[] = [
  {
    name: 'hello',
    version: '1:2.0-1',
    depends: 'libc6 (>= 2.36), awk | mawk',
    preDepends: 'dpkg (>= 1.17)',
    files: {
      '/usr/bin/hello': { content: '#!/bin/sh\necho hello\n', mode: 0o4755 },
      'usr/share/doc/hello/copyright': 'public domain\n',
    },
    symlinks: { '/usr/bin/hi': 'hello', '/usr/bin/hello-abs': '/usr/bin/hello' },
  },
  { name: 'libc6', version: '2.36-9+deb12u4', essential: true, priority: 'required', multiArch: 'same' },
  { name: 'mawk', version: '1.3.4.20200120-3.1', provides: 'awk', priority: 'required', section: 'interpreters' },
  { name: 'dpkg', version: '1.21.22', essential: true, conflicts: 'apt (<< 1.0)', breaks: 'old-thing' },
  { name: 'tzdata', version: '2024a-0+deb12u1', architecture: 'all', multiArch: 'foreign' },
  { name: 'big-file', version: '1.0', files: { '/usr/share/big-file/data': 'x'.repeat(5000) } },
  { name: 'src-pkg', version: '0.1-1', extraFields: { Source: 'src-origin (0.1-1)', Replaces: 'older' } },
];
const CONTRIB: FakePackage[] = [{ name: 'firmware-fake', version: '20230210-5', architecture: 'all' }];
const SECURITY: FakePackage[] = [
  { name: 'hello', version: '1:2.0-1+deb12u1', depends: 'libc6 (>= 2.36)' },
  { name: 'libc6', version: '2.36-9+deb12u4', essential: true, priority: 'required', multiArch: 'same' },
];

let tmp: string;
let repo: BuiltRepo;
let stranger: KeyPair;
let rsa: KeyPair;
let keyring: string;
let strangerKeyring: string;
let haveGpgv = false;
const validUntil = new Date(Date.UTC(2099, 0, 1, 0, 0, 0));
const date = new Date(Date.UTC(2024, 5, 10, 8, 52, 27));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bootforge-debrepo-test-'));
  // RSA key generation (prime search) takes 0.4-2 s: overlap it with the dpkg-deb runs.
  [repo, stranger, rsa, haveGpgv] = await Promise.all([
    buildRepo(join(tmp, 'repo'), {
      suites: {
        bookworm: { components: { main: PACKAGES, contrib: CONTRIB }, validUntil, date },
        'bookworm-security': { components: { main: SECURITY }, codename: 'bookworm-security' },
      },
    }),
    generateKey('Stranger'),
    generateRsaKey(),
    hasTool('gpgv'),
  ]);
  keyring = await writeKeyring(join(tmp, 'keys', 'trusted.gpg'), repo.key);
  strangerKeyring = await writeKeyring(join(tmp, 'keys', 'stranger.gpg'), stranger);
  if (!haveGpgv) console.warn('gpgv is not on PATH (apt-get install gpgv): the gpgv cross-checks are skipped');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** gpgv with a throwaway home, so nothing is read from or written to ~/.gnupg. */
async function gpgv(keyringPath: string, ...files: string[]) {
  const home = await mkdtemp(join(tmp, 'gnupg-'));
  return runTool(['gpgv', '--homedir', home, '--keyring', keyringPath, ...files]);
}

describe('buildRepo: layout and indexes', () => {
  it('writes the Debian tree: pool without epochs, dists with Packages/.gz/.xz per component', async () => {
    const expected = [
      'pool/main/h/hello/hello_2.0-1_amd64.deb',
      'pool/main/h/hello/hello_2.0-1+deb12u1_amd64.deb',
      'pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb',
      'pool/contrib/f/firmware-fake/firmware-fake_20230210-5_all.deb',
      'dists/bookworm/Release',
      'dists/bookworm/InRelease',
      'dists/bookworm/Release.gpg',
      'dists/bookworm-security/InRelease',
      ...['main', 'contrib'].flatMap((c) =>
        ['', '.gz', '.xz'].map((x) => `dists/bookworm/${c}/binary-amd64/Packages${x}`),
      ),
    ];
    for (const p of expected) expect(await exists(join(repo.dir, p)), p).toBe(true);
    expect(repo.debs.get('hello_1:2.0-1')?.filename).toBe('pool/main/h/hello/hello_2.0-1_amd64.deb');
    expect(repo.debs.size).toBe(PACKAGES.length + CONTRIB.length + 1); // libc6 is shared by both suites
  });

  it('lists architecture all packages in binary-amd64/Packages', async () => {
    const stanzas = parseStanzas(await readFile(indexPath(repo.dir, 'bookworm', 'main'), 'utf8'));
    const tz = stanzas.find((s) => s.Package === 'tzdata');
    expect(field(tz, 'Architecture')).toBe('all');
    expect(stanzas.map((s) => s.Package)).toEqual(PACKAGES.map((p) => p.name));
  });

  it('compresses Packages.xz (checked with the xz CLI) and Packages.gz to the same bytes as Packages', async () => {
    for (const [suite, component] of [
      ['bookworm', 'main'],
      ['bookworm', 'contrib'],
      ['bookworm-security', 'main'],
    ] as const) {
      // Compared as text: toEqual on Buffers walks them byte by byte, slowly.
      const plain = await readFile(indexPath(repo.dir, suite, component), 'utf8');
      const xz = await mustRun(['xz', '-dc', indexPath(repo.dir, suite, component, 'Packages.xz')]);
      expect(xz.toString('utf8')).toBe(plain);
      expect(gunzipSync(await readFile(indexPath(repo.dir, suite, component, 'Packages.gz'))).toString('utf8')).toBe(
        plain,
      );
    }
  });

  it('gives each .deb its true SHA256, MD5sum and Size in Packages', async () => {
    for (const [suite, component] of [
      ['bookworm', 'main'],
      ['bookworm', 'contrib'],
      ['bookworm-security', 'main'],
    ] as const) {
      for (const s of parseStanzas(await readFile(indexPath(repo.dir, suite, component), 'utf8'))) {
        const deb = await readFile(join(repo.dir, field(s, 'Filename')));
        expect(field(s, 'SHA256')).toBe(sha256(deb));
        expect(field(s, 'MD5sum')).toBe(md5(deb));
        expect(Number(field(s, 'Size'))).toBe(deb.length);
        const built = repo.debs.get(`${field(s, 'Package')}_${field(s, 'Version')}`);
        expect(built?.sha256).toBe(sha256(deb));
      }
    }
  });

  it('agrees with dpkg-deb -f on every control field it lists', async () => {
    const stanzas = parseStanzas(await readFile(indexPath(repo.dir, 'bookworm', 'main'), 'utf8'));
    const fields = [
      'Package',
      'Version',
      'Architecture',
      'Depends',
      'Pre-Depends',
      'Provides',
      'Conflicts',
      'Breaks',
      'Essential',
      'Multi-Arch',
      'Priority',
      'Section',
      'Installed-Size',
      'Source',
      'Replaces',
      'Description',
    ];
    const controls = await Promise.all(
      stanzas.map(async (s) => (await mustRun(['dpkg-deb', '-f', join(repo.dir, field(s, 'Filename'))])).toString()),
    );
    for (const [i, s] of stanzas.entries()) {
      const control = parseStanzas(controls[i] ?? '')[0];
      for (const f of fields) expect(control?.[f], `${s.Package} ${f}`).toBe(s[f]);
    }
    const hello = stanzas[0];
    expect(field(hello, 'Depends')).toBe('libc6 (>= 2.36), awk | mawk');
    expect(field(hello, 'Pre-Depends')).toBe('dpkg (>= 1.17)');
    expect(field(stanzas[1], 'Essential')).toBe('yes');
  });

  it('packs files with their modes, root ownership and symlinks as given', async () => {
    const listing = (await mustRun(['dpkg-deb', '-c', repo.debs.get('hello_1:2.0-1')?.path ?? ''])).toString('utf8');
    expect(listing).toMatch(/^-rwsr-xr-x root\/root +21 .* \.\/usr\/bin\/hello$/m);
    expect(listing).toMatch(/^-rw-r--r-- root\/root .* \.\/usr\/share\/doc\/hello\/copyright$/m);
    expect(listing).toMatch(/^lrwxrwxrwx root\/root .* \.\/usr\/bin\/hi -> hello$/m);
    expect(listing).toMatch(/^lrwxrwxrwx root\/root .* \.\/usr\/bin\/hello-abs -> \/usr\/bin\/hello$/m);
    const info = (await mustRun(['dpkg-deb', '-I', repo.debs.get('hello_1:2.0-1')?.path ?? ''])).toString('utf8');
    expect(info).toContain('new Debian package, version 2.0.');
  });

  it('builds the same .deb bytes from the same description', async () => {
    const again = await buildRepo(join(tmp, 'again'), {
      suites: { x: { components: { main: [PACKAGES[0] as FakePackage] } } },
      signWith: [],
    });
    expect(again.debs.get('hello_1:2.0-1')?.sha256).toBe(repo.debs.get('hello_1:2.0-1')?.sha256);
  });

  it('refuses names, versions and paths dpkg would not take, or that escape the package', async () => {
    const bad = (p: FakePackage) =>
      buildRepo(join(tmp, 'bad'), { suites: { x: { components: { main: [p] } } }, signWith: [] });
    await expect(bad({ name: 'Bad_Name', version: '1' })).rejects.toThrow(/invalid package name/);
    await expect(bad({ name: 'ok', version: 'v1 2' })).rejects.toThrow(/invalid version/);
    await expect(bad({ name: 'ok', version: '1', files: { '../../etc/x': 'x' } })).rejects.toThrow(/invalid path/);
    await expect(bad({ name: 'ok', version: '1', files: { 'DEBIAN/postinst': 'x' } })).rejects.toThrow(/invalid path/);
  });
});

describe('buildRepo: Release and signatures', () => {
  it('writes the Release fields and lists every index file with its size, SHA256 and MD5', async () => {
    const release = await readFile(releasePath(repo.dir, 'bookworm', 'Release'), 'utf8');
    const head = parseStanzas(release)[0];
    expect(head).toMatchObject({
      Origin: 'Bootforge Test',
      Label: 'Bootforge Test',
      Suite: 'bookworm',
      Codename: 'bookworm',
      Date: 'Mon, 10 Jun 2024 08:52:27 UTC',
      'Valid-Until': 'Thu, 01 Jan 2099 00:00:00 UTC',
      'Acquire-By-Hash': 'no',
      Architectures: 'amd64',
      Components: 'main contrib',
    });
    const sha = hashLines(release, 'SHA256');
    expect(sha.map(([, , p]) => p)).toEqual(
      ['contrib', 'main'].flatMap((c) => ['', '.gz', '.xz'].map((x) => `${c}/binary-amd64/Packages${x}`)),
    );
    for (const [hash, size, path] of sha) {
      const bytes = await readFile(join(repo.dir, 'dists', 'bookworm', path));
      expect(hash, path).toBe(sha256(bytes));
      expect(size, path).toBe(bytes.length);
    }
    for (const [hash, , path] of hashLines(release, 'MD5Sum')) {
      expect(hash, path).toBe(md5(await readFile(join(repo.dir, 'dists', 'bookworm', path))));
    }
    const security = await readFile(releasePath(repo.dir, 'bookworm-security', 'Release'), 'utf8');
    expect(security).not.toContain('Valid-Until');
    expect(parseStanzas(security)[0]?.Codename).toBe('bookworm-security');
  });

  it('clearsigns InRelease over exactly the Release text, verifiable with the key and not with another', async () => {
    const inRelease = await readFile(releasePath(repo.dir, 'bookworm'), 'utf8');
    const release = await readFile(releasePath(repo.dir, 'bookworm', 'Release'), 'utf8');
    expect(inRelease).not.toContain('\r');
    const message = await openpgp.readCleartextMessage({ cleartextMessage: inRelease });
    expect(`${message.getText()}\n`).toBe(release);
    expect(await validClearsigned(inRelease, [repo.key])).toBe(1);
    expect(await validClearsigned(inRelease, [stranger])).toBe(0);
  });

  it('writes Release.gpg, a detached signature over the Release bytes', async () => {
    const release = await readFile(releasePath(repo.dir, 'bookworm', 'Release'));
    const sig = await readFile(releasePath(repo.dir, 'bookworm', 'Release.gpg'), 'utf8');
    expect(sig).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    expect(await validDetached(release, sig, [repo.key])).toBe(1);
    expect(await validDetached(release, sig, [stranger])).toBe(0);
  });

  it('passes gpgv with a binary keyring of the key, and fails with another keyring', async (ctx) => {
    if (!haveGpgv) ctx.skip('gpgv is not on PATH');
    const inRelease = releasePath(repo.dir, 'bookworm');
    expect((await gpgv(keyring, inRelease)).code).toBe(0);
    expect((await gpgv(strangerKeyring, inRelease)).code).not.toBe(0);
    const detached = await gpgv(
      keyring,
      releasePath(repo.dir, 'bookworm', 'Release.gpg'),
      releasePath(repo.dir, 'bookworm', 'Release'),
    );
    expect(detached.code, detached.stderr).toBe(0);
  });

  it('signs with several keys at once (ed25519 + RSA-3072), each signature valid on its own', async () => {
    const multi = await buildRepo(join(tmp, 'multi'), {
      suites: { stable: { components: { main: [PACKAGES[1] as FakePackage] } } },
      signWith: [repo.key, rsa],
    });
    expect(multi.keys).toEqual([repo.key, rsa]);
    const inRelease = await readFile(releasePath(multi.dir, 'stable'), 'utf8');
    expect(await validClearsigned(inRelease, [rsa])).toBe(1);
    expect(await validClearsigned(inRelease, [repo.key])).toBe(1);
    expect(await validClearsigned(inRelease, [repo.key, rsa])).toBe(2);
    if (haveGpgv) {
      const both = await gpgv(
        await writeKeyring(join(tmp, 'keys', 'both.gpg'), repo.key, rsa),
        releasePath(multi.dir, 'stable'),
      );
      expect(both.code, both.stderr).toBe(0);
      // gpgv's exit status wants every signature checked; apt's rule (one good signature from a known key) is
      // what its status lines say: the RSA signature is good, the other one's key is unknown.
      const one = await gpgv(await writeKeyring(join(tmp, 'keys', 'rsa.gpg'), rsa), releasePath(multi.dir, 'stable'));
      expect(one.code).not.toBe(0);
      expect(one.stderr).toContain('Good signature from "Bootforge Test RSA Archive');
      expect(one.stderr).toContain('No public key');
    }
  });

  it('signs with an expired key when given a signature date inside its lifetime', async () => {
    const old = await generateKey('Expired', { date: new Date(Date.UTC(2020, 0, 1)), expiresInSeconds: 86_400 });
    expect(await old.privateKey.getExpirationTime()).toEqual(new Date(Date.UTC(2020, 0, 2)));
    const signatureDate = new Date(Date.UTC(2020, 0, 1, 12));
    const r = await buildRepo(join(tmp, 'expired-key'), { suites: { stable: {} }, signWith: old, signatureDate });
    const armored = await readFile(releasePath(r.dir, 'stable'), 'utf8');
    const message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
    const verificationKeys = await openpgp.readKeys({ binaryKeys: old.publicBinary });
    const [only] = (await openpgp.verify({ message, verificationKeys })).signatures;
    expect((await only?.signature)?.packets[0]?.created).toEqual(signatureDate);
    // The trap this fixture exists for: openpgp accepts it (the key was valid when it signed); apt does not.
    expect(await validClearsigned(armored, [old])).toBe(1);
    if (haveGpgv) {
      const home = await mkdtemp(join(tmp, 'gnupg-'));
      const kr = await writeKeyring(join(tmp, 'keys', 'expired.gpg'), old);
      const status = await runTool(['gpgv', '--homedir', home, '--status-fd', '1', '--keyring', kr, armoredPath(r)]);
      expect(status.stdout.toString()).toMatch(/^\[GNUPG:\] EXPKEYSIG /m); // what apt treats as a failure
    }
  });

  it('builds an unsigned repository with signWith: []', async () => {
    const unsigned = await buildRepo(join(tmp, 'unsigned'), { suites: { stable: {} }, signWith: [] });
    expect(await exists(releasePath(unsigned.dir, 'stable', 'Release'))).toBe(true);
    expect(await exists(releasePath(unsigned.dir, 'stable', 'InRelease'))).toBe(false);
    expect(await exists(releasePath(unsigned.dir, 'stable', 'Release.gpg'))).toBe(false);
    expect(unsigned.keys).toEqual([]);
    // An empty component still has (empty) indexes, listed in Release.
    expect((await stat(indexPath(unsigned.dir, 'stable', 'main'))).size).toBe(0);
  });
});

describe('tamper helpers', () => {
  let n = 0;
  const clone = () => cloneRepo(repo, join(tmp, `clone-${n++}`));

  it('replaceInRelease changes signed text so that both signatures go bad', async () => {
    const r = await clone();
    await replaceInRelease(r.dir, 'bookworm', 'Codename: bookworm', 'Codename: trixie');
    const inRelease = await readFile(releasePath(r.dir, 'bookworm'), 'utf8');
    expect(inRelease).toContain('Codename: trixie');
    expect(await validClearsigned(inRelease, [r.key])).toBe(0);
    const release = await readFile(releasePath(r.dir, 'bookworm', 'Release'));
    const sig = await readFile(releasePath(r.dir, 'bookworm', 'Release.gpg'), 'utf8');
    expect(release.toString()).toContain('Codename: trixie');
    expect(await validDetached(release, sig, [r.key])).toBe(0);
    if (haveGpgv) expect((await gpgv(keyring, releasePath(r.dir, 'bookworm'))).code).not.toBe(0);
    await expect(replaceInRelease(r.dir, 'bookworm', 'not there', 'x')).rejects.toThrow(/not in the signed text/);
  });

  it('resign re-hashes changed indexes and signs again, with the repo key or another', async () => {
    const r = await clone();
    await rewritePackages(r.dir, 'bookworm', 'main', (t) =>
      t.replace('Depends: libc6 (>= 2.36), awk | mawk', 'Depends: evil'),
    );
    const packages = await readFile(indexPath(r.dir, 'bookworm', 'main'));
    expect(packages.toString()).toContain('Depends: evil');
    const xz = await mustRun(['xz', '-dc', indexPath(r.dir, 'bookworm', 'main', 'Packages.xz')]);
    expect(xz.toString('utf8')).toBe(packages.toString('utf8'));
    // Before resign the Release hash no longer matches.
    const stale = hashLines(await readFile(releasePath(r.dir, 'bookworm', 'Release'), 'utf8'), 'SHA256');
    expect(stale.find(([, , p]) => p === 'main/binary-amd64/Packages')?.[0]).not.toBe(sha256(packages));

    await resign(r.dir, 'bookworm');
    const inRelease = await readFile(releasePath(r.dir, 'bookworm'), 'utf8');
    expect(await validClearsigned(inRelease, [r.key])).toBe(1);
    const fresh = hashLines(await readFile(releasePath(r.dir, 'bookworm', 'Release'), 'utf8'), 'SHA256');
    expect(fresh.find(([, , p]) => p === 'main/binary-amd64/Packages')?.[0]).toBe(sha256(packages));

    await resign(r.dir, 'bookworm', { signWith: stranger });
    const byStranger = await readFile(releasePath(r.dir, 'bookworm'), 'utf8');
    expect(await validClearsigned(byStranger, [r.key])).toBe(0);
    expect(await validClearsigned(byStranger, [stranger])).toBe(1);
  });

  it('resign sets or removes Valid-Until and Date, and applies a last edit', async () => {
    const r = await clone();
    const past = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
    await resign(r.dir, 'bookworm-security', {
      validUntil: past,
      date: new Date(Date.UTC(2020, 0, 1)),
      edit: (t) => t.replace('Label: Bootforge Test', 'Label: Edited'),
    });
    const head = parseStanzas(await readFile(releasePath(r.dir, 'bookworm-security', 'Release'), 'utf8'))[0];
    expect(head).toMatchObject({
      'Valid-Until': 'Thu, 02 Jan 2020 03:04:05 UTC',
      Date: 'Wed, 01 Jan 2020 00:00:00 UTC',
      Label: 'Edited',
    });
    const inRelease = await readFile(releasePath(r.dir, 'bookworm-security'), 'utf8');
    expect(inRelease).toContain('Valid-Until: Thu, 02 Jan 2020 03:04:05 UTC');
    expect(await validClearsigned(inRelease, [r.key])).toBe(1);

    await resign(r.dir, 'bookworm', { validUntil: null });
    expect(await readFile(releasePath(r.dir, 'bookworm', 'Release'), 'utf8')).not.toContain('Valid-Until');
  });

  it('appendOutsideSignedBlock adds unsigned text after or before the signed block; the signature stays good', async () => {
    const r = await clone();
    const original = await readFile(releasePath(r.dir, 'bookworm'), 'utf8');
    await appendOutsideSignedBlock(r.dir, 'bookworm', 'SHA256:\n 00 1 main/evil');
    const after = await readFile(releasePath(r.dir, 'bookworm'), 'utf8');
    expect(after).toBe(`${original}SHA256:\n 00 1 main/evil\n`);
    if (haveGpgv) expect((await gpgv(keyring, releasePath(r.dir, 'bookworm'))).code).toBe(0);

    const r2 = await clone();
    await appendOutsideSignedBlock(r2.dir, 'bookworm', 'Origin: Evil', 'before');
    const before = await readFile(releasePath(r2.dir, 'bookworm'), 'utf8');
    expect(before).toBe(`Origin: Evil\n${original}`);
    if (haveGpgv) expect((await gpgv(keyring, releasePath(r2.dir, 'bookworm'))).code).toBe(0);
  });

  it('flipByte changes exactly one byte, counting from the end when negative', async () => {
    const r = await clone();
    const deb = r.debs.get('hello_1:2.0-1')?.path ?? '';
    const original = await readFile(deb);
    const { before, after } = await flipByte(deb, -10);
    const changed = await readFile(deb);
    expect(changed.length).toBe(original.length);
    const diffs = [...changed.keys()].filter((i) => changed[i] !== original[i]);
    expect(diffs).toEqual([original.length - 10]);
    expect([before, after]).toEqual([original[original.length - 10], changed[original.length - 10]]);
    expect(sha256(changed)).not.toBe(r.debs.get('hello_1:2.0-1')?.sha256);
    await expect(flipByte(deb, original.length)).rejects.toThrow(/outside/);
  });
});
