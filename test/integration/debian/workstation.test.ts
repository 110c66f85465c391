import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDebianConfiguration,
  debianConfiguration,
  type DebianConfiguration,
} from '../../../src/install/debian/index.js';
import { SYSUSERS_FILE } from '../../../src/install/debian/accounts.js';
import type { FsTree } from '../../../src/fstree/tree.js';
import type { BlobStore } from '../../../src/fstree/types.js';
import { RecordingReporter } from '../../../src/log/events.js';
import { PackageStore, type UnpackedPackage } from '../../../src/packages/unpack.js';
import {
  assembleTreeOf,
  closureInputs,
  openPackageSource,
  repoSettingsOf,
  resolveClosures,
  unpackPackages,
} from '../../../src/pipeline/packages.js';
import { resolve } from '../../../src/pipeline/resolve.js';
import { hasTool } from '../../helpers/debrepo.js';
import { writeOut } from '../../unit/install/debian/debs.js';

// The system closure of profiles/workstation.yaml, through the mirror the host's apt uses (as
// test/integration/packages/live.test.ts gets packages; the cache makes reruns fast), turned into
// what dpkg and the maintainer scripts would have left, and checked with the host's own dpkg,
// update-alternatives, systemctl and systemd-sysusers. BOOTFORGE_SKIP_LIVE=1 skips it.

const report = (line: string) => process.stdout.write(`[debian] ${line}\n`);
const EPOCH = 1_700_000_000;

describe.skipIf(process.env.BOOTFORGE_SKIP_LIVE === '1')('Debian configuration of the real workstation closure', () => {
  let packages: UnpackedPackage[];
  let tree: FsTree;
  let blobs: BlobStore;
  let config: DebianConfiguration;
  let enable: readonly string[];
  const root = mkdtempSync(join(tmpdir(), 'bf-debian-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }), 120_000);
  const admin = join(root, 'var/lib/dpkg');
  const file = (path: string) => config.files.find((f) => f.path === path)?.data.toString('utf8');
  const link = (path: string) => config.symlinks.find((s) => s.path === path)?.target;

  beforeAll(async () => {
    const { resolved } = resolve({ profile: 'profiles/workstation.yaml' });
    const system = closureInputs(resolved).system;
    if (system === undefined) throw new Error('no system closure');
    const source = openPackageSource(repoSettingsOf(resolved), {}, new RecordingReporter());
    const { closures } = await resolveClosures(source, { system });
    packages = await unpackPackages(
      source,
      (closures.system ?? []).map((p) => p.record),
    );
    tree = assembleTreeOf(packages);
    blobs = new PackageStore(source.cacheRoot).blobs;
    enable = resolved.data.services.enable;
    const start = performance.now();
    config = await debianConfiguration({
      packages,
      blobs,
      tree,
      options: { init: 'systemd', enable, disable: resolved.data.services.disable, epochSeconds: EPOCH },
    });
    report(
      `${packages.length} packages: ${config.files.length} files, ${config.symlinks.length} links, ${config.dirs.length} directories in ${Math.round(performance.now() - start)} ms; ${config.report.handled.length} script commands handled, ${config.report.unhandled.length} not`,
    );
    const unhandled = new Map<string, number>();
    for (const a of config.report.unhandled) unhandled.set(a.package, (unhandled.get(a.package) ?? 0) + 1);
    report(`not reproduced, by package: ${[...unhandled].map(([p, n]) => `${p} ${n}`).join(', ')}`);
    writeOut(config, root);
  }, 15 * 60_000);

  it('dpkg-query lists every package as installed', async (ctx) => {
    if (!(await hasTool('dpkg-query'))) ctx.skip('dpkg-query is not installed');
    const r = spawnSync('dpkg-query', [`--admindir=${admin}`, '-W', '-f=${Package} ${Version} ${Status}\\n'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(packages.length);
    expect(lines.filter((l) => !l.endsWith(' install ok installed'))).toEqual([]);
    const versions = new Map(lines.map((l) => l.split(' ').slice(0, 2) as [string, string]));
    for (const p of packages) expect(versions.get(p.name), p.name).toBe(p.version);
  });

  it('dpkg-query -L lists what a package ships; dpkg -S finds /bin/bash; dpkg --audit is clean', async (ctx) => {
    if (!(await hasTool('dpkg-query'))) ctx.skip('dpkg-query is not installed');
    const list = spawnSync('dpkg-query', [`--admindir=${admin}`, '-L', 'bash'], { encoding: 'utf8' }).stdout.split(
      '\n',
    );
    expect(list.slice(0, 3)).toEqual(['/.', '/bin', '/bin/bash']);
    const libc = spawnSync('dpkg-query', [`--admindir=${admin}`, '-L', 'libc6:amd64'], { encoding: 'utf8' });
    expect(libc.stdout.split('\n')).toContain('/lib64/ld-linux-x86-64.so.2');
    expect(spawnSync('dpkg-query', [`--admindir=${admin}`, '-S', '/bin/bash'], { encoding: 'utf8' }).stdout).toBe(
      'bash: /bin/bash\n',
    );
    const audit = spawnSync('dpkg', [`--admindir=${admin}`, '--audit'], { encoding: 'utf8' });
    expect({ status: audit.status, out: audit.stdout + audit.stderr }).toEqual({ status: 0, out: '' });
    const divert = spawnSync('dpkg-divert', ['--admindir', admin, '--list', '/bin/sh'], { encoding: 'utf8' });
    expect(divert.stdout).toBe('diversion of /bin/sh to /bin/sh.distrib by dash\n');
  });

  it("lists each package's files exactly as the host's dpkg does, for packages the host has in the same version", async (ctx) => {
    if (!(await hasTool('dpkg-query'))) ctx.skip('dpkg-query is not installed');
    const host = spawnSync('dpkg-query', ['-W', '-f=${binary:Package} ${Version}\\n'], { encoding: 'utf8' }).stdout;
    const installed = new Set(host.split('\n'));
    let compared = 0;
    for (const p of packages) {
      const multiArch = /^same$/i.test(p.control['Multi-Arch'] ?? '');
      const name = multiArch ? `${p.name}:${p.architecture}` : p.name;
      if (!installed.has(`${name} ${p.version}`)) continue;
      const theirs = spawnSync('dpkg-query', ['-L', name], { encoding: 'utf8' }).stdout;
      const ours = spawnSync('dpkg-query', [`--admindir=${admin}`, '-L', name], { encoding: 'utf8' }).stdout;
      expect(ours, name).toBe(theirs);
      compared++;
    }
    report(`${compared} packages listed exactly as on the host`);
    if (compared === 0) ctx.skip('the host has none of these packages in the same version');
  });

  it('makes /usr/bin/awk resolve to mawk, as update-alternatives --display shows', async (ctx) => {
    expect(link('/usr/bin/awk')).toBe('/etc/alternatives/awk');
    expect(link('/etc/alternatives/awk')).toBe('/usr/bin/mawk');
    expect(tree.resolve('/usr/bin/mawk')?.type).toBe('file');
    expect(link('/etc/alternatives/pager')).toBe('/usr/bin/less');
    if (!(await hasTool('update-alternatives'))) ctx.skip('update-alternatives is not installed');
    const r = spawnSync(
      'update-alternatives',
      ['--admindir', join(admin, 'alternatives'), '--altdir', join(root, 'etc/alternatives'), '--display', 'awk'],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toContain('awk - auto mode');
    expect(r.stdout).toContain('link currently points to /usr/bin/mawk');
    expect(r.stdout).toContain('/usr/bin/mawk - priority 5');
  });

  it("enables ssh (and its sshd alias), NetworkManager, getty@tty1 and timesyncd as Debian's scripts and the profile say", () => {
    expect(link('/etc/systemd/system/multi-user.target.wants/ssh.service')).toBe('/lib/systemd/system/ssh.service');
    expect(link('/etc/systemd/system/sshd.service')).toBe('/lib/systemd/system/ssh.service');
    expect(link('/etc/systemd/system/multi-user.target.wants/NetworkManager.service')).toBe(
      '/lib/systemd/system/NetworkManager.service',
    );
    expect(link('/etc/systemd/system/getty.target.wants/getty@tty1.service')).toBe(
      '/lib/systemd/system/getty@.service',
    );
    expect(link('/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service')).toBe(
      '/lib/systemd/system/systemd-timesyncd.service',
    );
  });

  it("makes the same links as the host's systemctl enable of the same units", async (ctx) => {
    if (!(await hasTool('systemctl'))) ctx.skip('systemctl is not installed');
    const units = new Set<string>();
    for (const a of config.report.handled) {
      const m = /^enabled (.+?)( \(user units\))?$/.exec(a.note);
      if (m?.[1] !== undefined && m[2] === undefined) for (const u of m[1].split(', ')) units.add(u);
    }
    for (const u of enable) units.add(u.includes('.') ? u : `${u}.service`);
    const sysroot = join(root, 'systemctl-root');
    mkdirSync(join(sysroot, 'usr/lib'), { recursive: true });
    mkdirSync(join(sysroot, 'etc/systemd/system'), { recursive: true });
    symlinkSync('usr/lib', join(sysroot, 'lib'));
    for (const e of tree.entries()) {
      if (!e.path.startsWith('/usr/lib/systemd/system/')) continue;
      mkdirSync(dirname(join(sysroot, e.path)), { recursive: true });
      if (e.type === 'file') writeFileSync(join(sysroot, e.path), await blobs.get(e.sha256));
      else if (e.type === 'symlink') symlinkSync(e.target, join(sysroot, e.path));
    }
    const r = spawnSync('systemctl', [`--root=${sysroot}`, 'enable', ...units], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const theirs = linksUnder(join(sysroot, 'etc/systemd/system'), '/etc/systemd/system');
    const ours = Object.fromEntries(
      config.symlinks.filter((s) => s.path.startsWith('/etc/systemd/system/')).map((s) => [s.path, s.target]),
    );
    expect(ours).toEqual(theirs);
    report(`${Object.keys(ours).length} unit links, identical to systemctl enable ${[...units].join(' ')}`);
  });

  it('declares sshd and the other script-made accounts for systemd-sysusers, not those packages declare', async (ctx) => {
    const sysusers = file(SYSUSERS_FILE) ?? '';
    expect(sysusers).toMatch(/^u sshd -:nogroup - \/run\/sshd \/usr\/sbin\/nologin$/m);
    expect(sysusers).toMatch(/^g netdev -$/m);
    expect(sysusers).not.toMatch(/messagebus|polkitd|systemd-timesync/);
    if (!(await hasTool('systemd-sysusers'))) ctx.skip('systemd-sysusers is not installed');
    const r = spawnSync('systemd-sysusers', [`--root=${root}`, '--dry-run'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Creating user '?sshd'?/);
  });

  it('has /etc/passwd with root and the base-passwd users, locked shadow entries, and /etc/shells with bash', () => {
    const passwd = file('/etc/passwd') ?? '';
    expect(passwd).toMatch(/^root:x:0:0:root:\/root:\/bin\/bash$/m);
    for (const u of [
      'daemon',
      'bin',
      'sys',
      'sync',
      'games',
      'man',
      'lp',
      'mail',
      'news',
      'uucp',
      'proxy',
      'www-data',
      'backup',
      'list',
      'irc',
      '_apt',
      'nobody',
    ]) {
      expect(passwd).toMatch(new RegExp(`^${u}:x:`, 'm'));
    }
    expect(file('/etc/shadow')).toMatch(/^root:\*:19675:0:99999:7:::$/m);
    expect(config.files.find((f) => f.path === '/etc/shadow')).toMatchObject({ mode: 0o640, uid: 0, gid: 42 });
    expect(file('/etc/shells')?.split('\n')).toEqual(expect.arrayContaining(['/bin/bash', '/usr/bin/bash', '/bin/sh']));
  });

  it('writes PAM, the CA bundle, sshd_config and the console defaults a booting system needs', () => {
    expect(file('/etc/pam.d/common-auth')).toMatch(/^auth\t\[success=1 default=ignore\]\tpam_unix\.so nullok$/m);
    expect(file('/etc/pam.d/common-session')).toMatch(/^session\toptional\tpam_systemd\.so $/m);
    const bundle = file('/etc/ssl/certs/ca-certificates.crt') ?? '';
    expect((bundle.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length).toBeGreaterThan(100);
    expect(file('/etc/ssh/sshd_config')).toContain('Include /etc/ssh/sshd_config.d/*.conf');
    expect(file('/etc/default/keyboard')).toContain('XKBLAYOUT="us"');
    expect(file('/etc/nsswitch.conf')).toMatch(/^passwd:/m);
  });

  it('applies to the tree: /usr/bin/awk resolves to mawk and ssh is wanted by multi-user.target there', async () => {
    await applyDebianConfiguration(tree, blobs, config, EPOCH);
    expect(tree.resolve('/usr/bin/awk')?.path).toBe('/usr/bin/mawk');
    expect(tree.resolve('/etc/systemd/system/multi-user.target.wants/ssh.service')?.path).toBe(
      '/usr/lib/systemd/system/ssh.service',
    );
    expect(tree.get('/var/lib/dpkg/status')?.type).toBe('file');
  });

  it('reports what it does not reproduce, package by package', () => {
    const lines = config.report.unhandled.map((a) => `${a.package}: ${a.line}`);
    expect(lines).toContain('locales: locale-gen');
    expect(lines).toContain('ca-certificates: openssl rehash /etc/ssl/certs');
    // Everything a dh-generated snippet does is understood.
    expect(
      config.report.unhandled.filter((a) => /deb-systemd-helper|update-alternatives|adduser|addgroup/.test(a.line)),
    ).toEqual([]);
  });
});

/** Symlinks below a directory, keyed by their path as seen from the system root. */
function linksUnder(dir: string, as: string): Record<string, string> {
  const out: Record<string, string> = {};
  const find = spawnSync('find', [dir, '-type', 'l'], { encoding: 'utf8' }).stdout.trim();
  for (const p of find === '' ? [] : find.split('\n')) out[`${as}${p.slice(dir.length)}`] = readlinkSync(p);
  return out;
}
