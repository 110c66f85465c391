import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { BootforgeError } from '../errors/index.js';
import { formatSize } from '../schema/size.js';
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
  /**
   * A download that receives less than STALL_BYTES in this long is aborted (curl's
   * --speed-limit/--speed-time): a silent or trickling mirror must not hang a build.
   */
  readonly stallMs?: number;
}

const MAX_REDIRECTS = 5;

/** InRelease and Release have no signed size to bound them; bookworm's InRelease is ~150 KB. */
export const RELEASE_BOUND = 16 * 1024 * 1024;

/** The least a download must receive per stall window (see DownloaderOptions.stallMs). */
const STALL_BYTES = 1024;

/** How much a download may be, and what says so (for the error). */
interface Bound {
  readonly bytes: number;
  readonly what: string;
}

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
  private readonly stallMs: number;

  constructor(private readonly options: DownloaderOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
    this.stallMs = options.stallMs ?? 30_000;
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

  /** Fetches a small file that no signed index describes (InRelease itself), up to RELEASE_BOUND. */
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
    const bound: Bound = expected
      ? { bytes: expected.size, what: `${expected.size} bytes, the size its signed index gives` }
      : { bytes: RELEASE_BOUND, what: `${formatSize(RELEASE_BOUND)}, the bound for a Release file` };
    const watch = new StallWatch(this.stallMs);
    try {
      const response = await this.follow(url, watch.signal);
      const announced = response.headers.get('content-length');
      if (announced !== null && Number(announced) > bound.bytes) {
        await response.body?.cancel().catch(() => undefined);
        throw tooLarge(url, `announces ${announced} bytes, more than ${bound.what}; nothing was read`);
      }
      if (!response.body) throw retryable(`empty answer for ${url}`);
      return await this.read(response.body, url, expected, name, bound, watch);
    } catch (e) {
      if (watch.stalled) throw retryable(`less than ${STALL_BYTES} bytes arrived in ${this.stallMs / 1000} s`);
      throw e;
    } finally {
      watch.stop();
    }
  }

  /** The body, hashed as it arrives and never kept past `bound` (one byte more is enough to refuse it). */
  private async read(
    body: ReadableStream<Uint8Array>,
    url: string,
    expected: Expected | undefined,
    name: string,
    bound: Bound,
    watch: StallWatch,
  ): Promise<Buffer> {
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      watch.arrived(chunk.byteLength);
      if (bytes > bound.bytes) throw tooLarge(url, `sent more than ${bound.what}; stopped reading`);
      const buf = Buffer.from(chunk);
      hash.update(buf);
      chunks.push(buf);
      this.options.reporter.emit({ type: 'download', name, bytes, total: expected?.size ?? 0 });
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
  private async follow(start: string, signal: AbortSignal): Promise<Response> {
    if (start.startsWith('file:')) return requireOk(start, await fileResponse(start));
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let response: Response;
      try {
        response = await fetch(url, { redirect: 'manual', signal });
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
      return await requireOk(url, response);
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

/** The response when it is a 200; any other status is final (redirects and retries are handled before). */
async function requireOk(url: string, response: Response): Promise<Response> {
  if (response.status === 200) return response;
  await response.body?.cancel();
  throw new BootforgeError('BF_FETCH', `${url}: HTTP ${response.status}`, {
    hint:
      response.status === 404
        ? 'the mirror does not have this file (an older version removed by a point release?); run bootforge lock again'
        : undefined,
  });
}

/**
 * A local mirror (file:///srv/debian), as apt allows; a missing file (or anything
 * but a regular file) is a 404. Streamed, so the download's bound applies to it too.
 */
async function fileResponse(url: string): Promise<Response> {
  const path = fileURLToPath(url);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return new Response(null, { status: 404 });
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers: { 'content-length': String(info.size) } });
}

/**
 * Aborts a download that receives less than STALL_BYTES in a window of `ms`,
 * from the request on: no answer, a silent body and a trickle alike.
 */
class StallWatch {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #received = 0;
  stalled = false;

  constructor(ms: number) {
    this.#timer = setInterval(() => {
      if (this.#received < STALL_BYTES) {
        this.stalled = true;
        this.#controller.abort();
      }
      this.#received = 0;
    }, ms);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  arrived(bytes: number): void {
    this.#received += bytes;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function tooLarge(url: string, why: string): BootforgeError {
  return new BootforgeError('BF_DOWNLOAD_TOO_LARGE', `${url}: ${why}`, {
    hint: 'the mirror or a proxy in between is broken or hostile; try another mirror',
  });
}

function retryable(message: string): Error {
  return Object.assign(new Error(message), { retryable: true });
}
