import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildManifest } from '../../../src/pipeline/build.js';

// bootforge build of the demo profile, read back with the real tools, and built twice
// in different folders, at different times, with different TZ and umask: same bytes.
const work = mkdtempSync(join(tmpdir(), 'bf-build-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function bootforge(args: string[], env: Record<string, string> = {}, cwd = process.cwd()) {
  const r = spawnSync(join(process.cwd(), 'bin/bootforge'), args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let outA: string;
let manifest: BuildManifest;

beforeAll(() => {
  outA = join(work, 'a', 'minimal');
  const r = bootforge(['build', 'profiles/minimal.yaml', '--out', outA, '--quiet'], { TZ: 'UTC' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`${outA}/installer.img: `);
  manifest = JSON.parse(readFileSync(join(outA, 'manifest.json'), 'utf8')) as BuildManifest;
}, 10 * 60_000);

describe('bootforge build profiles/minimal.yaml', () => {
  it('writes the image, its checksums, manifest and block map, and nothing half-done', () => {
    for (const f of ['installer.img', 'installer.img.bmap', 'manifest.json', 'SHA256SUMS'])
      expect(existsSync(join(outA, f)), f).toBe(true);
    const check = sh(`cd ${outA} && sha256sum -c SHA256SUMS`);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(
      sh(`ls -a ${join(work, 'a')}`)
        .stdout.split('\n')
        .filter((n) => n.includes('.tmp-')),
    ).toEqual([]);
    expect(manifest.artifacts['installer.img']?.sha256).toBe(sha(join(outA, 'installer.img')));
    expect(manifest.packages.system?.map((p) => p.name)).toContain('busybox-static');
  });

  it('has a GPT that sfdisk and sgdisk accept, with the ESP and the payload partition', () => {
    const img = join(outA, 'installer.img');
    const json = JSON.parse(sh(`sfdisk --json ${img}`).stdout) as {
      partitiontable: {
        label: string;
        partitions: { type: string; name: string; start: number; size: number; uuid: string }[];
      };
    };
    expect(json.partitiontable.label).toBe('gpt');
    const [esp, payload] = json.partitiontable.partitions;
    expect(esp?.type).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    expect(esp?.name).toBe('ESP');
    expect(payload?.type).toBe('2F53B482-62F1-437C-8E89-CE49D72EE1EA');
    expect((esp?.start ?? 0) % 2048).toBe(0);
    expect(sh(`sfdisk --verify ${img}`).stdout).toContain('No errors detected');
    const sg = sh(`sgdisk -v ${img}`);
    expect(sg.status).toBe(0);
    expect(sg.stdout).toContain('No problems found');
    expect(manifest.disk.partitions.map((p) => p.guid)).toEqual(json.partitiontable.partitions.map((p) => p.uuid));
  });

  it('has an ESP that fsck.fat passes and mtools reads back byte for byte', () => {
    const img = join(outA, 'installer.img');
    const json = JSON.parse(sh(`sfdisk --json ${img}`).stdout) as {
      partitiontable: { partitions: { start: number; size: number }[] };
    };
    const esp = json.partitiontable.partitions[0];
    if (!esp) throw new Error('no ESP');
    const espFile = join(work, 'esp.img');
    expect(sh(`dd if=${img} of=${espFile} bs=512 skip=${esp.start} count=${esp.size} status=none`).status).toBe(0);
    const fsck = sh(`fsck.fat -n -v ${espFile}`);
    expect(fsck.status, fsck.stdout).toBe(0);
    const list = sh(`mdir -/ -b -i ${espFile} ::`)
      .stdout.split('\n')
      .filter((l) => l !== '');
    expect(list).toEqual(
      expect.arrayContaining([
        '::/EFI/BOOT/BOOTX64.EFI',
        '::/EFI/systemd/systemd-bootx64.efi',
        '::/loader/loader.conf',
        '::/loader/entries/bootforge-install.conf',
        '::/loader/entries/bootforge-rescue.conf',
        '::/bootforge/vmlinuz',
        '::/bootforge/initrd.img',
      ]),
    );
    const kernel = sh(`mcopy -i ${espFile} ::/bootforge/vmlinuz - | sha256sum`).stdout.split(' ')[0];
    expect(kernel).toBe(manifest.artifacts.vmlinuz?.sha256);
    const entry = sh(`mcopy -i ${espFile} ::/loader/entries/bootforge-install.conf -`).stdout;
    expect(entry).toMatch(/^title Install minimal\n/);
    expect(entry).toMatch(
      /options .*bootforge\.payload=PARTUUID=[0-9a-f-]{36} bootforge\.manifest=[0-9a-f]{64} bootforge\.unattended\n/,
    );
    expect(entry).toContain('console=ttyS0,115200');
  });

  it('carries a payload whose header and hash check out', () => {
    const img = join(outA, 'installer.img');
    const json = JSON.parse(sh(`sfdisk --json ${img}`).stdout) as {
      partitiontable: { partitions: { start: number }[] };
    };
    const start = (json.partitiontable.partitions[1]?.start ?? 0) * 512;
    const header = sh(`dd if=${img} bs=4096 skip=${start / 4096} count=1 status=none | tr -d '\\000'`).stdout;
    expect(header.split('\n')[0]).toBe('BOOTFORGE-PAYLOAD 1');
    const size = Number(/payload_size (\d+)/.exec(header)?.[1]);
    expect(size).toBe(manifest.payload.size);
    const hash = sh(
      `dd if=${img} bs=4096 skip=${start / 4096 + 1} status=none | head -c ${size} | sha256sum`,
    ).stdout.split(' ')[0];
    expect(hash).toBe(manifest.payload.sha256);
    const tar = sh(
      `dd if=${img} bs=4096 skip=${start / 4096 + 1} status=none | head -c ${size} | zstd -dc | tar -t | grep -c .`,
    );
    expect(Number(tar.stdout.trim())).toBeGreaterThan(1000);
  });

  it(
    'is reproducible: another folder, time, TZ and umask, and an empty segment cache give the same bytes',
    () => {
      const outB = join(work, 'b', 'elsewhere', 'minimal');
      rmSync(join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'bootforge', 'segments'), {
        recursive: true,
        force: true,
      });
      const r = spawnSync(
        'sh',
        [
          '-c',
          `umask 077 && TZ=Pacific/Chatham LC_ALL=C ${join(process.cwd(), 'bin/bootforge')} build ${join(process.cwd(), 'profiles/minimal.yaml')} --out ${outB} --quiet`,
        ],
        {
          cwd: work,
          encoding: 'utf8',
        },
      );
      expect(r.status, r.stderr).toBe(0);
      for (const f of ['installer.img', 'installer.img.bmap', 'manifest.json', 'SHA256SUMS']) {
        expect(sha(join(outB, f)), f).toBe(sha(join(outA, f)));
      }
    },
    10 * 60_000,
  );
});

describe('an interrupted build', () => {
  it(
    'leaves the previous output as it was, and the next build clears the leftovers',
    async () => {
      const before = sha(join(outA, 'installer.img'));
      const { spawn } = await import('node:child_process');
      const child = spawn(
        join(process.cwd(), 'bin/bootforge'),
        ['build', 'profiles/minimal.yaml', '--out', outA, '--quiet', '--json'],
        {
          stdio: 'ignore',
        },
      );
      // Kill it while it works (after it has made its temporary folder).
      const parent = join(work, 'a');
      for (let i = 0; i < 200 && !sh(`ls -a ${parent}`).stdout.includes('.tmp-'); i++)
        await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(sha(join(outA, 'installer.img'))).toBe(before);
      const again = bootforge(['build', 'profiles/minimal.yaml', '--out', outA, '--quiet']);
      expect(again.code).toBe(0);
      expect(
        sh(`ls -a ${parent}`)
          .stdout.split('\n')
          .filter((n) => n.includes('.tmp-') || n.includes('.old-')),
      ).toEqual([]);
      expect(sha(join(outA, 'installer.img'))).toBe(before);
    },
    10 * 60_000,
  );

  it(
    'writes installer.qcow2 with --format qcow2, which qemu-img reads as the same disk',
    () => {
      const out = join(work, 'q', 'minimal');
      const r = bootforge(['build', 'profiles/minimal.yaml', '--out', out, '--format', 'qcow2', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      expect(
        sh(`qemu-img compare -f raw -F qcow2 ${join(out, 'installer.img')} ${join(out, 'installer.qcow2')}`).stdout,
      ).toContain('Images are identical');
      expect(readFileSync(join(out, 'SHA256SUMS'), 'utf8')).toContain('  installer.qcow2\n');
    },
    10 * 60_000,
  );
});
