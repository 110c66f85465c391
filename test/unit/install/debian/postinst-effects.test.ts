import { describe, expect, it } from 'vitest';
import { BASE_FILES, BASE_PASSWD, configure, fileOf, linkOf, type TestPackage } from './debs.js';

const DEBIANUTILS: TestPackage = {
  name: 'debianutils',
  files: {
    'usr/share/debianutils/shells': '# /etc/shells: valid login shells\n/bin/sh\n',
    'usr/share/debianutils/shells.d/.keep': '',
  },
  postinst: `#!/bin/sh
set -e
if test -z "$2" && test ! -f "$DPKG_ROOT/etc/shells"
then
	cp -pZ "$DPKG_ROOT/usr/share/debianutils/shells" "$DPKG_ROOT/etc/shells" || cp -p "$DPKG_ROOT/usr/share/debianutils/shells" "$DPKG_ROOT/etc/shells"
fi
case "$1" in
    (configure)
	update-shells
    ;;
    (triggered)
	update-shells
    ;;
esac
`,
};

const BASH: TestPackage = {
  name: 'bash',
  files: {
    'bin/bash': { content: 'ELF', mode: 0o755 },
    'usr/share/debianutils/shells.d/bash': '/bin/bash\n/bin/rbash\n',
  },
};

const ZSH: TestPackage = {
  name: 'zsh',
  files: { 'bin/zsh': { content: 'ELF', mode: 0o755 } },
  postinst: '#!/bin/sh\nset -e\nif [ "$1" = configure ] && [ -z "$2" ]; then\n  add-shell /bin/zsh /usr/bin/zsh\nfi\n',
};

const PAM_TEMPLATE = (type: string) => `#
# /etc/pam.d/common-${type}
#

# here are the per-package modules (the "Primary" block)
$${type}_primary
# here's the fallback if no module succeeds
${type.replace('-noninteractive', '')}	requisite			pam_deny.so
# prime the stack with a positive return value if there isn't one already;
# this avoids us returning an error just because nothing sets a success code
# since the modules above will each just jump around
${type.replace('-noninteractive', '')}	required			pam_permit.so
# and here are more per-package modules (the "Additional" block)
$${type}_additional
# end of pam-auth-update config
`;

const LIBPAM_RUNTIME: TestPackage = {
  name: 'libpam-runtime',
  files: {
    ...Object.fromEntries(
      ['auth', 'account', 'password', 'session', 'session-noninteractive'].map((t) => [
        `usr/share/pam/common-${t}`,
        PAM_TEMPLATE(t),
      ]),
    ),
    'usr/share/pam-configs/unix': `Name: Unix authentication
Default: yes
Priority: 256
Auth-Type: Primary
Auth:
	[success=end default=ignore]	pam_unix.so nullok try_first_pass
Auth-Initial:
	[success=end default=ignore]	pam_unix.so nullok
Account-Type: Primary
Account:
	[success=end new_authtok_reqd=done default=ignore]	pam_unix.so
Account-Initial:
	[success=end new_authtok_reqd=done default=ignore]	pam_unix.so
Session-Type: Additional
Session:
	required	pam_unix.so
Session-Initial:
	required	pam_unix.so
Password-Type: Primary
Password:
	[success=end default=ignore]	pam_unix.so obscure use_authtok try_first_pass yescrypt
Password-Initial:
	[success=end default=ignore]	pam_unix.so obscure yescrypt
`,
    'usr/share/pam-configs/mkhomedir': `Name: Create home directory on login
Default: no
Priority: 0
Session-Type: Additional
Session-Interactive-Only: yes
Session:
	optional			pam_mkhomedir.so
`,
  },
  postinst: '#!/bin/sh\npam-auth-update --root "$DPKG_ROOT" --package --force\n',
};

const LIBPAM_SYSTEMD: TestPackage = {
  name: 'libpam-systemd',
  files: {
    'usr/share/pam-configs/systemd': `Name: Register user sessions in the systemd control group hierarchy
Default: yes
Priority: 0
Session-Interactive-Only: yes
Session-Type: Additional
Session:
	optional	pam_systemd.so
`,
  },
  postinst: '#!/bin/sh\nset -e\npam-auth-update --package\n',
};

const PEM = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----`;

const CA: TestPackage = {
  name: 'ca-certificates',
  files: {
    'usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt': `${PEM('isrg')}\n`,
    'usr/share/ca-certificates/mozilla/ACCVRAIZ1.crt': PEM('accv'),
    'usr/share/ca-certificates/mozilla/Actalis (CA).crt': `${PEM('actalis')}\n`,
    'etc/ssl/certs/.keep': '',
  },
  postinst: `#!/bin/sh
set -e
case "$1" in
    configure)
	if test -f /etc/ca-certificates.conf; then
	  :
	else
	  cat > /etc/ca-certificates.conf <<EOF
# generated
EOF
	  (echo $CERTS_ENABLED | tr ',' '\\n'; echo $CERTS_AVAILABLE | tr ',' '\\n') | sort | uniq -c >> /etc/ca-certificates.conf
	fi
	update-ca-certificates --hooksdir ""
    ;;
esac
`,
};

const BASE_FILES_SCRIPT: TestPackage = {
  ...BASE_FILES,
  files: {
    ...BASE_FILES.files,
    'usr/share/base-files/profile': '# /etc/profile\n',
    'var/spool/.keep': '',
    'var/log/.keep': '',
  },
  postinst: `#!/bin/sh
set -e
ensure_file_owner_mode() {
  if [ ! -f "$DPKG_ROOT$1" ]; then
    : > "$DPKG_ROOT$1"
  fi
  chown "$2" "$DPKG_ROOT$1"
  chmod "$3" "$DPKG_ROOT$1"
}
install_from_default() {
  if [ ! -f "$DPKG_ROOT$2" ]; then
    cp -p "$DPKG_ROOT/usr/share/base-files/$1" "$DPKG_ROOT$2"
  fi
}
install_directory() {
  if [ ! -d "$DPKG_ROOT/$1" ]; then
    mkdir "$DPKG_ROOT/$1"
    chown "root:$3" "$DPKG_ROOT/$1"
    chmod "$2" "$DPKG_ROOT/$1"
  fi
}
if [ "$1" = "configure" ] && [ "$2" = "" ]; then
  install_from_default profile /etc/profile
  install_from_default motd /etc/motd
  install_directory var/mail 2775 mail
  if [ ! -L "$DPKG_ROOT/var/spool/mail" ]; then
    ln -s ../mail "$DPKG_ROOT/var/spool/mail"
  fi
  ensure_file_owner_mode /var/log/wtmp root:utmp 664
fi
`,
};

const KMOD: TestPackage = {
  name: 'kmod',
  files: { 'usr/bin/kmod': { content: 'ELF', mode: 0o755 } },
  postinst: `#!/bin/sh
set -e
create_etc_modules() {
  [ -e /etc/modules ] && return 0
  cat <<END > /etc/modules
# /etc/modules: kernel modules to load at boot time.
END
  chmod 644 /etc/modules
}
case "$1" in
  configure)
  create_etc_modules
esac
umask 066
touch /etc/opasswd
umask 022
locale-gen
`,
};

const OPENSSH: TestPackage = {
  name: 'openssh-server',
  files: {
    'usr/share/openssh/sshd_config': '#PermitRootLogin prohibit-password\n#PasswordAuthentication yes\n',
    'etc/ssh/.keep': '',
  },
  controlFiles: {
    templates: `Template: openssh-server/permit-root-login
Type: boolean
Default: true
Description: Disable SSH password authentication for root?

Template: openssh-server/password-authentication
Type: boolean
Default: true
Description: Allow password authentication?
`,
  },
  postinst: `#!/bin/sh
set -e
. /usr/share/debconf/confmodule
db_version 2.0
create_sshdconfig() {
	db_get openssh-server/permit-root-login
	permit_root_login="$RET"
	db_get openssh-server/password-authentication
	password_authentication="$RET"
	trap cleanup EXIT
	new_config="$(mktemp)"
	cp -aZ /usr/share/openssh/sshd_config "$new_config"
	if [ "$permit_root_login" != true ]; then
		sed -i 's/^#*PermitRootLogin .*/PermitRootLogin yes/' "$new_config"
	fi
	if [ "$password_authentication" != true ]; then
		sed -i 's/^#PasswordAuthentication .*/PasswordAuthentication no/' "$new_config"
	fi
	mkdir -pZ /etc/ssh
	ucf --three-way --debconf-ok --sum-file /usr/share/openssh/sshd_config.md5sum "$new_config" /etc/ssh/sshd_config
	ucfr openssh-server /etc/ssh/sshd_config
}
if [ "$1" = configure ]; then
	create_sshdconfig
fi
db_stop
`,
};

const DASH: TestPackage = {
  name: 'dash',
  files: { 'bin/dash': { content: 'ELF', mode: 0o755 } },
  symlinks: { 'bin/sh': 'dash' },
  postinst: `#!/bin/sh
set -e
replace_with_link() {
	dfile="$1"; ltarget=$2; distrib="$DPKG_ROOT$3"
	temp="$dfile.tmp"
	ln -sf "$ltarget" "$DPKG_ROOT$temp"
	mv -f "$DPKG_ROOT$temp" "$DPKG_ROOT$dfile"
}
claim_binsh() {
	dfile=$1 ltarget=$2 distrib=\${3:-$dfile.distrib}
	diverter=$(dpkg-divert --listpackage $dfile)
	truename=$(dpkg-divert --truename $dfile)
	if [ "$diverter" = dash ]; then
		return
	fi
	dpkg-divert --package bash --no-rename --remove $dfile
	dpkg-divert --package dash --no-rename --divert $distrib --add $dfile
	if [ -n "$DPKG_ROOT$truename" ]; then
	       rm -f "$DPKG_ROOT$truename"
	fi
	replace_with_link $dfile $ltarget $distrib
}
claim_binsh /bin/sh dash
`,
};

const DBUS: TestPackage = {
  name: 'dbus',
  files: { 'usr/lib/dbus-1.0/dbus-daemon-launch-helper': { content: 'ELF', mode: 0o755 } },
  postinst: `#!/bin/sh
set -e
MESSAGEUSER=messagebus
LAUNCHER=/usr/lib/dbus-1.0/dbus-daemon-launch-helper
if [ "$1" = configure ]; then
    if ! dpkg-statoverride --list "$LAUNCHER" >/dev/null; then
        dpkg-statoverride --update --add root "$MESSAGEUSER" 4754 "$LAUNCHER"
    fi
fi
`,
};

describe('what common postinst commands make', () => {
  it("writes /etc/shells as update-shells does, /usr twins included, and add-shell's shells", async () => {
    const config = await configure([BASE_FILES, DEBIANUTILS, BASH, ZSH]);
    expect(fileOf(config, '/etc/shells')).toBe(
      '# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n/bin/zsh\n/usr/bin/zsh\n',
    );
    expect(fileOf(config, '/var/lib/shells.state')).toBe(
      '/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/rbash\n',
    );
  });

  it('writes /etc/pam.d/common-* as pam-auth-update does on a first install', async () => {
    const config = await configure([BASE_FILES, LIBPAM_RUNTIME, LIBPAM_SYSTEMD]);
    const block = (path: string) =>
      (fileOf(config, path) ?? '').split('\n').filter((l) => !l.startsWith('#') && l !== '');
    expect(block('/etc/pam.d/common-auth')).toEqual([
      'auth\t[success=1 default=ignore]\tpam_unix.so nullok',
      'auth\trequisite\t\t\tpam_deny.so',
      'auth\trequired\t\t\tpam_permit.so',
    ]);
    expect(block('/etc/pam.d/common-session')).toEqual([
      'session\t[default=1]\t\t\tpam_permit.so',
      'session\trequisite\t\t\tpam_deny.so',
      'session\trequired\t\t\tpam_permit.so',
      'session\trequired\tpam_unix.so ',
      'session\toptional\tpam_systemd.so ',
    ]);
    expect(block('/etc/pam.d/common-session-noninteractive')).toEqual([
      'session\t[default=1]\t\t\tpam_permit.so',
      'session\trequisite\t\t\tpam_deny.so',
      'session\trequired\t\t\tpam_permit.so',
      'session\trequired\tpam_unix.so ',
    ]);
    expect(fileOf(config, '/var/lib/pam/seen')).toBe('unix\nsystemd\nmkhomedir\n');
  });

  it('builds the CA bundle and its links from every certificate, in C order', async () => {
    const config = await configure([BASE_FILES, CA]);
    expect(
      fileOf(config, '/etc/ca-certificates.conf')
        ?.split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual(['mozilla/ACCVRAIZ1.crt', 'mozilla/Actalis (CA).crt', 'mozilla/ISRG_Root_X1.crt', '']);
    expect(fileOf(config, '/etc/ssl/certs/ca-certificates.crt')).toBe(
      `${PEM('accv')}\n${PEM('actalis')}\n${PEM('isrg')}\n`,
    );
    expect(linkOf(config, '/etc/ssl/certs/Actalis_=CA=.pem')).toBe(
      '/usr/share/ca-certificates/mozilla/Actalis (CA).crt',
    );
    expect(config.report.unhandled.map((a) => a.line)).toEqual(['openssl rehash /etc/ssl/certs']);
  });

  it("reproduces base-files' defaults: copies, directories, links and log files", async () => {
    const config = await configure([BASE_FILES_SCRIPT, BASE_PASSWD]);
    expect(fileOf(config, '/etc/profile')).toBe('# /etc/profile\n');
    expect(fileOf(config, '/etc/motd')).toBe('motd\n');
    expect(config.dirs).toContainEqual({ path: '/var/mail', mode: 0o2775, uid: 0, gid: 8 });
    expect(linkOf(config, '/var/spool/mail')).toBe('../mail');
    expect(config.files.find((f) => f.path === '/var/log/wtmp')).toMatchObject({
      mode: 0o664,
      uid: 0,
      gid: 43,
      data: Buffer.alloc(0),
    });
  });

  it('writes here-documents and honours umask; reports what it does not reproduce', async () => {
    const config = await configure([BASE_FILES, KMOD]);
    expect(fileOf(config, '/etc/modules')).toBe('# /etc/modules: kernel modules to load at boot time.\n');
    expect(config.files.find((f) => f.path === '/etc/opasswd')?.mode).toBe(0o600);
    expect(config.report.unhandled).toEqual([
      {
        package: 'kmod',
        line: 'locale-gen',
        note: 'not reproduced: no locales are compiled (/usr/lib/locale/locale-archive)',
      },
    ]);
  });

  it("installs sshd_config through ucf with debconf's default answers", async () => {
    const config = await configure([BASE_FILES, OPENSSH]);
    expect(fileOf(config, '/etc/ssh/sshd_config')).toBe(
      '#PermitRootLogin prohibit-password\n#PasswordAuthentication yes\n',
    );
    expect(fileOf(config, '/var/lib/ucf/registry')).toBe('openssh-server \t /etc/ssh/sshd_config\n');
    expect(config.files.map((f) => f.path).filter((p) => p.startsWith('/tmp'))).toEqual([]);
  });

  it("records dash's diversion of /bin/sh and leaves /bin/sh pointing at dash", async () => {
    const config = await configure([BASE_FILES, DASH]);
    expect(fileOf(config, '/var/lib/dpkg/diversions')).toBe('/bin/sh\n/bin/sh.distrib\ndash\n');
    expect(config.remove).toEqual([]);
    expect(linkOf(config, '/usr/bin/sh')).toBeUndefined();
  });

  it('records stat overrides, and says when the owner exists only from boot on', async () => {
    const config = await configure([BASE_FILES, DBUS]);
    expect(fileOf(config, '/var/lib/dpkg/statoverride')).toBe(
      'root messagebus 4754 /usr/lib/dbus-1.0/dbus-daemon-launch-helper\n',
    );
    expect(config.report.unhandled.map((a) => a.note)).toEqual([
      expect.stringContaining('messagebus is created at boot by systemd-sysusers'),
    ]);
  });

  it('reports a script it cannot read, or one that is not a shell script, and goes on', async () => {
    const config = await configure([
      BASE_FILES,
      { name: 'broken', postinst: '#!/bin/sh\necho "unclosed\n' },
      { name: 'perlish', postinst: '#!/usr/bin/perl\nprint "hi";\n' },
      KMOD,
    ]);
    expect(config.report.unhandled.map((a) => `${a.package}: ${a.line}: ${a.note}`)).toEqual([
      'broken: postinst: not reproduced: bootforge cannot read it (line 2: unterminated double quote)',
      'perlish: #!/usr/bin/perl: not reproduced: postinst is not a shell script',
      'kmod: locale-gen: not reproduced: no locales are compiled (/usr/lib/locale/locale-archive)',
    ]);
    expect(fileOf(config, '/etc/modules')).toBeDefined();
  });
});
