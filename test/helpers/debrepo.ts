// A real Debian-style repository on disk for tests: .debs built by dpkg-deb, Packages indexes (plain, gzip, xz),
// a Release file with hashes, and InRelease / Release.gpg signed with keys generated in the test. Tamper helpers
// turn a good repository into the attacks a package source must refuse.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, cp, mkdir, mkdtemp, open, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as openpgp from 'openpgp';

/** A file inside a fake package: text or bytes, with its mode (default 0o644; 0o4755 for setuid works). */
export type FakeFile = string | Buffer | { readonly content: string | Buffer; readonly mode?: number };

/** One binary package to build. Relation fields are written verbatim (`libc6 (>= 2.36), awk | mawk`). */
export interface FakePackage {
  readonly name: string;
  /** Full Debian version, epoch included (`1:2.0-1`); the epoch is left out of the .deb file name, as in Debian. */
  readonly version: string;
  /** Default amd64. `all` packages are listed in binary-amd64/Packages, as Debian does. */
  readonly architecture?: 'amd64' | 'all';
  readonly depends?: string;
  readonly preDepends?: string;
  readonly provides?: string;
  readonly conflicts?: string;
  readonly breaks?: string;
  readonly essential?: boolean;
  /** Default `optional`. */
  readonly priority?: string;
  /** Default `misc`. */
  readonly section?: string;
  readonly multiArch?: string;
  /** Short description (first line); default `<name> test package`. */
  readonly description?: string;
  /** Further fields written to both the control file and the Packages stanza (`Source`, `Replaces`, ...). */
  readonly extraFields?: Readonly<Record<string, string>>;
  /** Path inside the package (leading `/` optional) → content. */
  readonly files?: Readonly<Record<string, FakeFile>>;
  /** Path inside the package → link target (relative or absolute, written as given). */
  readonly symlinks?: Readonly<Record<string, string>>;
}

export interface SuiteSpec {
  /** Component → packages. Default `{ main: [] }`. */
  readonly components?: Readonly<Record<string, readonly FakePackage[]>>;
  /** Default: the suite name. */
  readonly codename?: string;
  /** Written as `Valid-Until` when set; absent (like Debian's main archive) by default. */
  readonly validUntil?: Date | null;
  /** The `Date` field; default now. */
  readonly date?: Date;
  /** Default `Bootforge Test`. */
  readonly origin?: string;
  /** Default `Bootforge Test`. */
  readonly label?: string;
}

export interface RepoOptions {
  /** Suite name (the directory under dists/) → its content. */
  readonly suites: Readonly<Record<string, SuiteSpec>>;
  /**
   * Keys that sign InRelease and Release.gpg (one signature per key, in one block). Default: a key generated for
   * this repository. `[]` builds an unsigned repository: Release only, no InRelease, no Release.gpg.
   */
  readonly signWith?: KeyPair | readonly KeyPair[];
  /** Creation time written in the signatures; default now. With an expired key, a date inside its lifetime. */
  readonly signatureDate?: Date;
  readonly arch?: 'amd64';
}

export interface KeyPair {
  /** The user ID's name. */
  readonly name: string;
  /** Upper-case hex, 40 digits. */
  readonly fingerprint: string;
  readonly publicArmored: string;
  /** Binary transferable public key; concatenations of these are keyrings like /usr/share/keyrings/*.gpg. */
  readonly publicBinary: Buffer;
  readonly privateKey: openpgp.PrivateKey;
}

export interface KeyOptions {
  /** Default ed25519 (legacy EdDSA, v4 key: what gpgv 2.2 and Debian's own keys use). */
  readonly algorithm?: 'ed25519' | 'rsa3072';
  /** Key creation time; default now. A past date with `expiresInSeconds` makes an already expired key. */
  readonly date?: Date;
  readonly expiresInSeconds?: number;
}

export interface BuiltDeb {
  /** Absolute path of the .deb. */
  readonly path: string;
  /** Path relative to the repository root: the `Filename` field. */
  readonly filename: string;
  readonly component: string;
  readonly sha256: string;
  readonly md5: string;
  readonly size: number;
}

export interface BuiltRepo {
  /** Absolute repository root (holds dists/ and pool/). */
  readonly dir: string;
  /** The first signing key; for an unsigned repository, a fresh key that signed nothing. */
  readonly key: KeyPair;
  /** Every key that signed. */
  readonly keys: readonly KeyPair[];
  /** `${name}_${version}` (version with its epoch, as written in FakePackage) → the built file. */
  readonly debs: ReadonlyMap<string, BuiltDeb>;
}

const ARCH = 'amd64';
const MAINTAINER = 'Bootforge Tests <tests@bootforge.invalid>';
/** Clamp for every mtime inside the .debs, so the same FakePackage always gives the same bytes. */
const SOURCE_DATE_EPOCH = '1700000000';
const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'dpkg-deb': 'dpkg',
  xz: 'xz-utils',
  gpgv: 'gpgv',
  gpg: 'gnupg',
};
const TOOL_TIMEOUT_MS = 60_000;

/** Keys each repository was signed with, so `resign` can default to them. */
const repoKeys = new Map<string, readonly KeyPair[]>();

// ---------------------------------------------------------------- processes

export interface ToolResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs argv (no shell) with a fixed environment; resolves with the exit code, rejects only if it cannot start. */
export function runTool(argv: readonly string[], opts: { input?: Buffer; cwd?: string } = {}): Promise<ToolResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('runTool: empty argv');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC', SOURCE_DATE_EPOCH },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: TOOL_TIMEOUT_MS,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' ? ` (not on PATH: install the ${TOOL_PACKAGES[cmd] ?? cmd} package)` : '';
      reject(new Error(`cannot run ${cmd}${hint}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined); // the tool may exit before reading all input; its exit code tells
    child.stdin.end(opts.input);
  });
}

/** Like runTool, but a non-zero exit is an error that shows the command and its stderr. */
export async function mustRun(argv: readonly string[], opts: { input?: Buffer; cwd?: string } = {}): Promise<Buffer> {
  const r = await runTool(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited with ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** Whether an executable of this name is on PATH. */
export async function hasTool(name: string): Promise<boolean> {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d === '') continue;
    try {
      await access(join(d, name), fsConstants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

// ---------------------------------------------------------------- keys

/** A fresh signing key (ed25519 by default). */
export async function generateKey(name = 'Bootforge Test Archive', opts: KeyOptions = {}): Promise<KeyPair> {
  const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@bootforge.invalid`;
  const algorithm =
    opts.algorithm === 'rsa3072'
      ? ({ type: 'rsa', rsaBits: 3072 } as const)
      : ({ type: 'ecc', curve: 'ed25519Legacy' } as const);
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...algorithm,
    userIDs: [{ name, email }],
    format: 'object',
    ...(opts.date ? { date: opts.date } : {}),
    ...(opts.expiresInSeconds !== undefined ? { keyExpirationTime: opts.expiresInSeconds } : {}),
  });
  return {
    name,
    fingerprint: publicKey.getFingerprint().toUpperCase(),
    publicArmored: publicKey.armor(),
    publicBinary: Buffer.from(publicKey.write()),
    privateKey,
  };
}

/** An RSA-3072 signing key (slower to make: 0.4-2 s, prime search). */
export function generateRsaKey(name = 'Bootforge Test RSA Archive', opts: Omit<KeyOptions, 'algorithm'> = {}) {
  return generateKey(name, { ...opts, algorithm: 'rsa3072' });
}

/** A binary keyring: the keys' binary public keys, concatenated. */
export function keyringOf(...keys: readonly KeyPair[]): Buffer {
  return Buffer.concat(keys.map((k) => k.publicBinary));
}

/** Writes a binary keyring file (creating its directory) and returns its absolute path. */
export async function writeKeyring(path: string, ...keys: readonly KeyPair[]): Promise<string> {
  const abs = resolve(path);
  await mkdir(dirname(abs), { recursive: true });
  await writeFile(abs, keyringOf(...keys));
  return abs;
}

// ---------------------------------------------------------------- building

/** Builds the repository under `dir` (created if needed) and signs every suite. */
export async function buildRepo(dir: string, opts: RepoOptions): Promise<BuiltRepo> {
  const root = resolve(dir);
  const arch = opts.arch ?? ARCH;
  const keys = opts.signWith === undefined ? [await generateKey()] : toArray(opts.signWith);
  const key = keys[0] ?? (await generateKey('Bootforge Unused Key'));
  await mkdir(root, { recursive: true });

  // Each distinct .deb is built once, even if several suites list it.
  const jobs = new Map<string, { pkg: FakePackage; component: string; spec: string }>();
  for (const [suite, s] of Object.entries(opts.suites)) {
    for (const [component, pkgs] of Object.entries(s.components ?? { main: [] })) {
      for (const pkg of pkgs) {
        checkPackage(pkg, `${suite}/${component}`);
        const spec = JSON.stringify(pkg);
        const id = poolPath(component, pkg);
        const prev = jobs.get(id);
        if (prev && prev.spec !== spec) throw new Error(`${id}: two different packages with the same file name`);
        jobs.set(id, { pkg, component, spec });
      }
    }
  }

  const staging = await mkdtemp(join(tmpdir(), 'bootforge-debrepo-'));
  const built = new Map<string, BuiltDeb>();
  const debs = new Map<string, BuiltDeb>();
  try {
    const results = await mapLimit([...jobs.values()], 4, (j) => buildDeb(root, staging, j.component, j.pkg));
    for (const [i, j] of [...jobs.values()].entries()) {
      const deb = results[i];
      if (!deb) continue;
      built.set(deb.filename, deb);
      const k = `${j.pkg.name}_${j.pkg.version}`;
      const prev = debs.get(k);
      if (prev && prev.filename !== deb.filename)
        throw new Error(`debs key ${k} is ambiguous: ${prev.filename}, ${deb.filename}`);
      debs.set(k, deb);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  for (const [suite, s] of Object.entries(opts.suites)) {
    const components = s.components ?? { main: [] };
    await Promise.all(
      Object.entries(components).map(([component, pkgs]) => {
        const text = pkgs
          .map((p) => {
            const deb = built.get(poolPath(component, p));
            if (!deb) throw new Error(`internal: ${p.name} was not built`);
            return packagesStanza(p, deb);
          })
          .join('\n');
        return writePackagesIndex(root, suite, component, text, arch);
      }),
    );
    const fields: [string, string][] = [
      ['Origin', s.origin ?? 'Bootforge Test'],
      ['Label', s.label ?? 'Bootforge Test'],
      ['Suite', suite],
      ['Codename', s.codename ?? suite],
      ['Date', releaseDate(s.date ?? new Date())],
    ];
    if (s.validUntil) fields.push(['Valid-Until', releaseDate(s.validUntil)]);
    fields.push(
      ['Acquire-By-Hash', 'no'],
      ['No-Support-for-Architecture-all', 'Packages'],
      ['Architectures', arch],
      ['Components', Object.keys(components).join(' ')],
      ['Description', `Bootforge test repository (${suite})`],
    );
    const header = fields.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';
    await writeSignedRelease(root, suite, header, { keys, date: opts.signatureDate });
  }

  repoKeys.set(root, keys);
  return { dir: root, key, keys, debs };
}

/** Copies a built repository to `dest` (for one attack test each), remembering its keys for `resign`. */
export async function cloneRepo(repo: BuiltRepo, dest: string): Promise<BuiltRepo> {
  const root = resolve(dest);
  await cp(repo.dir, root, { recursive: true, verbatimSymlinks: true });
  repoKeys.set(root, repo.keys);
  const debs = new Map([...repo.debs].map(([k, d]) => [k, { ...d, path: join(root, d.filename) }]));
  return { ...repo, dir: root, debs };
}

/** `dists/<suite>/<component>/binary-amd64/<name>` (absolute). */
export function indexPath(dir: string, suite: string, component = 'main', name = 'Packages'): string {
  return join(resolve(dir), 'dists', suite, component, `binary-${ARCH}`, name);
}

/** `dists/<suite>/<name>` (absolute): Release, InRelease, Release.gpg. */
export function releasePath(dir: string, suite: string, name = 'InRelease'): string {
  return join(resolve(dir), 'dists', suite, name);
}

/**
 * Replaces a Packages index (and its .gz and .xz) with `edit(old text)`. The Release file is not touched: call
 * `resign` afterwards for a consistent repository, or leave it for a hash mismatch.
 */
export async function rewritePackages(
  dir: string,
  suite: string,
  component: string,
  edit: (text: string) => string,
): Promise<void> {
  const text = await readFile(indexPath(dir, suite, component), 'utf8');
  await writePackagesIndex(resolve(dir), suite, component, edit(text), ARCH);
}

function toArray(k: KeyPair | readonly KeyPair[]): readonly KeyPair[] {
  return Array.isArray(k) ? (k as readonly KeyPair[]) : [k as KeyPair];
}

function checkPackage(p: FakePackage, where: string): void {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p.name))
    throw new Error(`${where}: invalid package name ${JSON.stringify(p.name)}`);
  if (!/^(\d+:)?[0-9][A-Za-z0-9.+~:-]*$/.test(p.version)) {
    throw new Error(`${where}: invalid version ${JSON.stringify(p.version)} for ${p.name}`);
  }
}

function poolPath(component: string, p: FakePackage): string {
  const fileVersion = p.version.replace(/^\d+:/, '');
  return posix.join(
    'pool',
    component,
    p.name.charAt(0),
    p.name,
    `${p.name}_${fileVersion}_${p.architecture ?? ARCH}.deb`,
  );
}

/** A path inside a package, without leading `/`, refusing `..` and the DEBIAN control directory. */
function memberPath(pkg: string, path: string): string {
  const rel = path.replace(/^\/+/, '');
  const parts = rel.split('/');
  if (rel === '' || parts.some((s) => s === '' || s === '.' || s === '..') || parts[0] === 'DEBIAN') {
    throw new Error(`${pkg}: invalid path in package: ${JSON.stringify(path)}`);
  }
  return rel;
}

function fileOf(f: FakeFile): { content: Buffer; mode: number } {
  if (typeof f === 'string') return { content: Buffer.from(f, 'utf8'), mode: 0o644 };
  if (Buffer.isBuffer(f)) return { content: f, mode: 0o644 };
  return { content: typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content, mode: f.mode ?? 0o644 };
}

/** Fields shared by the control file and the Packages stanza, in Debian's order. */
function relationFields(p: FakePackage): [string, string | undefined][] {
  return [
    ['Multi-Arch', p.multiArch],
    ['Provides', p.provides],
    ['Pre-Depends', p.preDepends],
    ['Depends', p.depends],
    ['Conflicts', p.conflicts],
    ['Breaks', p.breaks],
  ];
}

function description(p: FakePackage): string {
  return `${p.description ?? `${p.name} test package`}\n A package generated by bootforge's tests.\n .\n Not for installation.`;
}

function stanza(fields: readonly [string, string | undefined][]): string {
  return fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

function installedSizeKiB(p: FakePackage): number {
  const dirs = new Set<string>();
  let kib = 0;
  const addParents = (rel: string) => {
    for (let d = posix.dirname(rel); d !== '.'; d = posix.dirname(d)) dirs.add(d);
  };
  for (const [path, f] of Object.entries(p.files ?? {})) {
    const rel = memberPath(p.name, path);
    kib += Math.max(1, Math.ceil(fileOf(f).content.length / 1024));
    addParents(rel);
  }
  for (const path of Object.keys(p.symlinks ?? {})) {
    kib += 1;
    addParents(memberPath(p.name, path));
  }
  return kib + dirs.size;
}

async function buildDeb(root: string, staging: string, component: string, p: FakePackage): Promise<BuiltDeb> {
  const filename = poolPath(component, p);
  const stage = join(staging, posix.basename(filename, '.deb'));
  const control: [string, string | undefined][] = [
    ['Package', p.name],
    ['Version', p.version],
    ['Architecture', p.architecture ?? ARCH],
    ['Maintainer', MAINTAINER],
    ['Installed-Size', String(installedSizeKiB(p))],
    ['Essential', p.essential ? 'yes' : undefined],
    ...relationFields(p),
    ['Section', p.section ?? 'misc'],
    ['Priority', p.priority ?? 'optional'],
    ...Object.entries(p.extraFields ?? {}),
    ['Description', description(p)],
  ];
  await mkdir(join(stage, 'DEBIAN'), { recursive: true });
  await chmod(join(stage, 'DEBIAN'), 0o755); // dpkg-deb refuses a control directory outside 0755..0775
  await writeFile(join(stage, 'DEBIAN', 'control'), stanza(control), { mode: 0o644 });
  for (const [path, f] of Object.entries(p.files ?? {})) {
    const abs = join(stage, memberPath(p.name, path));
    const { content, mode } = fileOf(f);
    await mkdir(dirname(abs), { recursive: true, mode: 0o755 });
    await writeFile(abs, content);
    await chmod(abs, mode); // explicit: the umask must not change what the package holds
  }
  for (const [path, target] of Object.entries(p.symlinks ?? {})) {
    const abs = join(stage, memberPath(p.name, path));
    await mkdir(dirname(abs), { recursive: true, mode: 0o755 });
    await symlink(target, abs);
  }
  const out = join(root, filename);
  await mkdir(dirname(out), { recursive: true });
  await mustRun(['dpkg-deb', '--build', '--root-owner-group', '-Zxz', stage, out]);
  const bytes = await readFile(out);
  return {
    path: out,
    filename,
    component,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

function packagesStanza(p: FakePackage, deb: BuiltDeb): string {
  return stanza([
    ['Package', p.name],
    ['Version', p.version],
    ['Essential', p.essential ? 'yes' : undefined],
    ['Installed-Size', String(installedSizeKiB(p))],
    ['Maintainer', MAINTAINER],
    ['Architecture', p.architecture ?? ARCH],
    ...relationFields(p),
    ...Object.entries(p.extraFields ?? {}),
    ['Description', description(p)],
    ['Section', p.section ?? 'misc'],
    ['Priority', p.priority ?? 'optional'],
    ['Filename', deb.filename],
    ['Size', String(deb.size)],
    ['MD5sum', deb.md5],
    ['SHA256', deb.sha256],
  ]);
}

async function writePackagesIndex(root: string, suite: string, component: string, text: string, arch: string) {
  const path = join(root, 'dists', suite, component, `binary-${arch}`, 'Packages');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  await writeFile(`${path}.gz`, gzipSync(Buffer.from(text, 'utf8'), { level: 9 }));
  // -6 (xz's default), not -9e: the bigger presets spend ~0.1 s setting up per call and gain nothing on small indexes.
  await mustRun(['xz', '-6', '--keep', '--force', path]);
}

/** RFC 2822 in UTC, as Debian writes it: `Sat, 10 Jun 2023 08:52:27 UTC`. */
export function releaseDate(d: Date): string {
  return d.toUTCString().replace(/GMT$/, 'UTC');
}

// ---------------------------------------------------------------- Release and signatures

/** Every file under dists/<suite>/ except the Release files themselves, as paths relative to it, sorted. */
async function indexFiles(suiteDir: string): Promise<string[]> {
  const entries = await readdir(suiteDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(suiteDir, join(e.parentPath, e.name)).split('\\').join('/'))
    .filter((p) => !['Release', 'InRelease', 'Release.gpg'].includes(p))
    .sort();
}

async function hashSections(suiteDir: string): Promise<string> {
  const md5: string[] = [];
  const sha: string[] = [];
  for (const rel of await indexFiles(suiteDir)) {
    const bytes = await readFile(join(suiteDir, rel));
    const size = String(bytes.length).padStart(16);
    md5.push(` ${createHash('md5').update(bytes).digest('hex')} ${size} ${rel}\n`);
    sha.push(` ${createHash('sha256').update(bytes).digest('hex')} ${size} ${rel}\n`);
  }
  return `MD5Sum:\n${md5.join('')}SHA256:\n${sha.join('')}`;
}

/** Writes Release (header + fresh hash sections), then InRelease and Release.gpg, or removes them when unsigned. */
interface Signing {
  readonly keys: readonly KeyPair[];
  readonly date?: Date | undefined;
}

async function writeSignedRelease(
  root: string,
  suite: string,
  header: string,
  signing: Signing,
  edit?: (release: string) => string,
): Promise<void> {
  const suiteDir = join(root, 'dists', suite);
  let release = header + (await hashSections(suiteDir));
  if (edit) release = edit(release);
  await signAndWrite(suiteDir, release, signing);
}

async function signAndWrite(suiteDir: string, release: string, { keys, date }: Signing): Promise<void> {
  await writeFile(join(suiteDir, 'Release'), release);
  if (keys.length === 0) {
    await rm(join(suiteDir, 'InRelease'), { force: true });
    await rm(join(suiteDir, 'Release.gpg'), { force: true });
    return;
  }
  const signingKeys = keys.map((k) => k.privateKey);
  // Like gpg --clearsign on Debian's archive: the final newline of Release is the separator before the signature
  // block, not signed text, and the cleartext keeps LF line ends (openpgp armors it with CRLF; the signature is over
  // canonical CRLF text either way, so converting back changes nothing it covers).
  const cleartext = await openpgp.createCleartextMessage({ text: release.replace(/\n$/, '') });
  const armored = await openpgp.sign({ message: cleartext, signingKeys, ...(date ? { date } : {}) });
  await writeFile(join(suiteDir, 'InRelease'), armored.replace(/\r\n/g, '\n'));
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(release) });
  // openpgp's generic overload resolves through WebStream types that this project's lib (no DOM) lacks; for a
  // Uint8Array message with armored output the result is a string.
  const signDetached = openpgp.sign as (o: openpgp.SignOptions) => Promise<string>;
  const detached = await signDetached({
    message,
    signingKeys,
    detached: true,
    format: 'armored',
    ...(date ? { date } : {}),
  });
  await writeFile(join(suiteDir, 'Release.gpg'), detached);
}

export interface ResignOptions {
  /** Default: the keys the repository was built with (same process). `[]` leaves the suite unsigned. */
  readonly signWith?: KeyPair | readonly KeyPair[];
  /** Creation time written in the signatures; default now. */
  readonly signatureDate?: Date;
  /** Recompute the MD5Sum/SHA256 sections from the files now on disk (default true). */
  readonly rehash?: boolean;
  /** New `Date`. */
  readonly date?: Date;
  /** New `Valid-Until`; `null` removes it; undefined keeps what is there. */
  readonly validUntil?: Date | null;
  /** Last change to the Release text before it is signed (add a field, drop a hash line, ...). */
  readonly edit?: (release: string) => string;
}

/** Re-writes Release, InRelease and Release.gpg of a suite after the caller changed files, fields or keys. */
export async function resign(dir: string, suite: string, opts: ResignOptions = {}): Promise<void> {
  const root = resolve(dir);
  const keys = opts.signWith !== undefined ? toArray(opts.signWith) : repoKeys.get(root);
  if (!keys) throw new Error(`resign: no keys known for ${root}; pass signWith`);
  const suiteDir = join(root, 'dists', suite);
  const old = await readFile(join(suiteDir, 'Release'), 'utf8');
  const firstHash = old.search(/^(MD5Sum|SHA1|SHA256|SHA512):[ \t]*$/m);
  let header = firstHash === -1 ? old : old.slice(0, firstHash);
  const hashes = firstHash === -1 ? '' : old.slice(firstHash);
  if (opts.date) header = setField(header, 'Date', releaseDate(opts.date), 'Suite');
  if (opts.validUntil !== undefined) {
    header = setField(header, 'Valid-Until', opts.validUntil && releaseDate(opts.validUntil), 'Date');
  }
  const signing = { keys, date: opts.signatureDate };
  if (opts.rehash ?? true) {
    await writeSignedRelease(root, suite, header, signing, opts.edit);
  } else {
    const release = header + hashes;
    await signAndWrite(suiteDir, opts.edit ? opts.edit(release) : release, signing);
  }
}

/** Sets (or with null removes) a single-line field of a Release header; a new field goes after `after`. */
function setField(header: string, name: string, value: string | null, after: string): string {
  const lines = header.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${name}:`));
  if (value === null) {
    if (at !== -1) lines.splice(at, 1);
  } else if (at !== -1) {
    lines[at] = `${name}: ${value}`;
  } else {
    const prev = lines.findIndex((l) => l.startsWith(`${after}:`));
    lines.splice(prev === -1 ? 0 : prev + 1, 0, `${name}: ${value}`);
  }
  return lines.join('\n');
}

/**
 * Adds unsigned text to InRelease outside the clearsigned block: after the END line (default) or before the BEGIN
 * line. The signature itself stays valid (gpgv still says "Good signature"); a client must refuse the file or at
 * least ignore everything outside the signed block, as apt does.
 */
export async function appendOutsideSignedBlock(
  dir: string,
  suite: string,
  text: string,
  where: 'after' | 'before' = 'after',
): Promise<void> {
  const path = releasePath(dir, suite, 'InRelease');
  const signed = await readFile(path, 'utf8');
  const extra = text.endsWith('\n') ? text : `${text}\n`;
  await writeFile(path, where === 'after' ? signed + extra : extra + signed);
}

/**
 * Changes the signed text of InRelease (and, unless `release: false`, the same text in Release) without
 * re-signing: both signatures become bad. Throws if `from` is not in the signed text.
 */
export async function replaceInRelease(
  dir: string,
  suite: string,
  from: string,
  to: string,
  opts: { release?: boolean } = {},
): Promise<void> {
  const path = releasePath(dir, suite, 'InRelease');
  const signed = await readFile(path, 'utf8');
  const start = signed.indexOf('\n\n') + 2; // after the armor headers (Hash: ...)
  const end = signed.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (start < 2 || end < start) throw new Error(`${path}: not a clearsigned file`);
  const body = signed.slice(start, end);
  if (!body.includes(from)) throw new Error(`${path}: ${JSON.stringify(from)} is not in the signed text`);
  await writeFile(path, signed.slice(0, start) + body.replace(from, to) + signed.slice(end));
  if (opts.release ?? true) {
    const rpath = releasePath(dir, suite, 'Release');
    const release = await readFile(rpath, 'utf8');
    if (release.includes(from)) await writeFile(rpath, release.replace(from, to));
  }
}

/** XORs one byte with 0x01 in place (negative offset: from the end). Returns the byte's old and new values. */
export async function flipByte(path: string, offset: number): Promise<{ before: number; after: number }> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const at = offset < 0 ? size + offset : offset;
    if (at < 0 || at >= size) throw new Error(`flipByte: offset ${offset} outside ${path} (${size} bytes)`);
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, at);
    const before = buf[0] ?? 0;
    buf[0] = before ^ 0x01;
    await fh.write(buf, 0, 1, at);
    return { before, after: before ^ 0x01 };
  } finally {
    await fh.close();
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
