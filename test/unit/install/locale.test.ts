import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBootforgeError } from '../../../src/errors/index.js';
import { MemoryBlobStore } from '../../../src/fstree/blobs.js';
import { FsTree } from '../../../src/fstree/tree.js';
import type { BlobStore } from '../../../src/fstree/types.js';
import {
  compileLocales,
  localeGen,
  normalizeLocaleName,
  parseSupported,
  type CompiledLocales,
} from '../../../src/install/locale.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { PackageStore } from '../../../src/packages/unpack.js';
import { assembleTreeOf, openPackageSource, resolveClosures, unpackPackages } from '../../../src/pipeline/packages.js';
import { toolRuns } from '../../helpers/tools.js';

const report = (line: string) => process.stdout.write(`[locale] ${line}\n`);

const SUPPORTED = 'en_GB.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\nen_US ISO-8859-1\nde_DE@euro ISO-8859-15\nC.UTF-8 UTF-8\n';

async function treeWith(files: Record<string, Buffer | string>): Promise<{ tree: FsTree; blobs: MemoryBlobStore }> {
  const tree = FsTree.withMergedUsr();
  const blobs = new MemoryBlobStore();
  for (const [path, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const sha256 = await blobs.put(data);
    tree.add({ type: 'file', path, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, sha256 });
  }
  return { tree, blobs };
}

async function caught(p: Promise<unknown>): Promise<{ code: string; message: string; hint: string }> {
  try {
    await p;
  } catch (e) {
    if (isBootforgeError(e)) return { code: e.code, message: e.message, hint: e.hint ?? '' };
    throw e;
  }
  throw new Error('expected a BootforgeError');
}

describe('locale names and /etc/locale.gen', () => {
  it('normalizes the codeset as glibc does', () => {
    expect(normalizeLocaleName('en_US.UTF-8')).toBe('en_US.utf8');
    expect(normalizeLocaleName('ca_ES.UTF-8@valencia')).toBe('ca_ES.utf8@valencia');
    expect(normalizeLocaleName('de_DE.ISO-8859-15@euro')).toBe('de_DE.iso885915@euro');
    expect(normalizeLocaleName('ja_JP.EUC-JP')).toBe('ja_JP.eucjp');
    expect(normalizeLocaleName('de_DE@euro')).toBe('de_DE@euro');
    expect(normalizeLocaleName('en_US')).toBe('en_US');
  });

  it('writes locale.gen as the postinst does: header, sorted commented lines, the selected ones not', () => {
    const supported = parseSupported(SUPPORTED);
    expect(supported.get('de_DE@euro')).toEqual({ name: 'de_DE@euro', charmap: 'ISO-8859-15' });
    const text = localeGen(SUPPORTED, [supported.get('en_US.UTF-8')!]);
    expect(text.split('\n').slice(0, 6)).toEqual([
      '# This file lists locales that you wish to have built. You can find a list',
      '# of valid supported locales at /usr/share/i18n/SUPPORTED, and you can add',
      '# user defined locales to /usr/local/share/i18n/SUPPORTED. If you change',
      '# this file, you need to rerun locale-gen.',
      '#',
      '',
    ]);
    // C byte order, as `sort -u` under LC_ALL=C: upper case first, " " before ".".
    expect(text.split('\n').slice(6)).toEqual([
      '# C.UTF-8 UTF-8',
      '# de_DE@euro ISO-8859-15',
      '# en_GB.UTF-8 UTF-8',
      '# en_US ISO-8859-1',
      'en_US.UTF-8 UTF-8',
      '',
    ]);
  });
});

describe('compileLocales without compiling', () => {
  it('needs nothing for the built-in locales', async () => {
    const { tree, blobs } = await treeWith({});
    expect(await compileLocales({ tree, blobs, locales: ['C.UTF-8', 'C', 'POSIX'] })).toEqual({
      files: [],
      dirs: [],
      symlinks: [],
    });
  });

  it('asks for the locales package when the tree has no locale sources', async () => {
    const { tree, blobs } = await treeWith({});
    const e = await caught(compileLocales({ tree, blobs, locales: ['en_US.UTF-8'] }));
    expect(e.code).toBe('BF_INVALID_VALUE');
    expect(e.message).toContain('"locales"');
    expect(e.hint).toContain('packages.install');
  });

  it('refuses a locale SUPPORTED does not list, with a suggestion', async () => {
    const { tree, blobs } = await treeWith({ '/usr/share/i18n/SUPPORTED': SUPPORTED });
    const e = await caught(compileLocales({ tree, blobs, locales: ['en_US.utf8'] }));
    expect(e).toMatchObject({ code: 'BF_INVALID_VALUE', hint: 'did you mean en_US.UTF-8?' });
    expect(e.message).toContain('"en_US.utf8"');
    const typo = await caught(compileLocales({ tree, blobs, locales: ['en_GB.UTF8'] }));
    expect(typo.hint).toBe('did you mean en_GB.UTF-8?');
    const far = await caught(compileLocales({ tree, blobs, locales: ['xx_YY.UTF-8@zzzzzz'] }));
    expect(far.hint).toContain('SUPPORTED');
  });

  it('refuses a target glibc other than the host localedef’s', async (ctx) => {
    if (!toolRuns('localedef')) ctx.skip('localedef is not installed (libc-bin)');
    const libc = Buffer.concat([
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
      Buffer.from('\0GNU C Library (Debian GLIBC 2.99-1) stable release version 2.99.\n\0'),
    ]);
    const { tree, blobs } = await treeWith({
      '/usr/share/i18n/SUPPORTED': SUPPORTED,
      '/usr/lib/x86_64-linux-gnu/libc.so.6': libc,
    });
    const e = await caught(compileLocales({ tree, blobs, locales: ['en_US.UTF-8'] }));
    expect(e.code).toBe('BF_TOOL_MISSING');
    expect(e.message).toMatch(
      /needs localedef of glibc 2\.99, the target's \(libc6 2\.99-1\), but the build host's is glibc \d+\.\d+/,
    );
  });
});

// The real bookworm locales and libc6, through the mirror the host's apt uses (as
// test/integration/packages/live.test.ts gets packages). BOOTFORGE_SKIP_LIVE=1 skips it.
describe.skipIf(process.env.BOOTFORGE_SKIP_LIVE === '1')('compileLocales with bookworm’s locales', () => {
  let tree: FsTree;
  let blobs: BlobStore;
  let compiled: CompiledLocales;
  const root = mkdtempSync(join(tmpdir(), 'bf-locale-'));
  const locpath = join(root, 'usr/lib/locale');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const file = (path: string) => compiled.files.find((f) => f.path === path);
  const locale = (env: Record<string, string>, args: string[]) =>
    spawnSync('locale', args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });

  beforeAll(async () => {
    const source = openPackageSource(
      { suites: ['bookworm', 'bookworm-updates', 'bookworm-security'], components: ['main'], architecture: 'amd64' },
      {},
      new RecordingReporter(),
    );
    const { closures } = await resolveClosures(source, {
      system: { requests: ['locales', 'libc6'], essential: false, priorities: [] },
    });
    const packages = await unpackPackages(
      source,
      (closures.system ?? []).map((p) => p.record),
    );
    tree = assembleTreeOf(packages);
    blobs = new PackageStore(source.cacheRoot).blobs;
    let start = performance.now();
    const alone = await compileLocales({ tree, blobs, locales: ['en_US.UTF-8'] });
    report(`en_US.UTF-8 alone: ${Math.round(performance.now() - start)} ms, ${alone.files.length} files`);
    start = performance.now();
    compiled = await compileLocales({ tree, blobs, locales: ['en_US.UTF-8', 'de_DE@euro', 'C.UTF-8'] });
    const bytes = compiled.files.reduce((n, f) => n + f.data.length, 0);
    report(
      `en_US.UTF-8 + de_DE@euro: ${Math.round(performance.now() - start)} ms, ${compiled.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`,
    );
    for (const d of compiled.dirs) mkdirSync(join(root, d.path), { recursive: true });
    for (const f of compiled.files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.data);
    }
    for (const s of compiled.symlinks) symlinkSync(s.target, join(root, s.path));
  }, 15 * 60_000);

  it('writes the per-locale directories glibc reads', () => {
    for (const dir of ['en_US.utf8', 'de_DE@euro']) {
      for (const category of [
        'LC_CTYPE',
        'LC_COLLATE',
        'LC_TIME',
        'LC_NUMERIC',
        'LC_MONETARY',
        'LC_MESSAGES/SYS_LC_MESSAGES',
        'LC_PAPER',
        'LC_NAME',
        'LC_ADDRESS',
        'LC_TELEPHONE',
        'LC_MEASUREMENT',
        'LC_IDENTIFICATION',
      ]) {
        const f = file(`/usr/lib/locale/${dir}/${category}`);
        expect(f, `${dir}/${category}`).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
        expect(f?.data.length).toBeGreaterThan(0);
      }
    }
    expect(compiled.dirs.map((d) => d.path)).toEqual(
      expect.arrayContaining(['/usr/lib/locale', '/usr/lib/locale/en_US.utf8/LC_MESSAGES']),
    );
    expect(compiled.files.some((f) => f.path.includes('C.utf8'))).toBe(false);
    expect(compiled.symlinks).toEqual([{ path: '/usr/lib/locale/de_DE.iso885915@euro', target: 'de_DE@euro' }]);
    const gen = file('/etc/locale.gen')?.data.toString('utf8').split('\n') ?? [];
    expect(gen).toContain('en_US.UTF-8 UTF-8');
    expect(gen).toContain('de_DE@euro ISO-8859-15');
    expect(gen).toContain('# en_GB.UTF-8 UTF-8');
    expect(gen).toContain('# C.UTF-8 UTF-8');
    expect(gen.filter((l) => /^[a-zA-Z]/.test(l))).toHaveLength(2);
  });

  it('gives the host glibc the compiled locales (LOCPATH)', (ctx) => {
    if (!toolRuns('locale')) ctx.skip('locale is not installed (libc-bin)');
    const charmap = (name: string) => {
      const r = locale({ LOCPATH: locpath, LC_ALL: name }, ['charmap']);
      expect(r.stderr, name).toBe('');
      return r.stdout.trim();
    };
    expect(charmap('en_US.UTF-8')).toBe('UTF-8');
    expect(charmap('en_US.utf8')).toBe('UTF-8');
    expect(charmap('de_DE@euro')).toBe('ISO-8859-15');
    expect(charmap('de_DE.ISO-8859-15@euro')).toBe('ISO-8859-15');
    const title = locale({ LOCPATH: locpath, LC_ALL: 'en_US.UTF-8' }, ['-k', 'LC_IDENTIFICATION']);
    expect(title.stdout).toContain('title="English locale for the USA"');
    const money = locale({ LOCPATH: locpath, LC_ALL: 'de_DE@euro' }, ['-k', 'int_curr_symbol']);
    expect(money.stdout.trim()).toBe('int_curr_symbol="EUR "');
  });

  it('is listed by `locale -a` where glibc looks (/usr/lib/locale, bind-mounted in a user namespace)', () => {
    // `locale -a` reads only the compiled-in /usr/lib/locale, never LOCPATH: a private mount
    // namespace puts the compiled tree there without root.
    const r = spawnSync(
      'unshare',
      ['-rm', 'sh', '-c', 'mount --bind "$1" /usr/lib/locale && LC_ALL=C locale -a', 'sh', locpath],
      { encoding: 'utf8' },
    );
    // A failure here is a failure: bootforge's hosts (Debian 12/13, root in CI) have user namespaces.
    expect(r.status, (r.stderr || String(r.error)).trim()).toBe(0);
    const listed = r.stdout.trim().split('\n');
    expect(listed).toEqual(expect.arrayContaining(['en_US.utf8', 'de_DE@euro', 'de_DE.iso885915@euro']));
  });

  it('compiles to the same bytes every time', async () => {
    const again = await compileLocales({ tree, blobs, locales: ['de_DE@euro', 'en_US.UTF-8'] });
    expect(again.files.map((f) => f.path)).toEqual(compiled.files.map((f) => f.path));
    for (const [i, f] of again.files.entries()) {
      expect(f.data.equals(compiled.files[i]?.data ?? Buffer.alloc(0)), f.path).toBe(true);
    }
    expect(again.dirs).toEqual(compiled.dirs);
    expect(again.symlinks).toEqual(compiled.symlinks);
  }, 120_000);

  it('refuses a name the target does not support, with a suggestion from its SUPPORTED', async () => {
    const e = await caught(compileLocales({ tree, blobs, locales: ['en_UK.UTF-8', 'de_DE.UTF8'] }));
    expect(e.code).toBe('BF_INVALID_VALUE');
    expect(e.message).toContain('"en_UK.UTF-8"');
    expect(e.hint).toMatch(/^did you mean en_\w\w\.UTF-8\?$/);
  });
});
