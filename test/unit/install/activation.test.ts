import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolPath } from '../../../src/exec/run.js';
import { activationContext, hostnameParts } from '../../../src/install/activation.js';
import { resolve } from '../../../src/pipeline/resolve.js';
import type { ActivateContext } from '../../../src/templates/contexts.js';
import { renderTemplate } from '../../../src/templates/render.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-activate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

function profileAt(yaml: string): string {
  const dir = join(work, `p${++n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'p.yaml'), yaml);
  return join(dir, 'p.yaml');
}

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPpRXC1ajX7i4v6lM5hSI7jFXOZmmFJlKrdYbnBX2dR test';

describe('activationContext', () => {
  it('allocates UIDs from 1000 around given ones, a private group per user, and group GIDs', () => {
    const path = profileAt(`name: t
users:
  - { name: alice, groups: [wheel, video] }
  - { name: bob, uid: 1000, groups: [sudo] }
  - { name: carol, sudo: true }
`);
    const ctx = activationContext(resolve({ profile: path }).resolved, 86400 * 20000 + 5);
    expect(ctx.users.map((u) => [u.name, u.uid, u.gid])).toEqual([
      ['alice', 1001, 1001],
      ['bob', 1000, 1000],
      ['carol', 1002, 1002],
    ]);
    // Debian's fixed GIDs where base-passwd has one; others from 999 down.
    expect(ctx.groups).toEqual([
      { name: 'sudo', gid: 27 },
      { name: 'video', gid: 44 },
      { name: 'wheel', gid: 999 },
    ]);
    expect(ctx.users.find((u) => u.name === 'carol')?.groups).toEqual(['sudo']);
    expect(ctx.users[0]?.lastChange).toBe(20000);
    expect(ctx.users[0]?.hash).toBe('');
  });

  it('reads hashedPasswordFile relative to the profile', () => {
    const path = profileAt(`name: t
users:
  - { name: alice, hashedPasswordFile: hash.txt }
`);
    writeFileSync(join(path, '..', 'hash.txt'), '$y$j9T$abc$def\n');
    expect(activationContext(resolve({ profile: path }).resolved, 0).users[0]?.hash).toBe('$y$j9T$abc$def');
  });

  it('splits host name templates into text and DMI fields', () => {
    expect(hostnameParts('fw-{{serial}}')).toEqual([
      { text: 'fw-', dmi: false },
      { text: '', dmi: 'product_serial' },
    ]);
    expect(hostnameParts('{{ vendor }}-{{product}}.lan')).toEqual([
      { text: '', dmi: 'sys_vendor' },
      { text: '-', dmi: false },
      { text: '', dmi: 'product_name' },
      { text: '.lan', dmi: false },
    ]);
    expect(hostnameParts('plain')).toEqual([{ text: 'plain', dmi: false }]);
  });
});

// The activation script itself, run under the shells it meets on installed systems
// (busybox sh on busybox systems, dash as Debian's /bin/sh) against a folder as root.
const BUSYBOX = toolPath('busybox');
const SHELLS: [string, string[]][] = [
  ['busybox sh', [BUSYBOX, 'sh']],
  ['dash', ['/usr/bin/dash']],
];
const canRun = (argv: string[]) => spawnSync(argv[0] ?? 'false', [...argv.slice(1), '-c', 'true']).status === 0;
const isRoot = process.getuid?.() === 0;

const evil = `x'"$(touch ${join(work, 'canary')})\`id\`;reboot -f #`;
const context: ActivateContext = {
  groups: [
    { name: 'wheel', gid: 999 },
    { name: 'sudo', gid: 27 },
  ],
  users: [
    {
      name: 'demo',
      uid: 1000,
      gid: 1000,
      gecos: evil,
      home: '/home/demo',
      shell: '/bin/sh',
      hash: '',
      lastChange: 20000,
      groups: ['sudo', 'wheel'],
      keys: `${KEY}\n${KEY} $(touch ${join(work, 'canary')})`,
    },
    {
      name: 'ops',
      uid: 1001,
      gid: 1001,
      gecos: 'Ops',
      home: '/home/ops',
      shell: '/bin/bash',
      hash: '$y$j9T$salt$hash',
      lastChange: 20000,
      groups: [],
      keys: '',
    },
  ],
  hostnameParts: [
    { text: 'fw-', dmi: false },
    { text: '', dmi: 'product_serial' },
  ],
};

function runActivate(shell: string[], root: string, dmi: string): { status: number | null; out: string } {
  const script = join(work, `activate${++n}.sh`);
  writeFileSync(script, renderTemplate('generation/activate.sh.hbs', context));
  const r = spawnSync(shell[0] ?? 'sh', [...shell.slice(1), script, 'abc-t', '3'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BOOTFORGE_ROOT: root, BOOTFORGE_DMI: dmi },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const r = spawnSync('find', [root, '-mindepth', '1', '-printf', '%P %m %u %g %s\n'], { encoding: 'utf8' });
  for (const line of r.stdout.trim().split('\n').sort()) {
    const path = line.split(' ')[0] ?? '';
    const full = join(root, path);
    out[line] = statSync(full).isFile() ? readFileSync(full, 'utf8') : '';
  }
  return out;
}

describe.each(SHELLS)('the activation script under %s', (_name, shell) => {
  it('declares accounts, keys, host name, fstab and identity, idempotently, with values as data', (ctx) => {
    if (!canRun(shell)) ctx.skip('shell not installed');
    if (!isRoot) ctx.skip('needs root to chown');
    const root = join(work, `root${++n}`);
    const dmi = join(work, `dmi${n}`);
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'bootforge/state'), { recursive: true });
    mkdirSync(dmi);
    writeFileSync(join(dmi, 'product_serial'), 'FRAN ABC/123\n');
    writeFileSync(join(root, 'bootforge/state/machine.conf'), 'ESP_UUID=ABCD-1234\nSWAP_UUID=\nHARDWARE=laptop-9\n');
    // The detected model's /etc files (hardware: auto), and another model's that must not appear.
    for (const id of ['laptop-9', 'other']) {
      mkdirSync(join(root, `usr/lib/bootforge/hardware/${id}/etc/modprobe.d`), { recursive: true });
      writeFileSync(join(root, `usr/lib/bootforge/hardware/${id}/etc/modprobe.d/${id}.conf`), `options ${id}\n`);
    }
    // A system that already has accounts (as Debian's base-passwd makes them) keeps them.
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nsudo:x:27:someone\n');
    writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n');

    const first = runActivate(shell, root, dmi);
    expect(first.out).toContain('bootforge: activate: generation 3 (abc-t) activated');
    expect(first.status).toBe(0);
    const etc = (f: string) => readFileSync(join(root, 'etc', f), 'utf8');
    expect(etc('passwd')).toBe(
      'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' +
        `demo:x:1000:1000:${evil}:/home/demo:/bin/sh\nops:x:1001:1001:Ops:/home/ops:/bin/bash\n`,
    );
    // sudo exists already: its GID and members stay, the user is added.
    expect(etc('group')).toBe('root:x:0:\nsudo:x:27:someone,demo\nwheel:x:999:demo\ndemo:x:1000:\nops:x:1001:\n');
    expect(etc('shadow')).toBe(
      'root:*:19000:0:99999:7:::\ndemo:!:20000:0:99999:7:::\nops:$y$j9T$salt$hash:20000:0:99999:7:::\n',
    );
    expect(etc('hostname')).toBe('fw-fran-abc-123\n');
    expect(etc('hosts')).toContain('127.0.1.1\tfw-fran-abc-123\n');
    expect(etc('fstab')).toContain('UUID=ABCD-1234\t/boot\tvfat\tumask=0077,noatime\t0\t2\n');
    expect(etc('modprobe.d/laptop-9.conf')).toBe('options laptop-9\n');
    expect(existsSync(join(root, 'etc/modprobe.d/other.conf'))).toBe(false);
    expect(etc('machine-id')).toMatch(/^[0-9a-f]{32}\n$/);
    expect(readFileSync(join(root, 'home/demo/.ssh/authorized_keys'), 'utf8')).toBe(
      `${KEY}\n${KEY} $(touch ${join(work, 'canary')})\n`,
    );
    expect(statSync(join(root, 'home/demo')).uid).toBe(1000);
    expect(statSync(join(root, 'home/demo')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'home/demo/.ssh/authorized_keys')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(root, 'home/ops/.ssh'))).toBe(false);
    expect(existsSync(join(work, 'canary'))).toBe(false);

    // Again: nothing changes (the machine id is kept in the state, not made anew).
    const before = snapshot(root);
    expect(runActivate(shell, root, dmi).status).toBe(0);
    expect(snapshot(root)).toEqual(before);

    // A password changed on the machine survives when the profile gives no hash; the
    // profile's hash wins where it gives one.
    writeFileSync(
      join(root, 'etc/shadow'),
      etc('shadow').replace('demo:!:', 'demo:$6$changed:').replace('ops:$y$j9T$salt$hash', 'ops:$6$other'),
    );
    expect(runActivate(shell, root, dmi).status).toBe(0);
    expect(etc('shadow')).toContain('demo:$6$changed:20000:');
    expect(etc('shadow')).toContain('ops:$y$j9T$salt$hash:20000:');

    // A new generation on the same machine (a fresh /etc) gets the same machine id.
    const id = etc('machine-id');
    const next = join(work, `root${++n}`);
    cpSync(join(root, 'bootforge'), join(next, 'bootforge'), { recursive: true });
    mkdirSync(join(next, 'etc'));
    expect(runActivate(shell, next, dmi).status).toBe(0);
    expect(readFileSync(join(next, 'etc/machine-id'), 'utf8')).toBe(id);
    expect(readFileSync(join(next, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh\n/);
  });
});
