// Proves that test/helpers/http-server.ts serves a directory on loopback only, and injects each fault as described,
// with real requests through Node's fetch and node:http (nothing stubbed).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRepoServer, type RepoServer } from '../../helpers/http-server.js';

let tmp: string;
let a: RepoServer;
let b: RepoServer;
const small = Buffer.from('Package: hello\nVersion: 1.0\n');
const big = randomBytes(256 * 1024);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bootforge-http-test-'));
  await mkdir(join(tmp, 'a', 'dists', 'stable'), { recursive: true });
  await mkdir(join(tmp, 'b'), { recursive: true });
  await writeFile(join(tmp, 'a', 'dists', 'stable', 'InRelease'), small);
  await writeFile(join(tmp, 'a', 'big.deb'), big);
  await writeFile(join(tmp, 'b', 'mirror.txt'), 'from the second host\n');
  await writeFile(join(tmp, 'secret'), 'outside the root\n');
  [a, b] = await Promise.all([startRepoServer(join(tmp, 'a')), startRepoServer(join(tmp, 'b'), { host: '127.0.0.2' })]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  a.clearFaults();
  b.clearFaults();
  a.requests.length = 0;
  b.requests.length = 0;
});

/** A raw request, for paths fetch would normalise (`..`). */
function rawGet(server: RepoServer, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: server.host, port: server.port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startRepoServer', () => {
  it('listens on loopback only, on a random port', async () => {
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(new URL(a.url).hostname).toBe('127.0.0.1');
    expect(a.port).toBeGreaterThan(0);
    expect(new URL(b.url).hostname).toBe('127.0.0.2');
    await expect(startRepoServer(tmp, { host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    await expect(startRepoServer(tmp, { host: 'localhost' })).rejects.toThrow(/loopback/);
  });

  it('serves files with their exact bytes and Content-Length, HEAD without a body, 404 otherwise', async () => {
    const res = await fetch(new URL('dists/stable/InRelease', a.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(small.length));
    expect(Buffer.from(await res.arrayBuffer())).toEqual(small);

    const head = await fetch(new URL('big.deb', a.url), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(big.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    expect((await fetch(new URL('missing', a.url))).status).toBe(404);
    expect((await fetch(new URL('dists/', a.url))).status).toBe(404);
    expect((await fetch(new URL('dists/stable/InRelease', a.url), { method: 'POST' })).status).toBe(405);
    expect(await rawGet(a, '/%2e%2e/secret')).toBe(404);
    expect(await rawGet(a, '/..%2Fsecret')).toBe(404);
    expect(a.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', '/dists/stable/InRelease', 200],
      ['HEAD', '/big.deb', 200],
      ['GET', '/missing', 404],
      ['GET', '/dists/', 404],
      ['POST', '/dists/stable/InRelease', 405],
      ['GET', '/secret', 404], // the URL parser already resolves %2e%2e
      ['GET', '/../secret', 404], // an encoded slash gets past it; the root check does not
    ]);
  });

  it('fails N times with a status, then serves normally (for retry tests)', async () => {
    a.setFault('dists/stable/InRelease', { status: 500, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(new URL('dists/stable/InRelease', a.url))).status);
    expect(statuses).toEqual([500, 500, 200]);
    expect(a.requests.map((r) => r.faulted)).toEqual([true, true, false]);
  });

  it('redirects to another loopback host', async () => {
    const target = new URL('mirror.txt', b.url).href;
    a.setFault('/dists/stable/InRelease', { redirect: target, times: 1 });
    const manual = await fetch(new URL('dists/stable/InRelease', a.url), { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe(target);

    a.setFault('/dists/stable/InRelease', { redirect: target, redirectStatus: 301, times: 1 });
    const followed = await fetch(new URL('dists/stable/InRelease', a.url));
    expect(followed.url).toBe(target);
    expect(await followed.text()).toBe('from the second host\n');
    expect(b.requests).toMatchObject([{ method: 'GET', path: '/mirror.txt', status: 200, faulted: false }]);
    expect(b.requests[0]?.end).toBeGreaterThanOrEqual(b.requests[0]?.start ?? Infinity);
  });

  it('serves other bytes, even for a missing path', async () => {
    a.setFault(new URL('dists/stable/InRelease', a.url).href, { body: Buffer.from('evil'), times: 1 });
    a.setFault('/not-there', { body: 'made up' });
    expect(await (await fetch(new URL('dists/stable/InRelease', a.url))).text()).toBe('evil');
    expect(await (await fetch(new URL('dists/stable/InRelease', a.url))).text()).toBe(small.toString());
    expect(await (await fetch(new URL('not-there', a.url))).text()).toBe('made up');
  });

  it('truncates: a short body with a matching Content-Length', async () => {
    a.setFault('/big.deb', { truncate: 1000, times: 1 });
    const res = await fetch(new URL('big.deb', a.url));
    expect(res.headers.get('content-length')).toBe('1000');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(big.subarray(0, 1000));
  });

  it('delays the answer', async () => {
    a.setFault((path) => path.endsWith('/InRelease'), { delayMs: 200, times: 1 });
    const start = performance.now();
    const res = await fetch(new URL('dists/stable/InRelease', a.url));
    expect(res.status).toBe(200);
    expect(performance.now() - start).toBeGreaterThanOrEqual(190);
  });

  it('resets the connection mid-body', async () => {
    a.setFault('/big.deb', { reset: true, times: 1 });
    const res = await fetch(new URL('big.deb', a.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(big.length));
    await expect(res.arrayBuffer()).rejects.toThrow();
    // Next request is served whole.
    const again = await fetch(new URL('big.deb', a.url));
    expect(Buffer.from(await again.arrayBuffer()).equals(big)).toBe(true); // toEqual on 256 KiB takes seconds
  });

  it('closes twice without error, and then refuses connections', async () => {
    const c = await startRepoServer(join(tmp, 'b'));
    expect((await fetch(new URL('mirror.txt', c.url))).status).toBe(200); // leaves a keep-alive connection open
    await c.close();
    await c.close();
    await expect(fetch(new URL('mirror.txt', c.url))).rejects.toThrow();
  });
});
