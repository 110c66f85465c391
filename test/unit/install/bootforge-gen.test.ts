import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boot,
  bootProblems,
  entries,
  GEN_SHELLS,
  installedMachine,
  makeBundle,
  runGen,
  type FakeMachine,
  type TestBundle,
} from '../../helpers/gen-machine.js';

// bootforge-gen (src/templates/generation/bootforge-gen.sh.hbs) run by busybox sh and dash
// against folders standing in for the root filesystem, the ESP and efivarfs.
const work = mkdtempSync(join(tmpdir(), 'bootforge-gen-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let a: TestBundle;
let b: TestBundle;
let c: TestBundle;
let bFromA: TestBundle;
let cFromB: TestBundle;
beforeAll(async () => {
  a = await makeBundle(work, 'a');
  b = await makeBundle(work, 'b');
  c = await makeBundle(work, 'c');
  bFromA = await makeBundle(work, 'b', { base: a });
  cFromB = await makeBundle(work, 'c', { base: b });
});
let n = 0;
const fresh = (): FakeMachine => installedMachine(join(work, `m${++n}`), a);
const storeNames = (m: FakeMachine) => readdirSync(join(m.root, 'bootforge/store')).sort();

/** Everything in a folder: path, type, size and content hash, to prove nothing changed. */
function snapshot(dir: string): string {
  return spawnSync(
    'sh',
    ['-c', `cd "$1" && find . -printf '%p %y %s %l\\n' | sort && find . -type f -exec md5sum {} + | sort`, 'sh', dir],
    {
      encoding: 'utf8',
    },
  ).stdout;
}

/** A snapshot without /run (the lock folder is made and removed there), to prove nothing else changed. */
const withoutRun = (snap: string): string => snap.replace(/^.*\.\/run\b.*\n/gm, '');

describe.each(GEN_SHELLS.map((s) => [s.join(' '), s] as const))('bootforge-gen under %s', (_label, shell) => {
  it('switch: unpacks beside generation 1, adds kernel, initrd and a counted entry; generation 1 stays', () => {
    const m = fresh();
    const r = runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    expect(r.out).toContain(`generation 2 (${b.id}) boots next, with 3 tries`);
    expect(r.status).toBe(0);
    expect(storeNames(m)).toEqual([a.name, b.name].sort());
    expect(readlinkSync(join(m.root, 'bootforge/generations/2'))).toBe(`../store/${b.name}`);
    expect(entries(m)).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-2+3.conf']);
    const entry = readFileSync(join(m.esp, 'loader/entries/bootforge-gen-2+3.conf'), 'utf8');
    expect(entry).toContain('version 2\n');
    expect(entry).toContain(`linux /EFI/bootforge/${b.id}/vmlinuz\n`);
    expect(entry).toMatch(
      /^options root=UUID=0b5e9f7c-\S+ ro bootforge\.generation=\S+ bootforge\.gen=2 quiet panic=10 variant=b$/m,
    );
    expect(readFileSync(join(m.esp, `EFI/bootforge/${b.id}/vmlinuz`)).equals(b.kernel)).toBe(true);
    expect(statSync(join(m.root, 'bootforge/store', b.name, 'usr/bin/passwd')).mode & 0o7777).toBe(0o4755);
    expect(bootProblems(m)).toEqual({ next: 2, problems: [] });
    // No temporary names are left behind anywhere.
    expect(snapshot(m.dir)).not.toMatch(/\.tmp|\.partial|\.trash/);
    const list = runGen(m, ['list'], { shell });
    expect(list.stdout).toMatch(/^2 +[0-9a-f]{12} 2026-11-26 demo +next +counting \(3 tries left, 0 done\)$/m);
    expect(list.stdout).toMatch(/^1 +[0-9a-f]{12} 2026-11-26 demo +booted +good$/m);
  });

  it('switch: the same content again is not stored twice, and shares its kernel on the ESP', () => {
    const m = fresh();
    expect(runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell }).status).toBe(0);
    const again = runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    expect(again.status).toBe(0);
    expect(again.out).toContain('already in the store: not unpacked again');
    expect(storeNames(m)).toEqual([a.name, b.name].sort());
    expect(readlinkSync(join(m.root, 'bootforge/generations/3'))).toBe(`../store/${b.name}`);
    expect(readdirSync(join(m.esp, 'EFI/bootforge')).sort()).toEqual([a.id, b.id].sort());
    expect(bootProblems(m)).toEqual({ next: 3, problems: [] });
  });

  it('switch: refuses an unexpected or damaged bundle and changes nothing', () => {
    const m = fresh();
    const before = snapshot(m.dir);
    const wrong = runGen(m, ['switch', b.path, '--expect', a.headerSha256], { shell });
    expect(wrong.status).toBe(1);
    expect(wrong.out).toContain('is not the expected bundle');
    const damaged = join(m.dir, 'damaged.bundle');
    const bytes = readFileSync(b.path);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    writeFileSync(damaged, bytes);
    const bad = runGen(m, ['switch', damaged, '--expect', b.headerSha256], { shell });
    expect(bad.status).toBe(1);
    expect(bad.out).toMatch(/is damaged|unpacking .* failed/);
    const truncated = join(m.dir, 'truncated.bundle');
    writeFileSync(truncated, readFileSync(b.path).subarray(0, readFileSync(b.path).length - 10));
    expect(runGen(m, ['switch', truncated, '--expect', b.headerSha256], { shell }).out).toContain('is truncated');
    rmSync(damaged);
    rmSync(truncated);
    expect(withoutRun(snapshot(m.dir))).toBe(withoutRun(before));
  });

  it('switch: a delta bundle makes the same tree, its unchanged files hard links into the base', () => {
    expect(bFromA.name).toBe(b.name);
    // (These trees are a few KiB: the size gain is measured on real generations, see the e2e test.)
    expect(readFileSync(bFromA.path).subarray(0, 4096).toString()).toContain(
      `payload_format tar-delta\nbase ${a.name}\n`,
    );
    const m = fresh();
    const r = runGen(m, ['switch', bFromA.path, '--expect', bFromA.headerSha256], { shell });
    expect(r.out).toContain(`generation 2 (${b.id}) boots next`);
    expect(r.status).toBe(0);
    const full = fresh();
    runGen(full, ['switch', b.path, '--expect', b.headerSha256], { shell });
    const tree = (x: FakeMachine) => snapshot(join(x.root, 'bootforge/store', b.name));
    expect(tree(m)).toBe(tree(full));
    // Unchanged (kernel, initrd would differ by variant; passwd does not): one inode for both generations.
    const passwd = (name: string) => statSync(join(m.root, 'bootforge/store', name, 'usr/bin/passwd'));
    expect(passwd(b.name).ino).toBe(passwd(a.name).ino);
    expect(passwd(b.name).mode & 0o7777).toBe(0o4755);
    expect(storeNames(m)).toEqual([a.name, b.name].sort());
    expect(bootProblems(m)).toEqual({ next: 2, problems: [] });
  });

  it('switch: a delta from a generation the machine does not have is refused, nothing changed', () => {
    const m = fresh();
    const before = snapshot(m.dir);
    const r = runGen(m, ['switch', cFromB.path, '--expect', cFromB.headerSha256], { shell });
    expect(r.status).toBe(1);
    expect(r.out).toContain(`this bundle is a delta from generation ${b.id}, which this machine does not have`);
    expect(r.out).toContain('hint: switch with the full bundle');
    expect(withoutRun(snapshot(m.dir))).toBe(withoutRun(before));
  });

  it.runIf(process.getuid?.() === 0)(
    'switch: an ESP without room for the kernel and initrd is refused before anything changes (root: a small tmpfs)',
    () => {
      const m = fresh();
      // The ESP as it is, on a file system with 8 KiB to spare: the new kernel alone needs 16.
      const copy = `${m.esp}.copy`;
      cpSync(m.esp, copy, { recursive: true });
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', m.esp]);
      expect(mount.status, String(mount.stderr)).toBe(0);
      try {
        cpSync(copy, m.esp, { recursive: true });
        const used = Number(
          /\n\S+\s+\d+\s+(\d+)/.exec(spawnSync('df', ['-Pk', m.esp], { encoding: 'utf8' }).stdout)?.[1],
        );
        const shrink = spawnSync('mount', ['-o', `remount,size=${used + 8}k`, m.esp]);
        expect(shrink.status, String(shrink.stderr)).toBe(0);
        const before = snapshot(m.dir);
        const r = runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
        expect(r.status, r.out).toBe(1);
        expect(r.out).toMatch(/the ESP \(.*\) has \d+ KiB free; generation [0-9a-f]+'s kernel and initrd need \d+ KiB/);
        expect(r.out).toContain('hint: remove old generations (bootforge-gen gc --keep 2)');
        // The unpacked tree may stay in the store (a later switch uses it); no link, no ESP file.
        const after = withoutRun(snapshot(m.dir)).replace(new RegExp(`^.*bootforge/store/${b.name}.*\\n`, 'gm'), '');
        expect(after).toBe(withoutRun(before));
        expect(entries(m)).toEqual(['bootforge-gen-1.conf']);
      } finally {
        spawnSync('umount', [m.esp]);
      }
    },
  );

  it('bless: renames the counted entry the loader booted to its bare name', () => {
    const m = fresh();
    runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    // systemd-boot decremented the counter before booting it.
    const entriesDir = join(m.esp, 'loader/entries');
    cpSync(join(entriesDir, 'bootforge-gen-2+3.conf'), join(entriesDir, 'bootforge-gen-2+2-1.conf'));
    rmSync(join(entriesDir, 'bootforge-gen-2+3.conf'));
    boot(m, 2, 'bootforge-gen-2+2-1.conf');
    const r = runGen(m, ['bless'], { shell });
    expect(r.out).toContain('generation 2 is good (entry bootforge-gen-2+2-1.conf blessed)');
    expect(entries(m)).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-2.conf']);
    expect(runGen(m, ['list'], { shell }).stdout).toContain(
      'this boot was counted (\\loader\\entries\\bootforge-gen-2+2-1.conf)',
    );
    // Again: nothing to do.
    expect(runGen(m, ['bless'], { shell }).out).toContain('generation 2 is good');
  });

  it('bless: says so when the loader did not count the boot', () => {
    const m = fresh();
    runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    boot(m, 2);
    const r = runGen(m, ['bless'], { shell });
    expect(r.out).toContain('the boot loader did not count this boot');
    expect(r.status).toBe(0);
    expect(entries(m)).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-2.conf']);
  });

  it('entries out of tries sort last: the previous good generation boots', () => {
    const m = fresh();
    runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    const dir = join(m.esp, 'loader/entries');
    const rename = (from: string, to: string) => {
      cpSync(join(dir, from), join(dir, to));
      rmSync(join(dir, from));
    };
    rename('bootforge-gen-2+3.conf', 'bootforge-gen-2+1-2.conf');
    expect(bootProblems(m).next).toBe(2);
    rename('bootforge-gen-2+1-2.conf', 'bootforge-gen-2+0-3.conf');
    expect(bootProblems(m).next).toBe(1);
    const list = runGen(m, ['list'], { shell }).stdout;
    expect(list).toMatch(/^2 .* bad \(out of tries after 3 boots\)$/m);
    expect(list).toMatch(/^1 .* booted,next +good$/m);
  });

  it('rollback: newer entries run out of tries, the previous good generation boots next', () => {
    const m = fresh();
    runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    boot(m, 2, 'bootforge-gen-2+3.conf');
    runGen(m, ['bless'], { shell });
    runGen(m, ['switch', c.path, '--expect', c.headerSha256], { shell });
    expect(bootProblems(m).next).toBe(3);
    const r = runGen(m, ['rollback'], { shell });
    expect(r.out).toContain('generation 2 boots next');
    expect(entries(m)).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-2.conf', 'bootforge-gen-3+0.conf']);
    expect(bootProblems(m)).toEqual({ next: 2, problems: [] });
    expect(runGen(m, ['rollback'], { shell }).status).toBe(0);
    expect(entries(m)).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-2+0.conf', 'bootforge-gen-3+0.conf']);
    expect(bootProblems(m).next).toBe(1);
    const none = runGen(m, ['rollback'], { shell });
    expect(none.status).toBe(1);
    expect(none.out).toContain('no generation older than 1 has booted successfully');
    expect(runGen(m, ['list'], { shell }).stdout).toMatch(/^3 .* bad \(rolled back\)$/m);
  });

  it('gc --keep N: removes old generations, never the booted or the last good one', () => {
    const m = fresh();
    runGen(m, ['switch', b.path, '--expect', b.headerSha256], { shell });
    runGen(m, ['switch', c.path, '--expect', c.headerSha256], { shell });
    // Booted: 1 (good). Newest: 3. gc --keep 1 keeps 3 (newest, boots next) and 1 (booted, last good).
    // What fsck.vfat -a saved from clusters a power cut left in no file.
    writeFileSync(join(m.esp, 'FSCK0000.REC'), Buffer.alloc(4096, 1));
    writeFileSync(join(m.esp, 'FSCK0001.REC'), Buffer.alloc(4096, 2));
    // What a cut after a rename on vfat left: an entry and a kernel without their size.
    writeFileSync(join(m.esp, 'loader/entries/bootforge-gen-9+3.conf'), '');
    mkdirSync(join(m.esp, 'EFI/bootforge/0123456789abcdef'));
    writeFileSync(join(m.esp, 'EFI/bootforge/0123456789abcdef/vmlinuz'), '');
    const r = runGen(m, ['gc', '--keep', '1'], { shell });
    expect(r.status).toBe(0);
    expect(r.out).toContain('removed 1 generations; kept 3 1');
    expect(readdirSync(m.esp).sort()).toEqual(['EFI', 'loader']);
    expect(entries(m)).toEqual(['bootforge-gen-1.conf', 'bootforge-gen-3+3.conf']);
    expect(storeNames(m)).toEqual([a.name, c.name].sort());
    expect(readdirSync(join(m.esp, 'EFI/bootforge')).sort()).toEqual([a.id, c.id].sort());
    expect(existsSync(join(m.root, 'bootforge/generations/2'))).toBe(false);
    expect(bootProblems(m)).toEqual({ next: 3, problems: [] });
    expect(runGen(m, ['gc'], { shell }).status).toBe(2);
  });

  it('usage errors exit 2 and say what is expected', () => {
    const m = fresh();
    expect(runGen(m, ['frobnicate'], { shell })).toMatchObject({ status: 2 });
    expect(runGen(m, ['switch'], { shell }).out).toContain('switch needs a bundle');
    expect(runGen(m, ['switch', '/nonexistent'], { shell }).status).toBe(1);
  });
});

// A process killed at each durable step of switch, rollback and gc (the test hook stops the
// script right before step k): the machine must boot a whole generation afterwards, the
// interrupted command must complete when run again, and nothing in state may be lost.
describe('bootforge-gen interrupted at every step', () => {
  const steps = (m: FakeMachine, args: string[]) =>
    (runGen(m, args, { trace: true }).out.match(/^bootforge-gen: op \d+:/gm) ?? []).length;

  it.each([
    ['switch', (_m: FakeMachine) => ['switch', b.path, '--expect', b.headerSha256]],
    [
      'switch of an already stored generation',
      (m: FakeMachine) => {
        runGen(m, ['switch', b.path, '--expect', b.headerSha256]);
        return ['switch', b.path, '--expect', b.headerSha256];
      },
    ],
    ['switch with a delta bundle', (_m: FakeMachine) => ['switch', bFromA.path, '--expect', bFromA.headerSha256]],
    [
      'rollback',
      (m: FakeMachine) => {
        runGen(m, ['switch', b.path, '--expect', b.headerSha256]);
        boot(m, 2, 'bootforge-gen-2+3.conf');
        runGen(m, ['bless']);
        runGen(m, ['switch', c.path, '--expect', c.headerSha256]);
        return ['rollback'];
      },
    ],
    [
      'gc',
      (m: FakeMachine) => {
        runGen(m, ['switch', b.path, '--expect', b.headerSha256]);
        runGen(m, ['switch', c.path, '--expect', c.headerSha256]);
        return ['gc', '--keep', '1'];
      },
    ],
  ])(
    '%s',
    (_label, prepare) => {
      const template = fresh();
      const args = prepare(template);
      const probe = join(work, `probe${++n}`);
      cpSync(template.dir, probe, { recursive: true, verbatimSymlinks: true });
      const total = steps({ ...relocate(template, probe) }, args);
      expect(total).toBeGreaterThan(1);
      const before = bootProblems(template);
      for (let k = 1; k <= total; k++) {
        const dir = join(work, `crash${++n}`);
        cpSync(template.dir, dir, { recursive: true, verbatimSymlinks: true });
        const m = relocate(template, dir);
        const r = runGen(m, args, { stopAt: k });
        expect(r.status, `step ${k}: ${r.out}`).toBe(99);
        // After the crash: the loader's pick is whole (old or new), every entry is whole.
        const after = bootProblems(m);
        expect(after.problems, `after a crash before step ${k}/${total}`).toEqual([]);
        expect([before.next, ...(args[0] === 'rollback' ? [2] : args[0] === 'switch' ? [3, 2] : [3])]).toContain(
          after.next,
        );
        expect(readFileSync(join(m.root, 'bootforge/state/home/precious'), 'utf8')).toBe('user data\n');
        // The command completes when run again, and the result is whole.
        const again = runGen(m, args);
        expect(again.status, `rerun after step ${k}: ${again.out}`).toBe(0);
        expect(bootProblems(m).problems).toEqual([]);
        // No generation is left without a boot entry (an unfinished switch's link is removed).
        const linked = readdirSync(join(m.root, 'bootforge/generations')).filter((l) => /^\d+$/.test(l));
        const withEntry = entries(m).map((e) => /^bootforge-gen-(\d+)/.exec(e)?.[1]);
        expect(
          linked.filter((l) => !withEntry.includes(l)),
          `after step ${k}`,
        ).toEqual([]);
        rmSync(dir, { recursive: true, force: true });
      }
      // A switch is verified before it is unpacked (a copy, a listing, then tar): more steps, each
      // a machine copied and a command run twice, on a host shared with other jobs.
    },
    180_000,
  );
});

/** The same machine in another folder (its files were copied there). */
function relocate(m: FakeMachine, dir: string): FakeMachine {
  const at = (p: string) => join(dir, p.slice(m.dir.length));
  return { dir, root: at(m.root), esp: at(m.esp), efivars: at(m.efivars), run: at(m.run), cmdline: at(m.cmdline) };
}
