import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { openPackageSource, resolveClosures, type SourceFlags } from '../../../src/pipeline/packages.js';
import {
  appendOutsideSignedBlock,
  buildRepo,
  cloneRepo,
  flipByte,
  generateKey,
  replaceInRelease,
  resign,
  rewritePackages,
  writeKeyring,
  type BuiltRepo,
  type FakePackage,
} from '../../helpers/debrepo.js';
import { startRepoServer, type RepoServer } from '../../helpers/http-server.js';

// A small but real archive: two suites, a virtual package, alternatives, a cycle,
// an Essential package, and a security suite with an older version of one package.
const MAIN: FakePackage[] = [
  {
    name: 'app',
    version: '1.0-1',
    depends: 'libfoo (>= 2.0), awk, missing-mta | mini-mta',
    files: { '/usr/bin/app': '#!/bin/sh\necho app\n' },
  },
  { name: 'libfoo', version: '2.1-1', depends: 'libc6 (>= 2.36)' },
  { name: 'libc6', version: '2.36-9', priority: 'required' },
  { name: 'mawk', version: '1.3.4-3', provides: 'awk', priority: 'required' },
  { name: 'gawk', version: '1:5.2.1-2', provides: 'awk', priority: 'optional' },
  { name: 'mini-mta', version: '0.5-1' },
  { name: 'cyc-a', version: '1', depends: 'cyc-b' },
  { name: 'cyc-b', version: '1', preDepends: 'cyc-a' },
  { name: 'base-files', version: '12.4', essential: true, priority: 'required' },
  { name: 'tool', version: '2.0-1' },
];
const SECURITY: FakePackage[] = [
  { name: 'libfoo', version: '2.1-1+deb12u1', depends: 'libc6 (>= 2.36)' },
  { name: 'tool', version: '1.9-1+deb12u1' },
];

let work: string;
let pristine: BuiltRepo;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bf-source-'));
  pristine = await buildRepo(join(work, 'pristine'), {
    suites: {
      bookworm: { components: { main: MAIN } },
      'bookworm-security': { components: { main: SECURITY }, validUntil: new Date(Date.now() + 7 * 86400_000) },
    },
  });
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A private copy of the archive, served on 127.0.0.1, with a client configured for it. */
async function setup(name: string, flags: Partial<SourceFlags> = {}, suites = ['bookworm', 'bookworm-security']) {
  const repo = await cloneRepo(pristine, join(work, name));
  const server = await startRepoServer(repo.dir);
  const keyring = await writeKeyring(join(work, `${name}.gpg`), repo.key);
  const cacheDir = join(work, `${name}-cache`);
  const reporter = new RecordingReporter();
  const open = () =>
    openPackageSource(
      { suites, components: ['main'], architecture: 'amd64' },
      {
        mirror: server.url,
        securityMirror: server.url,
        keyring,
        cacheDir,
        env: {},
        aptDir: join(work, 'no-apt'),
        ...flags,
      },
      reporter,
    );
  return { repo, server, keyring, cacheDir, reporter, open };
}

const servers: RepoServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function expectCode(p: Promise<unknown>, code: string): Promise<BootforgeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BootforgeError);
    expect((e as BootforgeError).code).toBe(code);
    return e as BootforgeError;
  }
  throw new Error(`expected ${code}`);
}

const names = (list: { record: { name: string; version: string } }[]) =>
  list.map((p) => `${p.record.name}=${p.record.version}`);

describe('package source against a signed repository on 127.0.0.1', () => {
  it('verifies, resolves across suites, and downloads verified .debs into the cache', async () => {
    const t = await setup('good');
    servers.push(t.server);
    const source = t.open();
    const { repository, closures } = await resolveClosures(source, {
      c: { requests: ['app', 'tool'], essential: true, priorities: [] },
    });
    expect(repository.suites.map((s) => [s.suite, s.release.signer])).toEqual([
      ['bookworm', t.repo.key.fingerprint.toUpperCase()],
      ['bookworm-security', t.repo.key.fingerprint.toUpperCase()],
    ]);
    // Highest version across suites: libfoo from security, tool from main (security has an older one).
    expect(names(closures.c ?? [])).toEqual([
      'app=1.0-1',
      'base-files=12.4',
      'libc6=2.36-9',
      'libfoo=2.1-1+deb12u1',
      'mawk=1.3.4-3',
      'mini-mta=0.5-1',
      'tool=2.0-1',
    ]);
    const app = closures.c?.find((p) => p.record.name === 'app');
    if (!app) throw new Error('no app');
    const data = await source.downloader.get(`${t.server.url}${app.record.filename}`, app.record, 'app');
    expect(data.length).toBe(app.record.size);
    expect(readdirSync(join(t.cacheDir, 'sha256', app.record.sha256.slice(0, 2)))).toContain(app.record.sha256);
  });

  it('resolves dependency cycles and reports a missing package with a suggestion', async () => {
    const t = await setup('cycles', {}, ['bookworm']);
    servers.push(t.server);
    const { closures } = await resolveClosures(t.open(), {
      c: { requests: ['cyc-a'], essential: false, priorities: [] },
    });
    expect(names(closures.c ?? [])).toEqual(['cyc-a=1', 'cyc-b=1']);
    const e = await expectCode(
      resolveClosures(t.open(), { c: { requests: ['libfo'], essential: false, priorities: [] } }),
      'BF_PACKAGE_NOT_FOUND',
    );
    expect(e.hint).toBe('did you mean "libfoo"?');
  });

  it('refuses an InRelease whose signed text was changed (bad signature)', async () => {
    const t = await setup('badsig', {}, ['bookworm']);
    servers.push(t.server);
    await replaceInRelease(t.repo.dir, 'bookworm', 'Codename: bookworm', 'Codename: trixie');
    const e = await expectCode(resolveClosures(t.open(), {}), 'BF_REPO_SIGNATURE');
    expect(e.message).toContain('has no valid signature from a key in the keyring');
  });

  it('refuses a repository signed only by an unknown key, and accepts one good signature among unknown ones', async () => {
    const t = await setup('unknown', {}, ['bookworm']);
    servers.push(t.server);
    const stranger = await generateKey('Stranger');
    await resign(t.repo.dir, 'bookworm', { signWith: stranger });
    await expectCode(resolveClosures(t.open(), {}), 'BF_REPO_SIGNATURE');
    await resign(t.repo.dir, 'bookworm', { signWith: [stranger, t.repo.key] });
    const { repository } = await resolveClosures(t.open(), {});
    expect(repository.suites[0]?.release.signer).toBe(t.repo.key.fingerprint.toUpperCase());
  });

  it('refuses a signature by a key that has expired since', async () => {
    const t = await setup('expkey', {}, ['bookworm']);
    servers.push(t.server);
    const day = new Date(Date.UTC(2021, 0, 1));
    const old = await generateKey('Old Archive Key', { date: day, expiresInSeconds: 86400 });
    await resign(t.repo.dir, 'bookworm', {
      signWith: old,
      signatureDate: new Date(day.getTime() + 3600_000),
      date: day,
    });
    const keyring = await writeKeyring(join(work, 'expkey-old.gpg'), old);
    const e = await expectCode(resolveClosures(openWith(t, keyring), {}), 'BF_REPO_SIGNATURE');
    expect(e.hint).toContain('expired');
  });

  it('refuses an InRelease past its Valid-Until', async () => {
    const t = await setup('expired', {}, ['bookworm']);
    servers.push(t.server);
    await resign(t.repo.dir, 'bookworm', {
      date: new Date(Date.UTC(2020, 0, 1)),
      validUntil: new Date(Date.UTC(2020, 0, 8)),
    });
    const e = await expectCode(resolveClosures(t.open(), {}), 'BF_REPO_EXPIRED');
    expect(e.message).toContain('expired at');
  });

  it.each(['after', 'before'] as const)('refuses text %s the signed block', async (where) => {
    const t = await setup(`outside-${where}`, {}, ['bookworm']);
    servers.push(t.server);
    await appendOutsideSignedBlock(t.repo.dir, 'bookworm', 'Packages: evil\n', where);
    const e = await expectCode(resolveClosures(t.open(), {}), 'BF_REPO_SIGNATURE');
    expect(e.message).toContain('text outside the signed block is refused');
  });

  it('refuses a Packages index that does not match InRelease', async () => {
    const t = await setup('tampered-index', {}, ['bookworm']);
    servers.push(t.server);
    await rewritePackages(t.repo.dir, 'bookworm', 'main', (text) => text.replace('Version: 2.0-1', 'Version: 9.9-1'));
    const e: unknown = await resolveClosures(t.open(), {
      c: { requests: ['tool'], essential: false, priorities: [] },
    }).catch((x: unknown) => x);
    // The recompressed index may come out longer than the signed size (refused at that size) or not.
    expect(e).toBeInstanceOf(BootforgeError);
    expect([(e as BootforgeError).code, (e as BootforgeError).message]).toSatisfy(
      ([code, message]: string[]) =>
        (code === 'BF_HASH_MISMATCH' && message!.includes('does not match its signed index')) ||
        (code === 'BF_DOWNLOAD_TOO_LARGE' && message!.includes('the size its signed index gives')),
    );
  });

  it('refuses a tampered .deb and keeps it out of the cache', async () => {
    const t = await setup('tampered-deb', {}, ['bookworm']);
    servers.push(t.server);
    const source = t.open();
    const { closures } = await resolveClosures(source, {
      c: { requests: ['mini-mta'], essential: false, priorities: [] },
    });
    const pkg = closures.c?.[0]?.record;
    if (!pkg) throw new Error('no package');
    await flipByte(join(t.repo.dir, pkg.filename), -100);
    await expectCode(source.downloader.get(`${t.server.url}${pkg.filename}`, pkg, pkg.name), 'BF_HASH_MISMATCH');
    expect(source.cache.read(pkg.sha256, pkg.size)).toEqual({ corrupt: false });
  });

  it('follows a redirect to another host, where the hashes still decide', async () => {
    const t = await setup('redirect', {}, ['bookworm']);
    servers.push(t.server);
    const other = await cloneRepo(t.repo, join(work, 'redirect-other'));
    const b = await startRepoServer(other.dir, { host: '127.0.0.2' });
    servers.push(b);
    const source = t.open();
    const { closures } = await resolveClosures(source, { c: { requests: ['tool'], essential: false, priorities: [] } });
    const pkg = closures.c?.[0]?.record;
    if (!pkg) throw new Error('no package');
    t.server.setFault(`/${pkg.filename}`, { redirect: `${b.url}${pkg.filename}` });
    await flipByte(join(other.dir, pkg.filename), 50);
    await expectCode(source.downloader.get(`${t.server.url}${pkg.filename}`, pkg, pkg.name), 'BF_HASH_MISMATCH');
    await flipByte(join(other.dir, pkg.filename), 50); // restore: the other host now serves the right bytes
    const data = await source.downloader.get(`${t.server.url}${pkg.filename}`, pkg, pkg.name);
    expect(data.length).toBe(pkg.size);
    expect(b.requests.some((r) => r.path === `/${pkg.filename}`)).toBe(true);
  });

  it('retries server errors with backoff, and does not retry a 404', async () => {
    const t = await setup('retries', {}, ['bookworm']);
    servers.push(t.server);
    t.server.setFault('/dists/bookworm/InRelease', { status: 503, times: 2 });
    const { repository } = await resolveClosures(t.open(), {});
    expect(repository.suites).toHaveLength(1);
    expect(t.server.requests.filter((r) => r.path === '/dists/bookworm/InRelease').map((r) => r.status)).toEqual([
      503, 503, 200,
    ]);
    expect(t.reporter.events.filter((e) => e.type === 'warning')).toHaveLength(2);
    t.server.setFault('/dists/bookworm/InRelease', { status: 404 });
    await expectCode(resolveClosures(t.open(), {}), 'BF_FETCH');
    expect(t.server.requests.filter((r) => r.path === '/dists/bookworm/InRelease' && r.status === 404)).toHaveLength(1);
  });

  it('re-fetches a corrupt cache entry', async () => {
    const t = await setup('corrupt-cache', {}, ['bookworm']);
    servers.push(t.server);
    const source = t.open();
    const { closures } = await resolveClosures(source, { c: { requests: ['tool'], essential: false, priorities: [] } });
    const pkg = closures.c?.[0]?.record;
    if (!pkg) throw new Error('no package');
    await source.downloader.get(`${t.server.url}${pkg.filename}`, pkg, pkg.name);
    writeFileSync(source.cache.pathOf(pkg.sha256), 'garbage');
    const before = t.server.requests.length;
    const data = await source.downloader.get(`${t.server.url}${pkg.filename}`, pkg, pkg.name);
    expect(data.length).toBe(pkg.size);
    expect(t.server.requests.length).toBe(before + 1);
    expect(t.reporter.events.some((e) => e.type === 'warning' && e.message.includes('corrupt'))).toBe(true);
  });

  it('downloads in parallel, never more at once than the limit', async () => {
    const t = await setup('parallel', { jobs: 2 }, ['bookworm']);
    servers.push(t.server);
    const source = t.open();
    const { closures } = await resolveClosures(source, {
      c: { requests: ['app', 'cyc-a', 'tool'], essential: false, priorities: [] },
    });
    const list = closures.c ?? [];
    let active = 0;
    let peak = 0;
    t.server.setFault((path) => path.endsWith('.deb'), { delayMs: 60 });
    await Promise.all(
      list.map(async (p) => {
        active++;
        peak = Math.max(peak, active);
        try {
          await source.downloader.get(`${t.server.url}${p.record.filename}`, p.record, p.record.name);
        } finally {
          active--;
        }
      }),
    );
    const debRequests = t.server.requests.filter((r) => r.path.endsWith('.deb'));
    expect(debRequests).toHaveLength(list.length);
    expect(peak).toBe(list.length); // callers all waited at once...
    expect(maxConcurrent(t.server)).toBe(2); // ...but the wire saw two at a time, never more
  });

  it('reads an unsigned repository only with --insecure, warning each time', async () => {
    const t = await setup('unsigned', {}, ['bookworm']);
    servers.push(t.server);
    await resign(t.repo.dir, 'bookworm', { signWith: [] });
    await expectCode(resolveClosures(t.open(), {}), 'BF_FETCH');
    const insecure = await setup('unsigned-insecure', { insecure: true }, ['bookworm']);
    servers.push(insecure.server);
    await resign(insecure.repo.dir, 'bookworm', { signWith: [] });
    const { closures } = await resolveClosures(insecure.open(), {
      c: { requests: ['tool'], essential: false, priorities: [] },
    });
    expect(names(closures.c ?? [])).toEqual(['tool=2.0-1']);
    expect(insecure.reporter.events.some((e) => e.type === 'warning' && e.message.includes('NOT checked'))).toBe(true);
  });
});

function openWith(t: Awaited<ReturnType<typeof setup>>, keyring: string) {
  return openPackageSource(
    { suites: ['bookworm'], components: ['main'], architecture: 'amd64' },
    { mirror: t.server.url, keyring, cacheDir: t.cacheDir, env: {}, aptDir: join(work, 'no-apt') },
    t.reporter,
  );
}

/** The most .deb requests the server had open at once, from its log's start and end times. */
function maxConcurrent(server: RepoServer): number {
  const spans = server.requests.filter((r) => r.path.endsWith('.deb'));
  let peak = 0;
  for (const s of spans) {
    peak = Math.max(peak, spans.filter((o) => o.start <= s.start && (o.end ?? Infinity) > s.start).length);
  }
  return peak;
}
