import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTool } from '../../../helpers/debrepo.js';
import { BASE_FILES, configure, fileOf, linkOf, writeOut, type TestPackage } from './debs.js';

// The postinsts as bookworm ships them (mawk, less, util-linux), minus comments.
const MAWK: TestPackage = {
  name: 'mawk',
  version: '1.3.4.20200120-3.1',
  files: {
    'usr/bin/mawk': { content: 'ELF', mode: 0o755 },
    'usr/share/man/man1/mawk.1.gz': 'man',
  },
  postinst: `#!/bin/sh
set -e

if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
        update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 \\
            --slave /usr/share/man/man1/awk.1.gz awk.1.gz /usr/share/man/man1/mawk.1.gz \\
            --slave /usr/bin/nawk nawk /usr/bin/mawk \\
            --slave /usr/share/man/man1/nawk.1.gz nawk.1.gz /usr/share/man/man1/mawk.1.gz
fi
`,
};

const LESS: TestPackage = {
  name: 'less',
  version: '590-2.1',
  files: { 'usr/bin/less': { content: 'ELF', mode: 0o755 }, 'usr/share/man/man1/less.1.gz': 'man' },
  postinst: `#!/bin/sh -e
case "$1" in
  configure)
    update-alternatives --quiet --install /usr/bin/pager pager \\
      /usr/bin/less 77 --slave /usr/share/man/man1/pager.1.gz \\
      pager.1.gz /usr/share/man/man1/less.1.gz
  ;;
  abort-upgrade|abort-remove|abort-deconfigure)
  ;;
  *)
    echo "postinst called with unknown argument \\\`$1'" >&2
    exit 0
  ;;
esac
exit 0
`,
};

const UTIL_LINUX: TestPackage = {
  name: 'util-linux',
  version: '2.38.1-5+b1',
  files: { 'bin/more': { content: 'ELF', mode: 0o755 }, 'usr/share/man/man1/more.1.gz': 'man' },
  postinst: `#!/bin/sh
set -e
if [ "$(uname -s)" = "Linux" ]; then
	update-alternatives --install /usr/bin/pager pager /bin/more 50 \\
		--slave /usr/share/man/man1/pager.1.gz pager.1.gz \\
		/usr/share/man/man1/more.1.gz
fi
`,
};

// procps: the alternatives come from a function, and only for files that exist.
const PROCPS: TestPackage = {
  name: 'procps',
  version: '2:4.0.2-3',
  files: { 'bin/ps': { content: 'ELF', mode: 0o755 }, 'usr/bin/uptime.procps': { content: 'ELF', mode: 0o755 } },
  postinst: `#!/bin/sh
set -e
check_alternatives() {
  BINNAME="$1"
  BINPATH="$2"
  MANSEC="$3"
  if [ -e "$BINPATH"/"$BINNAME".procps ] ; then
	update-alternatives --install "$BINPATH"/"$BINNAME" "$BINNAME" \\
	    "$BINPATH"/"$BINNAME".procps 50 \\
		--slave /usr/share/man/man"$MANSEC"/"$BINNAME"."$MANSEC".gz "$BINNAME"."$MANSEC".gz \\
		/usr/share/man/man"$MANSEC"/"$BINNAME".procps."$MANSEC".gz
  fi
}
case "$1" in
    configure|abort-remove|abort-deconfigure)
		check_alternatives "uptime" "/usr/bin" "1"
		check_alternatives "ps" "/bin" "1"
    ;;
esac
`,
};

// A choice whose file is missing is not registered; an unevaluable one is reported.
const BROKEN: TestPackage = {
  name: 'broken',
  postinst: `#!/bin/sh
set -e
update-alternatives --install /usr/bin/editor editor /usr/bin/missing 10
update-alternatives --install /usr/bin/x x "$(find-it)" 10
`,
};

describe('alternatives', () => {
  it('links the highest priority choice through /etc/alternatives, with its slaves', async () => {
    const config = await configure([BASE_FILES, MAWK, LESS, UTIL_LINUX]);
    expect(linkOf(config, '/usr/bin/awk')).toBe('/etc/alternatives/awk');
    expect(linkOf(config, '/etc/alternatives/awk')).toBe('/usr/bin/mawk');
    expect(linkOf(config, '/usr/bin/nawk')).toBe('/etc/alternatives/nawk');
    expect(linkOf(config, '/etc/alternatives/nawk')).toBe('/usr/bin/mawk');
    expect(linkOf(config, '/usr/share/man/man1/awk.1.gz')).toBe('/etc/alternatives/awk.1.gz');
    expect(linkOf(config, '/etc/alternatives/pager')).toBe('/usr/bin/less');
    expect(linkOf(config, '/etc/alternatives/pager.1.gz')).toBe('/usr/share/man/man1/less.1.gz');
  });

  it("writes update-alternatives' admin files (slaves by name, choices by path)", async () => {
    const config = await configure([BASE_FILES, MAWK, LESS, UTIL_LINUX]);
    expect(fileOf(config, '/var/lib/dpkg/alternatives/awk')).toBe(
      [
        'auto',
        '/usr/bin/awk',
        'awk.1.gz',
        '/usr/share/man/man1/awk.1.gz',
        'nawk',
        '/usr/bin/nawk',
        'nawk.1.gz',
        '/usr/share/man/man1/nawk.1.gz',
        '',
        '/usr/bin/mawk',
        '5',
        '/usr/share/man/man1/mawk.1.gz',
        '/usr/bin/mawk',
        '/usr/share/man/man1/mawk.1.gz',
        '',
        '',
      ].join('\n'),
    );
    expect(fileOf(config, '/var/lib/dpkg/alternatives/pager')).toBe(
      'auto\n/usr/bin/pager\npager.1.gz\n/usr/share/man/man1/pager.1.gz\n\n/bin/more\n50\n/usr/share/man/man1/more.1.gz\n/usr/bin/less\n77\n/usr/share/man/man1/less.1.gz\n\n',
    );
  });

  it("is what the host's update-alternatives --display reads", async (ctx) => {
    if (!(await hasTool('update-alternatives'))) ctx.skip('update-alternatives is not installed');
    const config = await configure([BASE_FILES, MAWK, LESS, UTIL_LINUX]);
    const root = mkdtempSync(join(tmpdir(), 'bf-alt-'));
    try {
      writeOut(config, root);
      const r = spawnSync(
        'update-alternatives',
        [
          '--admindir',
          join(root, 'var/lib/dpkg/alternatives'),
          '--altdir',
          join(root, 'etc/alternatives'),
          '--display',
          'pager',
        ],
        { encoding: 'utf8' },
      );
      expect(r.stdout).toContain('pager - auto mode');
      expect(r.stdout).toContain('link currently points to /usr/bin/less');
      expect(r.stdout).toContain('/bin/more - priority 50');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('evaluates alternatives a function installs, for the files that exist', async () => {
    const config = await configure([BASE_FILES, PROCPS]);
    expect(config.symlinks.filter((s) => s.path.startsWith('/etc/alternatives/'))).toEqual([
      { path: '/etc/alternatives/uptime', target: '/usr/bin/uptime.procps' },
    ]);
    expect(linkOf(config, '/usr/bin/uptime')).toBe('/etc/alternatives/uptime');
    expect(linkOf(config, '/bin/ps')).toBeUndefined();
  });

  it('reports choices it cannot register', async () => {
    const config = await configure([BASE_FILES, BROKEN]);
    expect(config.report.unhandled.map((a) => a.note)).toEqual([
      expect.stringContaining('has words bootforge cannot compute'),
      'alternative editor: /usr/bin/missing does not exist, not registered',
    ]);
    expect(linkOf(config, '/usr/bin/editor')).toBeUndefined();
  });
});
