// A small static HTTP server over a directory, bound to a loopback address only, with programmable faults so a
// package source can be tested against a real socket: errors, redirects, wrong or short bodies, delays, resets.
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

/**
 * What to do instead of (or on top of) serving the file. Steps apply in this order: `delayMs`, then the first of
 * `status` / `redirect` / content (`body` or the file), then `truncate` or `reset` on that content.
 */
export interface Fault {
  /** Answer with this status and a short text body (e.g. 500, 503, 403). */
  readonly status?: number;
  /** Answer with a redirect to this absolute URL (another 127.x server, or anything: nothing is fetched). */
  readonly redirect?: string;
  /** Redirect status; default 302. */
  readonly redirectStatus?: 301 | 302 | 303 | 307 | 308;
  /** Serve these bytes (status 200) instead of the file, even if the file does not exist. */
  readonly body?: Buffer | string;
  /** Serve only the first n bytes, with a matching Content-Length: a complete but short response. */
  readonly truncate?: number;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Announce the full Content-Length, send `resetAfter` bytes (default half), then destroy the socket. */
  readonly reset?: boolean;
  readonly resetAfter?: number;
  /**
   * Answer by hand, for what a fault above cannot describe: an endless chunked body, a huge
   * Content-Length, a trickle. Runs after `delayMs`; close() ends its connection.
   */
  readonly respond?: (res: ServerResponse) => void;
  /** Apply to this many matching requests, then serve normally again; default: every request. */
  readonly times?: number;
}

/** A path (`/dists/x/InRelease`, leading slash optional, or a full URL on this server) or a predicate. */
export type FaultMatch = string | ((path: string, method: string) => boolean);

export interface RequestRecord {
  readonly method: string;
  /** Decoded URL path, without query. */
  readonly path: string;
  /** Status sent (0 if the socket was reset before a status could be sent). */
  status: number;
  /** Whether a fault handled the request. */
  faulted: boolean;
  /** When the request arrived and when its response closed (performance.now() ms); for concurrency checks. */
  readonly start: number;
  end?: number;
}

export interface RepoServer {
  /** `http://<host>:<port>/`, always ending in `/`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request, in arrival order. Clear it with `requests.length = 0`. */
  readonly requests: RequestRecord[];
  /** Adds a fault; one set earlier for the same path string is replaced. The first matching live fault applies. */
  setFault(match: FaultMatch, fault: Fault): void;
  clearFaults(): void;
  /** Stops listening and drops open connections (keep-alive included). Safe to call twice. */
  close(): Promise<void>;
}

export interface RepoServerOptions {
  /** A loopback IPv4 address: 127.0.0.1 (default), or 127.0.0.2 etc. for a second "host". */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

interface LiveFault {
  readonly match: FaultMatch;
  readonly fault: Fault;
  left: number;
}

/** Serves `rootDir` over HTTP on a loopback address. Close it in `afterAll`. */
export async function startRepoServer(rootDir: string, opts: RepoServerOptions = {}): Promise<RepoServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new Error(`startRepoServer: host must be a 127.x.y.z loopback address, not ${JSON.stringify(host)}`);
  }
  const root = resolve(rootDir);
  const requests: RequestRecord[] = [];
  let faults: LiveFault[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const takeFault = (path: string, method: string): Fault | undefined => {
    const live = faults.find(
      (f) => f.left > 0 && (typeof f.match === 'string' ? f.match === path : f.match(path, method)),
    );
    if (!live) return undefined;
    live.left -= 1;
    return live.fault;
  };

  const handle = async (res: ServerResponse, record: RequestRecord) => {
    const fault = takeFault(record.path, record.method);
    record.faulted = fault !== undefined;
    if (fault?.delayMs) {
      await new Promise<void>((done) => {
        const t = setTimeout(() => {
          timers.delete(t);
          done();
        }, fault.delayMs);
        timers.add(t);
      });
      if (res.destroyed) return;
    }
    if (record.method !== 'GET' && record.method !== 'HEAD') {
      return send(res, record, 405, Buffer.from('method not allowed\n'), { Allow: 'GET, HEAD' });
    }
    if (fault?.respond !== undefined) {
      record.status = 200;
      return fault.respond(res);
    }
    if (fault?.status !== undefined) {
      return send(res, record, fault.status, Buffer.from(`injected fault: ${fault.status}\n`));
    }
    if (fault?.redirect !== undefined) {
      const status = fault.redirectStatus ?? 302;
      return send(res, record, status, Buffer.from(`see ${fault.redirect}\n`), { Location: fault.redirect });
    }
    let content: Buffer | undefined;
    if (fault?.body !== undefined) {
      content = typeof fault.body === 'string' ? Buffer.from(fault.body, 'utf8') : fault.body;
    } else {
      content = await readServed(root, record.path);
      if (content === undefined) return send(res, record, 404, Buffer.from('not found\n'));
    }
    if (fault?.truncate !== undefined) content = content.subarray(0, Math.max(0, fault.truncate));
    if (fault?.reset) {
      const part = content.subarray(0, fault.resetAfter ?? Math.floor(content.length / 2));
      record.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length });
      if (record.method === 'HEAD' || part.length === 0) res.flushHeaders();
      res.write(record.method === 'HEAD' ? Buffer.alloc(0) : part, () => res.socket?.destroy());
      return;
    }
    return send(res, record, 200, content, { 'Content-Type': 'application/octet-stream' });
  };

  const server: Server = createServer((req, res) => {
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: requestPath(req.url),
      status: 0,
      faulted: false,
      start: performance.now(),
    };
    requests.push(record);
    res.on('close', () => {
      record.end = performance.now();
    });
    handle(res, record).catch((e: unknown) => {
      if (!res.headersSent) send(res, record, 500, Buffer.from(`server error: ${String(e)}\n`));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  server.requestTimeout = 30_000;

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const address = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}/`,
    host,
    port: address.port,
    requests,
    setFault(match, fault) {
      const key = typeof match === 'string' ? normalizeMatch(match) : match;
      if (typeof key === 'string') faults = faults.filter((f) => f.match !== key);
      faults.push({ match: key, fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults = [];
    },
    close() {
      closing ??= new Promise<void>((done) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => done());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(
  res: ServerResponse,
  record: RequestRecord,
  status: number,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  record.status = status;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers, 'Content-Length': body.length });
  res.end(record.method === 'HEAD' ? undefined : body);
}

function requestPath(url: string | undefined): string {
  const pathname = new URL(url ?? '/', 'http://127.0.0.1').pathname;
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

function normalizeMatch(match: string): string {
  if (/^https?:\/\//.test(match)) return requestPath(new URL(match).pathname);
  return match.startsWith('/') ? match : `/${match}`;
}

/** The file's bytes, or undefined when it is missing, a directory, or outside the root. */
async function readServed(root: string, path: string): Promise<Buffer | undefined> {
  if (path.includes('\0')) return undefined;
  const abs = resolve(root, `.${path}`);
  if (abs !== root && !abs.startsWith(root + sep)) return undefined;
  try {
    if (!(await stat(abs)).isFile()) return undefined;
    return await readFile(abs);
  } catch {
    return undefined;
  }
}
