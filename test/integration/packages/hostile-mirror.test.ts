/**
 * A hostile mirror on 127.0.0.1 (issue 15): every download is bounded before its
 * signature or hash can be checked, by size and by time.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { DownloadCache } from '../../../src/packages/cache.js';
import { Downloader } from '../../../src/packages/fetch.js';
import { openPackageSource, resolveClosures } from '../../../src/pipeline/packages.js';
import { buildRepo, indexPath, writeKeyring, type BuiltRepo } from '../../helpers/debrepo.js';
import { startRepoServer, type RepoServer } from '../../helpers/http-server.js';

const MIB = 1024 * 1024;

let work: string;
let repo: BuiltRepo;
let server: RepoServer;
let keyring: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bf-hostile-'));
  repo = await buildRepo(join(work, 'repo'), {
    suites: { bookworm: { components: { main: [{ name: 'tool', version: '1.0-1' }] } } },
  });
  server = await startRepoServer(repo.dir);
  keyring = await writeKeyring(join(work, 'keyring.gpg'), repo.key);
}, 60_000);
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** Writes `chunk` as fast as the client reads, until it hangs up or `limit` bytes went out (chunked). */
function endless(limit: number, chunk = Buffer.alloc(64 * 1024, 0x41)) {
  return (res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    let sent = 0;
    const more = (): void => {
      while (sent < limit && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  };
}

/** Sends `head`, then one byte every `everyMs` until the client hangs up. */
function trickle(everyMs: number, head: Record<string, string> = {}) {
  return (res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...head });
    res.flushHeaders();
    const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('x')), everyMs);
    res.once('close', () => clearInterval(timer));
  };
}

function source(cacheDir: string, mirror = server.url) {
  return openPackageSource(
    { suites: ['bookworm'], components: ['main'], architecture: 'amd64' },
    { mirror, keyring, cacheDir: join(work, cacheDir), env: {}, aptDir: join(work, 'no-apt') },
    new RecordingReporter(),
  );
}

const resolveTool = (cacheDir: string, mirror?: string) =>
  resolveClosures(source(cacheDir, mirror), { c: { requests: ['tool'], essential: false, priorities: [] } });

async function failure(p: Promise<unknown>): Promise<BootforgeError> {
  const e = await p.then(
    () => new Error('expected a failure'),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(BootforgeError);
  return e as BootforgeError;
}

/** The highest RSS seen while `body` runs, above the RSS before it. */
async function rssGrowth(body: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  try {
    await body();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

describe('a hostile mirror', () => {
  it('an endless chunked InRelease is cut off at the Release bound, in bounded memory', async () => {
    server.setFault('/dists/bookworm/InRelease', { respond: endless(1024 * MIB) });
    try {
      let e: BootforgeError | undefined;
      const growth = await rssGrowth(async () => (e = await failure(resolveTool('endless'))));
      expect(e?.code).toBe('BF_DOWNLOAD_TOO_LARGE');
      expect(e?.message).toBe(
        `${server.url}dists/bookworm/InRelease: sent more than 16 MiB, the bound for a Release file; stopped reading`,
      );
      expect(growth).toBeLessThan(128 * MIB);
    } finally {
      server.clearFaults();
    }
  }, 60_000);

  it('a Content-Length of 10^12 for InRelease is refused before reading a byte', async () => {
    server.setFault('/dists/bookworm/InRelease', { respond: trickle(1000, { 'Content-Length': '1000000000000' }) });
    try {
      const e = await failure(resolveTool('huge-length'));
      expect(e.code).toBe('BF_DOWNLOAD_TOO_LARGE');
      expect(e.message).toContain('InRelease: announces 1000000000000 bytes, more than 16 MiB');
    } finally {
      server.clearFaults();
    }
  }, 10_000);

  it('a Packages.xz larger than its signed size is refused at that size', async () => {
    const xz = readFileSync(indexPath(repo.dir, 'bookworm', 'main', 'Packages.xz'));
    server.setFault('/dists/bookworm/main/binary-amd64/Packages.xz', {
      respond: endless(64 * MIB, Buffer.concat([xz, Buffer.alloc(4096)])),
    });
    try {
      const e = await failure(resolveTool('long-index'));
      expect(e.code).toBe('BF_DOWNLOAD_TOO_LARGE');
      expect(e.message).toContain(
        `Packages.xz: sent more than ${xz.length} bytes, the size its signed index gives; stopped reading`,
      );
    } finally {
      server.clearFaults();
    }
  }, 10_000);

  it('a .deb longer than its signed Size is refused (announced or sent), a shorter one too', async () => {
    const src = source('deb');
    const { closures } = await resolveClosures(src, { c: { requests: ['tool'], essential: false, priorities: [] } });
    const pkg = closures.c?.[0]?.record;
    if (!pkg) throw new Error('no package');
    const deb = readFileSync(join(repo.dir, pkg.filename));
    const get = () => src.downloader.get(`${server.url}${pkg.filename}`, pkg, pkg.name);

    server.setFault(`/${pkg.filename}`, { body: Buffer.concat([deb, Buffer.from('trailing')]) });
    const announced = await failure(get());
    expect([announced.code, announced.message]).toEqual([
      'BF_DOWNLOAD_TOO_LARGE',
      `${server.url}${pkg.filename}: announces ${deb.length + 8} bytes, more than ${deb.length} bytes, the size its signed index gives; nothing was read`,
    ]);

    server.setFault(`/${pkg.filename}`, { respond: endless(64 * MIB, deb) });
    const sent = await failure(get());
    expect([sent.code, sent.message]).toEqual([
      'BF_DOWNLOAD_TOO_LARGE',
      `${server.url}${pkg.filename}: sent more than ${deb.length} bytes, the size its signed index gives; stopped reading`,
    ]);

    server.setFault(`/${pkg.filename}`, { truncate: deb.length - 1 });
    expect((await failure(get())).code).toBe('BF_HASH_MISMATCH');
    expect(src.cache.read(pkg.sha256, pkg.size)).toEqual({ corrupt: false });
    server.clearFaults();
  }, 20_000);

  it('a mirror that trickles is given up after the stall window, on every try', async () => {
    server.setFault('/trickle', { respond: trickle(100) });
    const reporter = new RecordingReporter();
    const downloader = new Downloader({
      cache: new DownloadCache(join(work, 'trickle-cache')),
      reporter,
      attempts: 2,
      backoffMs: 10,
      stallMs: 400,
    });
    const started = Date.now();
    try {
      const e = await failure(downloader.getUnverified(`${server.url}trickle`));
      expect(e.code).toBe('BF_FETCH');
      expect(e.message).toBe(`cannot fetch ${server.url}trickle: less than 1024 bytes arrived in 0.4 s`);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      server.clearFaults();
    }
  }, 10_000);

  it('a local mirror (a folder) is bounded too: an oversized InRelease is not read, a FIFO is not waited for', async () => {
    const local = join(work, 'local');
    cpSync(repo.dir, local, { recursive: true });
    const inRelease = join(local, 'dists', 'bookworm', 'InRelease');
    truncateSync(inRelease, 17 * MIB);
    const e = await failure(resolveTool('local-large', local));
    expect([e.code, e.message]).toEqual([
      'BF_DOWNLOAD_TOO_LARGE',
      `file://${inRelease}: announces ${17 * MIB} bytes, more than 16 MiB, the bound for a Release file; nothing was read`,
    ]);

    rmSync(inRelease);
    execFileSync('mkfifo', [inRelease]);
    const fifo = await failure(resolveTool('local-fifo', local));
    expect([fifo.code, fifo.message]).toEqual(['BF_FETCH', `file://${inRelease}: HTTP 404`]);
  }, 10_000);
});
