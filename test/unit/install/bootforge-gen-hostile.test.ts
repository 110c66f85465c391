import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  craftedBundle,
  entries,
  GEN_SHELLS,
  installedMachine,
  makeBundle,
  runGen,
  zstdTar,
  type FakeMachine,
  type TestBundle,
} from '../../helpers/gen-machine.js';

// bootforge-gen against hostile bundles, stores and ESPs (issue 15): the store is immutable,
// a payload is verified before anything is unpacked, every header field and argument is bounded,
// and what it reads from a tree or the ESP is data, never shell.
const work = mkdtempSync(join(tmpdir(), 'bootforge-gen-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let a: TestBundle;
let b: TestBundle;
let bFromA: TestBundle;
beforeAll(async () => {
  a = await makeBundle(work, 'a');
  b = await makeBundle(work, 'b');
  bFromA = await makeBundle(work, 'b', { base: a });
});
let n = 0;
const fresh = (): FakeMachine => installedMachine(join(work, `m${++n}`), a);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Every path, type, mode, size, link target and content hash in a folder. */
function treeHash(dir: string): string {
  const r = spawnSync(
    'sh',
    [
      '-c',
      `cd "$1" && { find . -printf '%p %y %m %s %l\\n' | sort; find . -type f -exec sha256sum {} + | sort; }`,
      'sh',
      dir,
    ],
    { encoding: 'utf8' },
  );
  return sha256(Buffer.from(r.stdout));
}
/** The whole machine but /run (the lock is made and removed there). */
const machineHash = (m: FakeMachine) => [m.root, m.esp].map(treeHash).join(' ');
const baseTree = (m: FakeMachine) => join(m.root, 'bootforge/store', a.name);

describe.each(GEN_SHELLS.map((s) => [s.join(' '), s] as const))(
  'bootforge-gen under %s, hostile inputs',
  (_l, shell) => {
    it('switch: a delta whose payload was replaced never changes its base generation', async () => {
      const m = fresh();
      const before = treeHash(baseTree(m));
      // The delta's own header (it passes --expect), then another payload: a file of the base, then zeros.
      const evil = await zstdTar([{ name: `${a.name}/etc/variant`, data: 'tampered\n' }]);
      const header = readFileSync(bFromA.path).subarray(0, 4096);
      const path = join(m.dir, 'tampered.bundle');
      writeFileSync(path, Buffer.concat([header, evil, Buffer.alloc(4096)]));
      expect(readFileSync(path).length).toBeGreaterThanOrEqual(readFileSync(bFromA.path).length);
      const r = runGen(m, ['switch', path, '--expect', sha256(header)], { shell });
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/is damaged \(payload SHA-256 [0-9a-f]{64}, the header says [0-9a-f]{64}\)/);
      expect(treeHash(baseTree(m))).toBe(before);
      expect(readFileSync(join(baseTree(m), 'etc/variant'), 'utf8')).toBe('a\n');
    });

    it.each([
      ['a regular file of the base', [{ name: 'BASE/etc/variant', data: 'tampered\n' }]],
      [
        'a hard link into the base, then a file over it',
        [
          { name: `.partial-NAME/`, type: 'directory' as const, mode: 0o755 },
          { name: `.partial-NAME/v`, type: 'link' as const, linkname: 'BASE/etc/variant' },
          { name: `.partial-NAME/v`, data: 'tampered\n' },
        ],
      ],
      ['a member beside the new tree', [{ name: 'x/evil', data: 'x\n' }]],
    ])('switch: a delta with a true payload hash holding %s is refused; the base stays', async (_what, members) => {
      const m = fresh();
      const before = machineHash(m);
      const name = `${'d'.repeat(32)}-demo`;
      const fix = (s: string) => s.replace('NAME', name).replace('BASE', a.name);
      const payload = await zstdTar(
        members.map((e) => ({
          ...e,
          name: fix(e.name),
          ...('linkname' in e && e.linkname ? { linkname: fix(e.linkname) } : {}),
        })),
      );
      const bundle = craftedBundle(join(m.dir, 'evil.bundle'), payload, {
        payload_format: 'tar-delta',
        base: a.name,
        generation: name,
      });
      const r = runGen(m, ['switch', bundle.path, '--expect', bundle.headerSha256], { shell });
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/the bundle's tree holds a member outside|unpacking .* failed: .*File exists/);
      expect(readFileSync(join(baseTree(m), 'etc/variant'), 'utf8')).toBe('a\n');
      expect(machineHash(m)).toBe(before);
    });

    it('switch: a bundle of a generation already in the store is verified all the same', () => {
      const m = fresh();
      expect(runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell }).status).toBe(0);
      const before = machineHash(m);
      const bytes = readFileSync(b.path);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
      const damaged = join(m.dir, 'damaged.bundle');
      writeFileSync(damaged, bytes);
      const r = runGen(m, ['switch', damaged, '--expect', b.headerSha256], { shell });
      expect(r.out).toContain('is damaged (payload SHA-256');
      expect(r.status).toBe(1);
      expect(machineHash(m)).toBe(before);
    });

    it.each([
      [
        'payload_offset',
        { payload_offset: '100000000000000000000000' },
        /payload_offset is not a number of at most 15 digits/,
      ],
      ['payload_offset', { payload_offset: 0 }, /payload_offset is 0; a bundle's payload starts right after/],
      ['payload_size', { payload_size: '-5' }, /payload_size is not a number/],
      ['payload_size', { payload_size: '0x10' }, /payload_size is not a number/],
      [
        'payload_uncompressed_size',
        { payload_uncompressed_size: '99999999999999999999' },
        /not a number of at most 15/,
      ],
      ['payload_sha256', { payload_sha256: 'abc' }, /bad payload_sha256/],
      ['generation', { generation: `../../${'e'.repeat(32)}-demo` }, /bad generation name/],
      ['generation', { generation: `${'e'.repeat(32)}-demo\u001b[2J` }, /bad generation name .*-demo\?\[2J/],
      ['base', { payload_format: 'tar-delta', base: '../state' }, /bad base generation/],
    ])('switch: a header with a bad %s is refused before anything changes (%j)', async (_field, fields, message) => {
      const m = fresh();
      const before = machineHash(m);
      const bundle = craftedBundle(join(m.dir, 'bad.bundle'), await zstdTar([{ name: './x', data: 'x' }]), fields);
      const r = runGen(m, ['switch', bundle.path, '--expect', bundle.headerSha256], { shell });
      expect(r.out).toMatch(message);
      expect(r.out).not.toContain('\u001b');
      expect(r.status).toBe(1);
      expect(machineHash(m)).toBe(before);
    });

    it('switch: a header that names a field twice is refused', async () => {
      const m = fresh();
      const payload = await zstdTar([{ name: './x', data: 'x' }]);
      const path = join(m.dir, 'twice.bundle');
      const text = `BOOTFORGE-PAYLOAD 1\npayload_offset 4096\npayload_size ${payload.length}\npayload_size 1\nend\n`;
      const header = Buffer.concat([Buffer.from(text), Buffer.alloc(4096 - text.length)]);
      writeFileSync(path, Buffer.concat([header, payload]));
      const r = runGen(m, ['switch', path, '--expect', sha256(header)], { shell });
      expect(r.out).toContain('the bundle header names payload_size more than once');
      expect(r.status).toBe(1);
    });

    it.each([
      [
        'a device node',
        [{ name: './null', type: 'character-device' as const, devmajor: 1, devminor: 3 }],
        /a special file/,
      ],
      [
        'a world-writable setuid file',
        [{ name: './su', data: 'x', mode: 0o4777 }],
        /a setuid or setgid file others may write/,
      ],
      ['an absolute member', [{ name: '/etc/evil', data: 'x' }], /a member outside \.\//],
      ['a member with ..', [{ name: './../../x', data: 'x' }], /a member outside \.\/|unpacking .* failed/],
    ])('switch: a full bundle holding %s is refused', async (_what, members, message) => {
      const m = fresh();
      const before = machineHash(m);
      const bundle = craftedBundle(join(m.dir, 'evil.bundle'), await zstdTar(members));
      const r = runGen(m, ['switch', bundle.path, '--expect', bundle.headerSha256], { shell });
      expect(r.out).toMatch(message);
      expect(r.status).toBe(1);
      expect(machineHash(m)).toBe(before);
    });

    it('switch: generation.conf is read as data, never run, and names files inside its tree only', async () => {
      const m = fresh();
      const ran = join(m.dir, 'ran');
      const conf = `BF_GEN_PROFILE='demo'\ntouch '${ran}'\nBF_GEN_KERNEL='/boot/vmlinuz-6.1.0-test'\nBF_GEN_INITRD='/usr/lib/bootforge/initrd.img'\nBF_GEN_PARAMS='quiet \`touch ${ran}\` $(touch ${ran})'\nBF_GEN_DATE='2026-11-26'\nBF_GEN_TRIES=3\n`;
      const odd = await makeBundle(join(m.dir), 'odd', { conf });
      const r = runGen(m, ['switch', odd.path, '--expect', odd.headerSha256], { shell });
      expect(r.status, r.out).toBe(0);
      expect(existsSync(ran)).toBe(false);
      const entry = readFileSync(join(m.esp, 'loader/entries/bootforge-gen-2+3.conf'), 'utf8');
      expect(entry).toContain(`quiet \`touch ${ran}\` $(touch ${ran})\n`);
      // A kernel path out of the tree: refused, the host's file is not copied to the ESP.
      const out = await makeBundle(join(m.dir), 'out', {
        conf: conf.replace('/boot/vmlinuz-6.1.0-test', '/boot/../../../../../etc/hostname'),
      });
      const r2 = runGen(m, ['switch', out.path, '--expect', out.headerSha256], { shell });
      expect(r2.out).toContain('generation.conf names no kernel inside the tree: /boot/../../../../../etc/hostname');
      expect(r2.status).toBe(1);
      expect(existsSync(join(m.esp, 'EFI/bootforge', out.id))).toBe(false);
    });

    it('gc --keep and --expect take only numbers and hashes in range', () => {
      const m = fresh();
      const before = machineHash(m);
      for (const keep of ['100000000000000000000000', '0', '-1', '07', '1x', ' 1', '']) {
        const r = runGen(m, ['gc', '--keep', keep], { shell });
        expect(r.status, `--keep ${keep}: ${r.out}`).toBe(2);
        expect(r.out).toMatch(/gc --keep takes a number from 1 to 999999999|gc needs --keep N/);
      }
      const r = runGen(m, ['switch', b.path, '--expect', b.headerSha256.toUpperCase()], { shell });
      expect(r.status).toBe(2);
      expect(r.out).toContain('--expect needs the header SHA-256 as 64 lowercase hex digits');
      expect(machineHash(m)).toBe(before);
    });

    it('entry names on the ESP that are not bootforge-gen-N[+L[-D]].conf are left alone', () => {
      const m = fresh();
      const dir = join(m.esp, 'loader/entries');
      writeFileSync(join(dir, 'bootforge-gen-1\n7.conf'), 'title x\n');
      writeFileSync(join(dir, 'bootforge-gen-99999999999999999999.conf'), 'title x\n');
      expect(runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell }).status).toBe(0);
      // The odd names are not taken for generations 1, 7 or 10^20: rollback goes from 2 to 1.
      const back = runGen(m, ['rollback'], { shell });
      expect(back.out).toContain('generation 1 boots next');
      expect(back.status).toBe(0);
      expect(entries(m)).toContain('bootforge-gen-2+0.conf');
      const r = runGen(m, ['gc', '--keep', '1'], { shell });
      expect(r.status, r.out).toBe(0);
      expect(entries(m)).toContain('bootforge-gen-1\n7.conf');
      expect(entries(m)).toContain('bootforge-gen-99999999999999999999.conf');
    });
  },
);
