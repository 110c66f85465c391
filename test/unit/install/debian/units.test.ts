import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../../src/errors/index.js';
import { enableLinks, parseInstall, type FoundUnit } from '../../../../src/install/debian/units.js';
import { BASE_FILES, configure, fileOf, type TestPackage } from './debs.js';

/** What dh_installsystemd (debhelper 13.11) writes into a postinst for one unit, enabled or --no-enable. */
function dhUnit(unit: string, enable = true): string {
  return enable
    ? `if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# This will only remove masks created by d-s-h on package removal.
	deb-systemd-helper unmask '${unit}' >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled '${unit}'; then
		# Enables the unit on first installation, creates new
		# symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable '${unit}' >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be
		# cleaned up on purge. Also remove old symlinks.
		deb-systemd-helper update-state '${unit}' >/dev/null || true
	fi
fi`
    : `if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if deb-systemd-helper debian-installed '${unit}'; then
		# The following line should be removed in trixie or trixie+1
		deb-systemd-helper unmask '${unit}' >/dev/null || true

		if deb-systemd-helper --quiet was-enabled '${unit}'; then
			# Create new symlinks, if any.
			deb-systemd-helper enable '${unit}' >/dev/null || true
		fi
	fi

	# Update the statefile to add new symlinks (if any), which need to be
	# cleaned up on purge. Also remove old symlinks.
	deb-systemd-helper update-state '${unit}' >/dev/null || true
fi`;
}

const unit = (install: string) =>
  `[Unit]\nDescription=test\n\n[Service]\nExecStart=/bin/true\n\n[Install]\n${install}\n`;

const SYSTEMD: TestPackage = {
  name: 'systemd',
  version: '252.38-1~deb12u1',
  files: {
    'lib/systemd/system/getty@.service': unit('WantedBy=getty.target\nDefaultInstance=tty1'),
    'lib/systemd/system/getty.target': '[Unit]\nDescription=Login Prompts\n',
    'lib/systemd/system/multi-user.target': '[Unit]\nDescription=Multi-User System\n',
    'lib/systemd/system/remote-fs.target':
      '[Unit]\nDescription=Remote File Systems\n\n[Install]\nWantedBy=multi-user.target\n',
    'lib/systemd/system/systemd-pstore.service': unit('WantedBy=sysinit.target'),
    'lib/systemd/system/systemd-journald.service': '[Unit]\nDescription=Journal\n',
    'usr/lib/systemd/user/pipewire.socket': unit('WantedBy=sockets.target'),
  },
  postinst: `#!/bin/sh
set -e
if [ -z "$2" ]; then
    systemctl \${DPKG_ROOT:+--root="$DPKG_ROOT"} enable getty@tty1.service || true
    systemctl \${DPKG_ROOT:+--root="$DPKG_ROOT"} enable remote-fs.target || true
fi
# Enable systemd-pstore.service on upgrades (and first installs).
if dpkg --compare-versions "$2" lt "245.4-4~"; then
    systemctl \${DPKG_ROOT:+--root="$DPKG_ROOT"} enable systemd-pstore.service || true
fi
if dpkg --compare-versions "$2" lt-nl "245.4-5~"; then
    rm -f /etc/systemd/system/multi-user.target.wants/ondemand.service
fi
`,
};

const OPENSSH: TestPackage = {
  name: 'openssh-server',
  version: '1:9.2p1-2+deb12u5',
  files: {
    'lib/systemd/system/ssh.service': unit('WantedBy=multi-user.target\nAlias=sshd.service'),
    'lib/systemd/system/ssh.socket': '[Socket]\nListenStream=22\n\n[Install]\nWantedBy=sockets.target\n',
    'lib/systemd/system/rescue-ssh.target': '[Unit]\nDescription=rescue\n',
  },
  postinst: `#!/bin/sh\nset -e\n${dhUnit('ssh.service')}\n${dhUnit('ssh.socket', false)}\nexit 0\n`,
};

const NETWORK_MANAGER: TestPackage = {
  name: 'network-manager',
  version: '1.42.4-1',
  files: {
    'lib/systemd/system/NetworkManager.service': unit(
      'WantedBy=multi-user.target\nAlso=NetworkManager-dispatcher.service\nAlso=NetworkManager-wait-online.service',
    ),
    'lib/systemd/system/NetworkManager-dispatcher.service': unit('Alias=dbus-org.freedesktop.nm-dispatcher.service'),
    'lib/systemd/system/NetworkManager-wait-online.service': unit('WantedBy=network-online.target'),
    'lib/systemd/system/static-only.service': '[Service]\nExecStart=/bin/true\n',
  },
  postinst: `#!/bin/sh\nset -e\n${dhUnit('NetworkManager.service')}\nexit 0\n`,
};

const linksOf = (config: { symlinks: readonly { path: string; target: string }[] }) =>
  Object.fromEntries(config.symlinks.filter((s) => s.path.startsWith('/etc/systemd/')).map((s) => [s.path, s.target]));

describe('units Debian enables', () => {
  it('follows [Install] as systemctl enable does, linking to /lib/systemd/system on a split-/usr systemd', async () => {
    const config = await configure([BASE_FILES, SYSTEMD, OPENSSH, NETWORK_MANAGER]);
    expect(linksOf(config)).toEqual({
      '/etc/systemd/system/getty.target.wants/getty@tty1.service': '/lib/systemd/system/getty@.service',
      '/etc/systemd/system/multi-user.target.wants/remote-fs.target': '/lib/systemd/system/remote-fs.target',
      '/etc/systemd/system/sysinit.target.wants/systemd-pstore.service': '/lib/systemd/system/systemd-pstore.service',
      '/etc/systemd/system/multi-user.target.wants/ssh.service': '/lib/systemd/system/ssh.service',
      '/etc/systemd/system/sshd.service': '/lib/systemd/system/ssh.service',
      '/etc/systemd/system/multi-user.target.wants/NetworkManager.service':
        '/lib/systemd/system/NetworkManager.service',
      '/etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service':
        '/lib/systemd/system/NetworkManager-dispatcher.service',
      '/etc/systemd/system/network-online.target.wants/NetworkManager-wait-online.service':
        '/lib/systemd/system/NetworkManager-wait-online.service',
    });
  });

  it('does not enable what dh_installsystemd --no-enable installs (ssh.socket)', async () => {
    const config = await configure([BASE_FILES, SYSTEMD, OPENSSH]);
    expect(Object.keys(linksOf(config)).filter((p) => p.includes('ssh.socket'))).toEqual([]);
  });

  it("keeps deb-systemd-helper's state, as deb-systemd-helper enable does", async () => {
    const config = await configure([BASE_FILES, SYSTEMD, OPENSSH]);
    expect(fileOf(config, '/var/lib/systemd/deb-systemd-helper-enabled/ssh.service.dsh-also')).toBe(
      '/etc/systemd/system/multi-user.target.wants/ssh.service\n/etc/systemd/system/sshd.service\n',
    );
    expect(fileOf(config, '/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/ssh.service')).toBe('');
  });

  it("applies the profile's services.enable and services.disable", async () => {
    const config = await configure([BASE_FILES, SYSTEMD, OPENSSH], {
      enable: ['ssh.socket'],
      disable: ['ssh', 'getty@tty1'],
    });
    const links = linksOf(config);
    expect(links['/etc/systemd/system/sockets.target.wants/ssh.socket']).toBe('/lib/systemd/system/ssh.socket');
    expect(links['/etc/systemd/system/multi-user.target.wants/ssh.service']).toBeUndefined();
    expect(links['/etc/systemd/system/sshd.service']).toBeUndefined();
    expect(links['/etc/systemd/system/getty.target.wants/getty@tty1.service']).toBeUndefined();
  });

  it('refuses a unit no package ships, with a suggestion', async () => {
    const error = await configure([BASE_FILES, SYSTEMD, OPENSSH], { enable: ['shh'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootforgeError);
    expect(error).toMatchObject({
      code: 'BF_INVALID_VALUE',
      message: "services: no unit shh.service in the system's packages (did you mean ssh?)",
    });
  });

  it('notes a static unit the profile enables', async () => {
    const config = await configure([BASE_FILES, SYSTEMD, NETWORK_MANAGER], { enable: ['static-only'] });
    expect(config.report.unhandled).toContainEqual(
      expect.objectContaining({
        note: expect.stringContaining('static-only.service has no [Install] section') as unknown,
      }),
    );
  });

  it('enables user units under /etc/systemd/user', async () => {
    const pipewire: TestPackage = {
      name: 'pipewire',
      postinst: `#!/bin/sh
set -e
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -z "\${DPKG_ROOT:-}" ] ; then
		deb-systemd-helper --user unmask 'pipewire.socket' >/dev/null || true
		if deb-systemd-helper --quiet --user was-enabled 'pipewire.socket'; then
			deb-systemd-helper --user enable 'pipewire.socket' >/dev/null || true
		fi
	fi
fi
`,
    };
    const config = await configure([BASE_FILES, SYSTEMD, pipewire]);
    expect(linksOf(config)['/etc/systemd/user/sockets.target.wants/pipewire.socket']).toBe(
      '/usr/lib/systemd/user/pipewire.socket',
    );
  });

  it('enables nothing for a busybox system', async () => {
    const config = await configure([BASE_FILES, SYSTEMD, OPENSSH], { init: 'busybox' });
    expect(linksOf(config)).toEqual({});
  });
});

describe('[Install] sections', () => {
  it('reads repeated keys, lists, continuation lines, resets and comments', () => {
    expect(
      parseInstall(
        '[Install]\n# comment\nWantedBy=a.target \\\n  b.target\nWantedBy=\nWantedBy=c.target\nAlias=x.service y.service\nRequiredBy=r.target\nUpheldBy=u.target\nDefaultInstance=tty1\n[Other]\nWantedBy=no.target\n',
      ),
    ).toEqual({
      wantedBy: ['c.target'],
      requiredBy: ['r.target'],
      upheldBy: ['u.target'],
      alias: ['x.service', 'y.service'],
      also: [],
      defaultInstance: 'tty1',
    });
  });

  it('expands specifiers and gives template aliases the instance', () => {
    const units: Record<string, FoundUnit> = {
      'serial-getty@.service': {
        path: '/usr/lib/systemd/system/serial-getty@.service',
        text: '[Install]\nWantedBy=getty.target\nAlias=console-%i.service\nAlias=sg@.service\n',
      },
    };
    expect(enableLinks('serial-getty@ttyS0.service', (n) => units[n]).links).toEqual([
      {
        path: '/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service',
        target: '/usr/lib/systemd/system/serial-getty@.service',
      },
      { path: '/etc/systemd/system/console-ttyS0.service', target: '/usr/lib/systemd/system/serial-getty@.service' },
      { path: '/etc/systemd/system/sg@ttyS0.service', target: '/usr/lib/systemd/system/serial-getty@.service' },
    ]);
  });

  it('enables the target of a vendor alias and skips masked units', () => {
    const units: Record<string, FoundUnit> = {
      'dbus-org.freedesktop.login1.service': {
        path: '/lib/systemd/system/dbus-org.freedesktop.login1.service',
        text: '[Install]\nWantedBy=multi-user.target\n',
        aliasOf: 'systemd-logind.service',
      },
      'systemd-logind.service': {
        path: '/lib/systemd/system/systemd-logind.service',
        text: '[Install]\nWantedBy=multi-user.target\n',
      },
      'masked.service': { path: '/etc/systemd/system/masked.service', text: undefined },
    };
    expect(enableLinks('dbus-org.freedesktop.login1.service', (n) => units[n]).links).toEqual([
      {
        path: '/etc/systemd/system/multi-user.target.wants/systemd-logind.service',
        target: '/lib/systemd/system/systemd-logind.service',
      },
    ]);
    expect(enableLinks('masked.service', (n) => units[n])).toMatchObject({
      links: [],
      warnings: ['masked.service is masked'],
    });
  });
});
