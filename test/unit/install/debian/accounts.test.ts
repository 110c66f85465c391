import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSUSERS_FILE } from '../../../../src/install/debian/accounts.js';
import { hasTool } from '../../../helpers/debrepo.js';
import { BASE_FILES, BASE_PASSWD, configure, fileOf, type TestPackage } from './debs.js';

// The account-making parts of bookworm's postinsts, as written there.
const OPENSSH: TestPackage = {
  name: 'openssh-server',
  files: { 'usr/sbin/sshd': { content: 'ELF', mode: 0o755 } },
  postinst: `#!/bin/sh
set -e
action="$1"
setup_sshd_user() {
	if ! getent passwd sshd >/dev/null; then
		adduser --quiet --system --no-create-home --home /run/sshd --shell /usr/sbin/nologin sshd
	fi
}
if [ "$action" = configure ]; then
	setup_sshd_user
fi
`,
};

const DBUS: TestPackage = {
  name: 'dbus-system-bus-common',
  files: { 'usr/lib/sysusers.d/dbus.conf': 'u messagebus - "System Message Bus"\n' },
  postinst: `#!/bin/sh
set -e
MESSAGEUSER=messagebus
in_sysroot () {
    if [ -z "\${DPKG_ROOT:-}" ]; then
        "$@"
    else
        chroot "\${DPKG_ROOT}" "$@"
    fi
}
if [ "$1" = configure ]; then
    in_sysroot adduser --system \\
            --quiet \\
            --home /nonexistent \\
            --no-create-home \\
            --disabled-password \\
            --group "$MESSAGEUSER"
fi
`,
};

const UDEV: TestPackage = {
  name: 'udev',
  files: { 'usr/bin/udevadm': { content: 'ELF', mode: 0o755 } },
  postinst: `#!/bin/sh
set -e
case "$1" in
    configure)
    addgroup --quiet --system input
    addgroup --quiet --system kvm
    ;;
esac
`,
};

const TPM: TestPackage = {
  name: 'tpm-udev',
  files: { 'var/lib/tpm/.keep': '' },
  postinst: `#!/bin/sh
set -e
case "$1" in
    configure)
	if ! getent group tss >/dev/null; then
            addgroup --system tss
	fi
	if ! getent passwd tss >/dev/null; then
            adduser --system --ingroup tss --shell /bin/false \\
                    --home /var/lib/tpm --no-create-home \\
                    --gecos "TPM software stack" \\
                    tss
	fi
	if [ -d /var/lib/tpm ] && getent passwd tss >/dev/null; then
	    chown tss:tss /var/lib/tpm
	fi
    ;;
esac
`,
};

const OTHERS: TestPackage = {
  name: 'others',
  postinst: `#!/bin/sh
set -e
useradd -r -d /var/lib/thing -s /usr/sbin/nologin -c "Thing daemon" thing
groupadd -r -g 42 shadow || true
groupadd --system things
adduser thing things
if ! getent passwd _apt >/dev/null; then
	adduser --force-badname --system --home /nonexistent --no-create-home --quiet _apt || true
fi
`,
};

describe('accounts', () => {
  it("turns base-passwd's masters into /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow", async () => {
    const config = await configure([BASE_FILES, BASE_PASSWD]);
    expect(fileOf(config, '/etc/passwd')).toBe(
      'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nmail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    );
    expect(fileOf(config, '/etc/group')).toContain('root:x:0:\n');
    expect(fileOf(config, '/etc/shadow')?.split('\n')[0]).toBe('root:*:19675:0:99999:7:::');
    expect(fileOf(config, '/etc/gshadow')?.split('\n')[0]).toBe('root:*::');
    for (const p of ['/etc/shadow', '/etc/gshadow']) {
      expect(config.files.find((f) => f.path === p)).toMatchObject({ mode: 0o640, uid: 0, gid: 42 });
    }
  });

  it('declares the system accounts scripts create in a sysusers.d file, except those packages declare', async () => {
    const config = await configure([BASE_FILES, BASE_PASSWD, OPENSSH, DBUS, UDEV, TPM, OTHERS]);
    expect(
      fileOf(config, SYSUSERS_FILE)
        ?.split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual([
      'u sshd -:nogroup - /run/sshd /usr/sbin/nologin',
      'g input -',
      'g kvm -',
      'g tss -',
      'u tss -:tss "TPM software stack" /var/lib/tpm /bin/false',
      'u thing - "Thing daemon" /var/lib/thing /usr/sbin/nologin',
      'g things -',
      'm thing things',
      '',
    ]);
    const notes = config.report.handled.map((a) => `${a.package}: ${a.note}`);
    expect(notes).toContain(
      'dbus-system-bus-common: messagebus is declared by a sysusers.d file of the packages already',
    );
    expect(notes).toContain('others: group shadow exists already');
  });

  it('lets systemd-tmpfiles give files to those accounts at boot', async () => {
    const config = await configure([BASE_FILES, BASE_PASSWD, TPM]);
    expect(fileOf(config, '/usr/lib/tmpfiles.d/bootforge-maintscripts.conf')).toContain('z /var/lib/tpm - tss tss -\n');
  });

  it("is a sysusers.d file the host's systemd-sysusers accepts", async (ctx) => {
    if (!(await hasTool('systemd-sysusers'))) ctx.skip('systemd-sysusers is not installed');
    const config = await configure([BASE_FILES, BASE_PASSWD, OPENSSH, UDEV, TPM, OTHERS]);
    const root = mkdtempSync(join(tmpdir(), 'bf-sysusers-'));
    try {
      mkdirSync(join(root, 'etc'));
      mkdirSync(join(root, 'usr/lib/sysusers.d'), { recursive: true });
      for (const f of ['passwd', 'group', 'shadow', 'gshadow'])
        writeFileSync(join(root, 'etc', f), fileOf(config, `/etc/${f}`) ?? '');
      writeFileSync(join(root, SYSUSERS_FILE), fileOf(config, SYSUSERS_FILE) ?? '');
      const r = spawnSync('systemd-sysusers', [`--root=${root}`, '--dry-run'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Creating user '?sshd'? .* with UID \d+ and GID 65534/);
      expect(r.stdout + r.stderr).not.toMatch(/warn|fail|invalid/i);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
