import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BootforgeError } from '../errors/index.js';
import type { Reporter } from '../log/events.js';
import type { DownloadCache } from './cache.js';

export interface Expected {
  readonly sha256: string;
  readonly size: number;
}

export interface DownloaderOptions {
  readonly cache: DownloadCache;
  readonly reporter: Reporter;
  /** Downloads at once. */
  readonly concurrency?: number;
  /** Tries per file for network errors and 5xx answers. */
  readonly attempts?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

const MAX_REDIRECTS = 5;

/**
 * Fetches files whose SHA-256 and size a signed index promised. Bytes are
 * hashed as they arrive and handed back only when they match; the same Buffer
 * goes to the cache and to the caller, so what was checked is what is used.
 */
export class Downloader {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: DownloaderOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** The verified bytes of `url`, from the cache when it holds them. */
  async get(url: string, expected: Expected, name: string): Promise<Buffer> {
    const cached = this.options.cache.read(expected.sha256, expected.size);
    if ('data' in cached) {
      this.options.reporter.emit({ type: 'downloaded', name, size: expected.size, cached: true, ms: 0 });
      return cached.data;
    }
    if (cached.corrupt) {
      this.options.reporter.emit({ type: 'warning', message: `cached ${name} was corrupt; fetching it again` });
    }
    await this.acquire();
    try {
      const started = Date.now();
      const data = await this.withRetries(url, expected, name);
      this.options.cache.write(expected.sha256, data);
      this.options.reporter.emit({
        type: 'downloaded',
        name,
        size: data.length,
        cached: false,
        ms: Date.now() - started,
      });
      return data;
    } finally {
      this.release();
    }
  }

  /** Fetches a small file that no signed index describes (InRelease itself). */
  async getUnverified(url: string): Promise<Buffer> {
    await this.acquire();
    try {
      return await this.withRetries(url, undefined, url);
    } finally {
      this.release();
    }
  }

  private async withRetries(url: string, expected: Expected | undefined, name: string): Promise<Buffer> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return await this.once(url, expected, name);
      } catch (e) {
        last = e;
        if (e instanceof BootforgeError && !(e as BootforgeError & { retryable?: boolean }).retryable) throw e;
        if (attempt < this.attempts) {
          const wait = this.backoffMs * 2 ** (attempt - 1);
          this.options.reporter.emit({
            type: 'warning',
            message: `${name}: ${(e as Error).message}; retrying in ${wait} ms (${attempt}/${this.attempts - 1})`,
          });
          await new Promise((r) => setTimeout(r, wait));
        }
      }
    }
    throw new BootforgeError('BF_FETCH', `cannot fetch ${url}: ${(last as Error).message}`, {
      cause: last,
      hint: 'check the network and the mirror; downloads are retried with backoff before giving up',
    });
  }

  private async once(url: string, expected: Expected | undefined, name: string): Promise<Buffer> {
    const response = await this.follow(url);
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let bytes = 0;
    const total = expected?.size ?? Number(response.headers.get('content-length') ?? 0);
    if (!response.body) throw retryable(`empty answer for ${url}`);
    for await (const chunk of response.body) {
      const buf = Buffer.from(chunk as Uint8Array);
      bytes += buf.length;
      if (expected && bytes > expected.size) {
        throw new BootforgeError(
          'BF_HASH_MISMATCH',
          `${url} does not match its signed index: it is larger than the ${expected.size} bytes promised`,
          {
            hint: 'the mirror served something else than the signed index describes; refusing it',
          },
        );
      }
      hash.update(buf);
      chunks.push(buf);
      this.options.reporter.emit({ type: 'download', name, bytes, total });
    }
    const data = Buffer.concat(chunks);
    if (expected) {
      const got = hash.digest('hex');
      if (data.length !== expected.size || got !== expected.sha256) {
        throw new BootforgeError(
          'BF_HASH_MISMATCH',
          `${url} does not match its signed index: got ${data.length} bytes with SHA-256 ${got}, expected ${expected.size} bytes with ${expected.sha256}`,
          { hint: 'the mirror served something else than the signed index describes; refusing it' },
        );
      }
    }
    return data;
  }

  /** GET with redirects followed by hand, so that an https → http downgrade is refused (as apt does). */
  private async follow(start: string): Promise<Response> {
    if (start.startsWith('file:')) return fileResponse(start);
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let response: Response;
      try {
        response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e) {
        throw retryable(
          `${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`,
        );
      }
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        await response.body?.cancel();
        if (!location) throw new BootforgeError('BF_FETCH', `${url} redirects nowhere`);
        const next = new URL(location, url);
        if (new URL(url).protocol === 'https:' && next.protocol !== 'https:') {
          throw new BootforgeError('BF_FETCH', `${url} redirects to ${next.href}, a downgrade from https; refused`, {
            hint: 'use a mirror that stays on https, or name the http mirror explicitly',
          });
        }
        url = next.href;
        continue;
      }
      if (response.status >= 500 || response.status === 429) {
        await response.body?.cancel();
        throw retryable(`HTTP ${response.status}`);
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new BootforgeError('BF_FETCH', `${url}: HTTP ${response.status}`, {
          hint:
            response.status === 404
              ? 'the mirror does not have this file (an older version removed by a point release?); run bootforge lock again'
              : undefined,
        });
      }
      return response;
    }
    throw new BootforgeError('BF_FETCH', `${start}: more than ${MAX_REDIRECTS} redirects`);
  }

  private async acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}

/** A local mirror (file:///srv/debian), as apt allows; a missing file is a 404. */
async function fileResponse(url: string): Promise<Response> {
  try {
    const data = await readFile(fileURLToPath(url));
    return new Response(data, { status: 200, headers: { 'content-length': String(data.length) } });
  } catch {
    return new Response(null, { status: 404 });
  }
}

function retryable(message: string): Error {
  return Object.assign(new Error(message), { retryable: true });
}
