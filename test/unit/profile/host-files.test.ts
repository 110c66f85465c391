import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { loadProfile, type LoadOptions } from '../../../src/profile/load.js';
import { allowedSourceRoots, checkHostFile, readHostFile } from '../../../src/schema/host-files.js';

// Issue 15: paths a profile names must stay inside the folders it may read, name regular files and be bounded.
const work = mkdtempSync(join(tmpdir(), 'bf-host-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dir = join(work, 'profile');
const elsewhere = join(work, 'elsewhere');
mkdirSync(dir);
mkdirSync(elsewhere);
writeFileSync(join(elsewhere, 'motd'), 'hello\n');
writeFileSync(join(elsewhere, 'parent.yaml'), 'kernel: {params: [quiet]}\n');
writeFileSync(join(dir, 'hash.yaml'), '$y$j9T$salt$secret\n');
writeFileSync(join(dir, 'notes.txt'), 'a: 1\n');
writeFileSync(join(dir, 'big-hash'), 'x'.repeat(65 * 1024));
symlinkSync('/etc/passwd', join(dir, 'passwd'));
symlinkSync('notes.txt', join(dir, 'notes.yaml'));
mkdirSync(join(dir, 'folder'));
execFileSync('mkfifo', [join(dir, 'fifo')]);

let n = 0;
function load(body: string, options: LoadOptions = {}) {
  const file = join(dir, `p${n++}.yaml`);
  writeFileSync(file, `name: p\n${body}\n`);
  return loadProfile(file, options);
}
function refusal(body: string, options: LoadOptions = {}): BootforgeError {
  try {
    load(body, options);
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  throw new Error(`accepted: ${body}`);
}

describe('paths a profile names', () => {
  it.each([
    ['files: [{path: /a, source: /etc/passwd}]', 'BF_SOURCE_OUTSIDE'],
    ['files: [{path: /a, source: ../../../../../../etc/passwd}]', 'BF_SOURCE_OUTSIDE'],
    ['files: [{path: /a, source: passwd}]', 'BF_SOURCE_OUTSIDE'],
    ['files: [{path: /a, source: /dev/zero}]', 'BF_SOURCE_OUTSIDE'],
    ['files: [{path: /a, source: ../elsewhere/motd}]', 'BF_SOURCE_OUTSIDE'],
    ['files: [{path: /a, source: fifo}]', 'BF_INPUT_NOT_FILE'],
    ['files: [{path: /a, source: folder}]', 'BF_INPUT_NOT_FILE'],
    ['users: [{name: a, hashedPasswordFile: /etc/shadow}]', 'BF_SOURCE_OUTSIDE'],
    ['users: [{name: a, hashedPasswordFile: big-hash}]', 'BF_INPUT_TOO_LARGE'],
    ['extends: ../elsewhere/parent.yaml', 'BF_SOURCE_OUTSIDE'],
    ['extends: /etc/shadow', 'BF_INVALID_VALUE'],
    ['extends: /dev/zero', 'BF_INVALID_VALUE'],
    ['extends: notes', 'BF_INVALID_VALUE'],
  ])('refuses %s with %s at the value', (body, code) => {
    const e = refusal(body);
    expect(e.code).toBe(code);
    expect(e.loc?.line).toBe(2);
  });

  it('reads files inside the folders the user allowed (--source-root, BOOTFORGE_SOURCE_ROOTS)', () => {
    const body = 'files: [{path: /a, source: ../elsewhere/motd}]\nextends: ../elsewhere/parent.yaml';
    const loaded = load(body, { sourceRoots: [elsewhere] });
    expect(loaded.data.kernel.params).toEqual(['quiet']);
    const source = loaded.sources.get('files[0].source');
    expect(source?.path).toBe(join(elsewhere, 'motd'));
    expect(source && readHostFile(source).toString()).toBe('hello\n');
    expect(
      load(body, { sourceRoots: allowedSourceRoots([], { BOOTFORGE_SOURCE_ROOTS: `/nowhere:${elsewhere}` }) }).data
        .kernel.params,
    ).toEqual(['quiet']);
  });

  it('reads a bundled profile from anywhere (extends ../../profiles/minimal.yaml)', () => {
    expect(() => loadProfile('test/fixtures/profiles/generations/gen-a.yaml')).not.toThrow();
  });

  it('never shows a file that is not a profile in a code frame', () => {
    const e = refusal('extends: hash');
    expect(e.code).toBe('BF_TYPE');
    expect(e.loc).toMatchObject({ line: 1, redact: true });
  });

  it('reads at build time the file checked at load, checking again', () => {
    const file = join(elsewhere, 'swap');
    writeFileSync(file, 'ok');
    const checked = checkHostFile('swap', join(elsewhere, 'p.yaml'), {
      kind: 'source file',
      within: [elsewhere],
      loc: { file: 'p.yaml', line: 1, column: 1 },
    });
    rmSync(file);
    symlinkSync('/etc/passwd', file);
    expect(() => readHostFile(checked)).toThrow(/lies outside/);
  });
});

describe('allowedSourceRoots', () => {
  it('takes the flags, then BOOTFORGE_SOURCE_ROOTS split at colons, as absolute paths', () => {
    expect(allowedSourceRoots(['a', '/b'], { BOOTFORGE_SOURCE_ROOTS: '/c::d' })).toEqual([
      join(process.cwd(), 'a'),
      '/b',
      '/c',
      join(process.cwd(), 'd'),
    ]);
    expect(allowedSourceRoots([], {})).toEqual([]);
  });
});
