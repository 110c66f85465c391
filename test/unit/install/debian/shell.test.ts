import { describe, expect, it } from 'vitest';
import {
  Shell,
  type Invocation,
  type Outcome,
  type ShellHost,
} from '../../../../src/install/debian/shell/interpreter.js';
import { parseScript, ShellSyntaxError } from '../../../../src/install/debian/shell/parser.js';
import { show, UNKNOWN, type Value } from '../../../../src/install/debian/shell/value.js';

interface Run {
  readonly argv: string;
  readonly certain: boolean;
  readonly stdin?: string;
}

/** Runs a script as a first-install postinst ("configure" "") against a host that records every command. */
function run(
  script: string,
  answers: Record<string, Outcome> = {},
  files: Record<string, 'file' | 'dir'> = {},
): { runs: Run[]; writes: { path: string; data: string; append: boolean }[] } {
  const runs: Run[] = [];
  const writes: { path: string; data: string; append: boolean }[] = [];
  const host: ShellHost = {
    run(inv: Invocation): Outcome {
      const argv = [inv.name, ...inv.args.map(show)].join(' ');
      runs.push({ argv, certain: inv.certain, ...(typeof inv.stdin === 'string' ? { stdin: inv.stdin } : {}) });
      if (inv.name === 'cat' && inv.args.length === 0) return { status: 0, stdout: inv.stdin ?? '' };
      return answers[inv.name] ?? answers[argv] ?? { status: UNKNOWN, stdout: UNKNOWN };
    },
    fileTest: (op, path) => {
      const kind = files[path];
      if (op === '-e') return kind !== undefined;
      if (op === '-d') return kind === 'dir';
      if (op === '-f') return kind === 'file';
      return UNKNOWN;
    },
    which: (name) => (name === 'systemd-tmpfiles' ? '/usr/bin/systemd-tmpfiles' : ''),
    readFile: () => UNKNOWN,
    writeFile: (path: Value, data: Value, append: boolean) =>
      writes.push({ path: show(path), data: show(data), append }),
  };
  new Shell(host, { positional: ['configure', ''], variables: { DPKG_ROOT: '' } }).runScript(script);
  return { runs, writes };
}

const ok: Outcome = { status: 0, stdout: '' };

describe('shell reader', () => {
  it('joins continuation lines and keeps the source of each command', () => {
    const [cmd] = parseScript(
      'update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 \\\n    --slave /usr/share/man/man1/awk.1.gz awk.1.gz /x\n',
    );
    expect(cmd).toMatchObject({ kind: 'simple', line: 1 });
    expect(cmd?.kind === 'simple' ? cmd.words.length : 0).toBe(10);
    expect(cmd?.kind === 'simple' ? cmd.source : '').toBe(
      'update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 --slave /usr/share/man/man1/awk.1.gz awk.1.gz /x',
    );
  });

  it('reads here-documents, quoted and not', () => {
    const { runs } = run("X=world\ncat <<EOF\nhello $X\nEOF\ncat <<'EOF'\nhello $X\nEOF\n");
    expect(runs.map((r) => r.stdin)).toEqual(['hello world\n', 'hello $X\n']);
  });

  it('says where a script cannot be read', () => {
    expect(() => parseScript('if true; then\n  echo "unclosed\n')).toThrow(ShellSyntaxError);
  });
});

describe('shell evaluation of a first-install postinst', () => {
  it('takes the configure branch of dh-generated snippets and skips the others', () => {
    const { runs } = run(
      `
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	deb-systemd-helper unmask 'ssh.service' >/dev/null || true
	if deb-systemd-helper --quiet was-enabled 'ssh.service'; then
		deb-systemd-helper enable 'ssh.service' >/dev/null || true
	else
		deb-systemd-helper update-state 'ssh.service' >/dev/null || true
	fi
fi
if [ "$1" = "triggered" ]; then
	ldconfig
fi
case "$1" in
    configure) echo-configure ;;
    abort-upgrade|abort-remove) echo-abort ;;
    *) echo-other ;;
esac
`,
      { 'deb-systemd-helper': ok },
    );
    expect(runs.map((r) => r.argv)).toEqual([
      'deb-systemd-helper unmask ssh.service',
      'deb-systemd-helper --quiet was-enabled ssh.service',
      'deb-systemd-helper enable ssh.service',
      'echo-configure',
    ]);
    expect(runs.every((r) => r.certain)).toBe(true);
  });

  it('treats $2 as empty: [ -z "$2" ] holds, [ -n "$2" ] does not', () => {
    const { runs } = run(
      'if [ -z "$2" ]; then first; fi\nif [ -n "$2" ]; then upgrade; fi\n[ "$2" = "" ] && also-first\n',
    );
    expect(runs.map((r) => r.argv)).toEqual(['first', 'also-first']);
  });

  it('follows both ways of a condition it cannot decide, marking them uncertain', () => {
    const { runs } = run('if grep -q x /etc/foo; then a; else b; fi\nc\n');
    expect(runs).toEqual([
      { argv: 'grep -q x /etc/foo', certain: true },
      { argv: 'a', certain: false },
      { argv: 'b', certain: false },
      { argv: 'c', certain: true },
    ]);
  });

  it('assumes the install did not fail: `|| exit 1` does not make the rest uncertain', () => {
    const { runs } = run('invoke-rc.d foo start || exit 1\nlater\n');
    expect(runs.at(-1)).toEqual({ argv: 'later', certain: true });
  });

  it('makes what follows an uncertain `exit 0` uncertain', () => {
    const { runs } = run('probe && exit 0\nlater\n');
    expect(runs.at(-1)).toEqual({ argv: 'later', certain: false });
  });

  it('calls functions with their own positional parameters and local assignments in order', () => {
    const { runs } = run(`
claim() {
	dfile=$1 ltarget=$2 distrib=\${3:-$dfile.distrib}
	dpkg-divert --package dash --divert $distrib --add $dfile
	ln -sf "$ltarget" "$dfile"
}
claim /bin/sh dash
claim /usr/share/man/man1/sh.1.gz dash.1.gz /usr/share/man/man1/sh.distrib.1.gz
`);
    expect(runs.map((r) => r.argv)).toEqual([
      'dpkg-divert --package dash --divert /bin/sh.distrib --add /bin/sh',
      'ln -sf dash /bin/sh',
      'dpkg-divert --package dash --divert /usr/share/man/man1/sh.distrib.1.gz --add /usr/share/man/man1/sh.1.gz',
      'ln -sf dash.1.gz /usr/share/man/man1/sh.1.gz',
    ]);
  });

  it('runs wrapper functions that execute "$@"', () => {
    const { runs } = run(`
MESSAGEUSER=messagebus
in_sysroot () {
    if [ -z "\${DPKG_ROOT:-}" ]; then
        "$@"
    else
        chroot "\${DPKG_ROOT}" "$@"
    fi
}
in_sysroot adduser --system --quiet --home /nonexistent --no-create-home --disabled-password --group "$MESSAGEUSER"
`);
    expect(runs).toEqual([
      {
        argv: 'adduser --system --quiet --home /nonexistent --no-create-home --disabled-password --group messagebus',
        certain: true,
      },
    ]);
  });

  it('expands ${VAR:+...}, ${VAR:-...}, ${VAR#...} and unknown command output', () => {
    const { runs } = run(
      'systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create dbus.conf\nx=/usr/lib/foo.so\necho-it ${x##*/} ${x%.so} ${UNSET:-default}\nv=$(dpkg-query -W foo)\nuse "$v"\n',
    );
    expect(runs.map((r) => r.argv)).toEqual([
      'systemd-tmpfiles --create dbus.conf',
      'echo-it foo.so /usr/lib/foo default',
      'dpkg-query -W foo',
      'use ?',
    ]);
  });

  it('evaluates command -v and file tests through the host', () => {
    const { runs } = run(
      'if [ -x "$(command -v systemd-tmpfiles)" ]; then tmpfiles; fi\nif [ -d /run/systemd/system ]; then reload; fi\n[ -e /etc/passwd ] || copy-passwd\n',
      {},
      { '/etc/passwd': 'file' },
    );
    expect(runs.map((r) => r.argv)).toEqual(['tmpfiles']);
  });

  it('reads a here-document line by line in `while read`', () => {
    const { runs } = run(`
(
	while read line; do
		set -- $line
		dir="$1"; mode="$2"
		make "$dir" "$mode"
	done
) << DATA
/usr/local/share default
/usr/local/share/xml 0755
DATA
`);
    expect(runs).toEqual([
      { argv: 'make /usr/local/share default', certain: true },
      { argv: 'make /usr/local/share/xml 0755', certain: true },
    ]);
  });

  it('iterates for loops over literal words', () => {
    const { runs } = run(
      'for file in dumpkeys loadkeys; do\n  if [ ! -e /usr/bin/$file ]; then ln -s /bin/$file /usr/bin/$file; fi\ndone\n',
      {},
      {
        '/usr/bin/dumpkeys': 'file',
      },
    );
    expect(runs.map((r) => r.argv)).toEqual(['ln -s /bin/loadkeys /usr/bin/loadkeys']);
  });

  it('hands output redirected to a file to the host', () => {
    const { writes } = run('echo "$1" > /etc/state\ncat >> /etc/hosts.allow <<EOF\n# allow\nEOF\n: > /var/log/wtmp\n');
    expect(writes).toEqual([
      { path: '/etc/state', data: 'configure\n', append: false },
      { path: '/etc/hosts.allow', data: '# allow\n', append: true },
      { path: '/var/log/wtmp', data: '', append: false },
    ]);
  });

  it('lets command output set variables (db_get sets RET)', () => {
    const { runs } = run('db_get foo/bar\nif [ "$RET" = true ]; then yes-branch; else no-branch; fi\n', {
      db_get: { status: 0, stdout: '', assign: new Map([['RET', 'true']]) },
    });
    expect(runs.map((r) => r.argv)).toEqual(['db_get foo/bar', 'yes-branch']);
  });
});
