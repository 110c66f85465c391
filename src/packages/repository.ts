import type { Key } from 'openpgp';
import { BootforgeError } from '../errors/index.js';
import { sha256Hex } from './cache.js';
import type { Reporter } from '../log/events.js';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { readJsonEntry, writeJsonEntry } from './cache.js';
import { compressionOf, decompressStream } from './decompress.js';
import type { Downloader } from './fetch.js';
import { loadKeyring } from './keyring.js';
import { PackagesParser } from './packages-index.js';
import { parseRelease, verifyInRelease, type ReleaseInfo } from './release.js';
import type { RepoConfig, RepoSuite } from './repo-config.js';
import type { PackageRecord } from './types.js';

/** A verified suite: its Release facts and where they came from. */
export interface SuiteState {
  readonly suite: string;
  readonly uri: string;
  readonly release: ReleaseInfo;
  /** SHA-256 of the InRelease bytes, recorded in the lock. */
  readonly inReleaseSha256: string;
}

export interface LoadedRepository {
  readonly suites: readonly SuiteState[];
  readonly records: readonly PackageRecord[];
}

export interface LoadOptions {
  readonly downloader: Downloader;
  readonly reporter: Reporter;
  readonly now?: Date;
  /** Folder for parsed indexes, keyed by the SHA-256 of the signed index file they came from. */
  readonly indexCacheDir?: string;
}

/**
 * Loads every configured suite through apt's chain of trust: InRelease
 * (signature, dates) → each Packages index (size and SHA-256 from InRelease) →
 * records whose .deb SHA-256 the fetcher checks later.
 */
export async function loadRepository(config: RepoConfig, options: LoadOptions): Promise<LoadedRepository> {
  const now = options.now ?? new Date();
  const keyrings = new Map<string, Promise<Key[]>>();
  const keysFor = (suite: RepoSuite): Promise<Key[]> => {
    const id = 'inline' in suite.keyring ? suite.keyring.inline : suite.keyring.path;
    let keys = keyrings.get(id);
    if (!keys) keyrings.set(id, (keys = loadKeyring(suite.keyring)));
    return keys;
  };
  // A bad keyring is a configuration error: report it before touching the network.
  await Promise.all(config.insecure ? [] : config.suites.map(keysFor));
  const perSuite = await Promise.all(
    config.suites.map(async (suite) => {
      const state = await loadRelease(suite, config, options, now, keysFor);
      const indexes = await Promise.all(
        suite.components.map((component) =>
          loadComponent(suite, state.release, component, config.architecture, options),
        ),
      );
      return { state, records: indexes.flat() };
    }),
  );
  return { suites: perSuite.map((s) => s.state), records: perSuite.flatMap((s) => s.records) };
}

async function loadRelease(
  suite: RepoSuite,
  config: RepoConfig,
  options: LoadOptions,
  now: Date,
  keysFor: (s: RepoSuite) => Promise<Key[]>,
): Promise<SuiteState> {
  const url = `${suite.uri}/dists/${suite.suite}/InRelease`;
  let release: ReleaseInfo;
  let bytes: Buffer;
  if (config.insecure) {
    options.reporter.emit({
      type: 'warning',
      message: `--insecure: the signature of ${suite.suite} is NOT checked; anyone between you and the mirror can choose your packages`,
    });
    // An unsigned repository has only Release; a signed one's InRelease is read without checking.
    bytes = await options.downloader.getUnverified(url).catch(async (e: unknown) => {
      if (e instanceof BootforgeError && e.message.endsWith('HTTP 404')) {
        return options.downloader.getUnverified(`${suite.uri}/dists/${suite.suite}/Release`);
      }
      throw e;
    });
    const text = bytes.toString('utf8');
    release = parseRelease(text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----') ? signedTextUnchecked(text) : text, {
      now,
      source: url,
    });
  } else {
    bytes = await options.downloader.getUnverified(url);
    release = await verifyInRelease(bytes.toString('utf8'), { keys: await keysFor(suite), now, source: url });
  }
  options.reporter.emit({
    type: 'step',
    stage: 'packages',
    message: `${suite.suite}: Release of ${release.date.toISOString()}${release.signer ? `, signed by ${release.signer}` : ' (unverified)'}`,
  });
  return { suite: suite.suite, uri: suite.uri, release, inReleaseSha256: sha256Hex(bytes) };
}

/** The text between the clearsign header and the signature, unverified (only for --insecure). */
function signedTextUnchecked(text: string): string {
  const body = text.split(/^-----BEGIN PGP SIGNATURE-----$/m)[0] ?? text;
  const afterHeader = body.replace(/^-----BEGIN PGP SIGNED MESSAGE-----\n(?:[^\n]+\n)*\n/, '');
  return afterHeader.replace(/^- /gm, '');
}

async function loadComponent(
  suite: RepoSuite,
  release: ReleaseInfo,
  component: string,
  arch: string,
  options: LoadOptions,
): Promise<PackageRecord[]> {
  const base = `${component}/binary-${arch}/Packages`;
  const choice = ['.xz', '.gz', ''].map((ext) => `${base}${ext}`).find((p) => release.files.has(p));
  const expected = choice === undefined ? undefined : release.files.get(choice);
  if (choice === undefined || expected === undefined) {
    throw new BootforgeError(
      'BF_REPO_INDEX',
      `suite ${suite.suite} has no Packages index for ${component}/${arch} in its Release`,
      {
        hint: `check packages.components (the suite has: ${release.components.join(', ') || 'none listed'})`,
      },
    );
  }
  const origin = { suite: suite.suite, component, uri: suite.uri };
  const parsedPath = options.indexCacheDir ? join(options.indexCacheDir, `${expected.sha256}.json`) : undefined;
  const parsed = parsedPath ? readParsed(parsedPath, options.reporter) : undefined;
  if (parsed) return parsed.map((r) => ({ ...r, ...origin }));

  const compression = compressionOf(choice) ?? 'none';
  // By-hash URLs never change content under a reader while the mirror syncs.
  const path = release.acquireByHash ? `${component}/binary-${arch}/by-hash/SHA256/${expected.sha256}` : choice;
  const data = await options.downloader.get(
    `${suite.uri}/dists/${suite.suite}/${path}`,
    expected,
    `${suite.suite}/${choice}`,
  );
  const parser = new PackagesParser(origin);
  try {
    for await (const chunk of decompressStream(Readable.from([data]), compression)) parser.push(chunk as Buffer);
  } catch (cause) {
    throw new BootforgeError(
      'BF_REPO_INDEX',
      `cannot decompress ${suite.suite}/${choice}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const records = parser.end();
  const plain = release.files.get(base);
  if (plain && plain.size !== parser.bytes) {
    throw new BootforgeError(
      'BF_REPO_INDEX',
      `${suite.suite}/${base} decompressed to ${parser.bytes} bytes, Release says ${plain.size}`,
    );
  }
  if (parsedPath) {
    const bare = records.map(({ suite: _s, component: _c, uri: _u, ...rest }) => rest);
    writeJsonEntry(parsedPath, bare);
  }
  return records;
}

type ParsedRecord = Omit<PackageRecord, 'suite' | 'component' | 'uri'>;

/** A parsed index written by an earlier run; it was made from bytes whose hash the name carries. */
function readParsed(path: string, reporter: Reporter): ParsedRecord[] | undefined {
  const entry = readJsonEntry(path, isParsedIndex);
  if ('value' in entry) return entry.value;
  if (entry.corrupt) reporter.emit({ type: 'warning', message: `cached index ${path} was corrupt; reading it again` });
  return undefined;
}

/** What the resolver and fetcher rely on in each record; the other fields are optional strings. */
function isParsedIndex(value: unknown): value is ParsedRecord[] {
  return (
    Array.isArray(value) &&
    value.every((r: Partial<Record<keyof ParsedRecord, unknown>> | null) => {
      if (typeof r !== 'object' || r === null) return false;
      const { name, version, architecture, filename, size, sha256, essential } = r;
      return (
        [name, version, architecture, filename].every((s) => typeof s === 'string') &&
        Number.isSafeInteger(size) &&
        typeof sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(sha256) &&
        typeof essential === 'boolean'
      );
    })
  );
}
