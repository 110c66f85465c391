import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { toolPath } from '../../../src/exec/run.js';
import { installStageContext } from '../../../src/install/installer.js';
import { resolve } from '../../../src/pipeline/resolve.js';
import type { InitContext, ProbeStageContext } from '../../../src/templates/contexts.js';
import {
  TemplateSet,
  identText,
  intText,
  kvText,
  listTemplates,
  renderTemplate,
  shQuote,
  shQuoteList,
} from '../../../src/templates/render.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-templates-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let counter = 0;
/** A fresh folder of templates (name -> text), loaded as a TemplateSet. */
function load(files: Record<string, string>): TemplateSet {
  const root = join(work, `set${++counter}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return TemplateSet.load(root);
}

function loadError(files: Record<string, string>): BootforgeError {
  try {
    load(files);
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  throw new Error('the templates loaded');
}

function renderError(set: TemplateSet, name: string, context: object): BootforgeError {
  try {
    set.render(name, context);
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  throw new Error('the template rendered');
}

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script file with a shell's argv, in a fixed environment. */
function run(shell: readonly string[], script: string, extra: readonly string[] = []): Ran {
  const file = join(work, `script${++counter}.sh`);
  writeFileSync(file, script);
  const [cmd, ...args] = shell;
  const r = spawnSync(cmd ?? 'sh', [...args, ...extra, file], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function works(argv: readonly string[]): boolean {
  const [cmd, ...args] = argv;
  return spawnSync(cmd ?? 'false', args, { stdio: 'ignore' }).status === 0;
}

// dash is /bin/sh on Debian; busybox sh is what runs inside the initrd. BOOTFORGE_TOOL_BUSYBOX
// can point at a busybox binary (e.g. one unpacked from busybox-static) when none is installed.
const DASH = existsSync('/usr/bin/dash') ? ['/usr/bin/dash'] : ['/bin/sh'];
const BUSYBOX = [toolPath('busybox'), 'sh'];
const HAVE_BUSYBOX = works([...BUSYBOX, '-c', 'true']);
const NO_BUSYBOX = 'busybox not found: apt-get install busybox-static, or set BOOTFORGE_TOOL_BUSYBOX';
const SHELLCHECK = toolPath('shellcheck');
const HAVE_SHELLCHECK = works([SHELLCHECK, '--version']);
const NO_SHELLCHECK = 'shellcheck not found: apt-get install shellcheck';

const SHELLS = [
  ['dash', DASH, true],
  ['busybox sh', BUSYBOX, HAVE_BUSYBOX],
] as const;

const HOSTILE: readonly (readonly [string, string])[] = [
  ['single quote', "'"],
  ['two single quotes', "''"],
  ['quote inside', "a'b"],
  ['command substitution', '$(reboot)'],
  ['backquotes', '`id`'],
  ['command separator', ';rm -rf /'],
  ['blank', 'a b'],
  ['glob', '*'],
  ['tilde', '~'],
  ['option-like', '-n'],
  ['backslashes', '\\\\'],
  ['backslash then quote', "\\'"],
  ['newline in the middle', 'a\nb'],
  ['trailing newline', 'abc\n'],
  ['tab', 'a\tb'],
  ['variable', '$HOME'],
  ['double quote', '"'],
  ['unicode', 'grüße 日本 🚀'],
  ['empty string', ''],
  ['heredoc-looking', 'EOF\n$(id)\nEOF'],
  ['ANSI-C-looking', "$'\\x41'"],
  ['everything', `'"\`$(x)\${y}\\;|&<>*?[]{}~#!\n\t `],
];

describe('{{sh x}}: one quoted word that the shell gives back unchanged', () => {
  const set = load({ 'initrd/echo.sh.hbs': "printf '%s\\n' {{sh v}}\n" });

  for (const [shellName, shell, available] of SHELLS) {
    it.for(HOSTILE)(`${shellName}: %s`, ([, v], ctx) => {
      if (!available) ctx.skip(NO_BUSYBOX);
      const script = set.render('initrd/echo.sh.hbs', { v });
      expect(run(shell, script, ['-n']).status).toBe(0);
      const r = run(shell, script);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${v}\n`);
    });

    it(`${shellName}: a canary value never runs`, (ctx) => {
      if (!available) ctx.skip(NO_BUSYBOX);
      const canary = join(work, `canary-${++counter}`);
      for (const v of [`$(touch ${canary})`, `\`touch ${canary}\``, `;touch ${canary}`, `'$(touch ${canary})'`]) {
        const r = run(shell, set.render('initrd/echo.sh.hbs', { v }));
        expect(r.stdout).toBe(`${v}\n`);
      }
      expect(existsSync(canary)).toBe(false);
    });
  }

  it('quotes with single quotes and writes a quote as quote-backslash-quote-quote', () => {
    expect(shQuote('')).toBe("''");
    expect(shQuote("a'b")).toBe("'a'\\''b'");
    expect(shQuote('a\nb')).toBe("'a\nb'");
    expect(shQuote(5)).toBe("'5'");
    expect(shQuote(-1.5)).toBe("'-1.5'");
  });

  it('refuses NUL, broken Unicode and values that are not strings or numbers', () => {
    expect(() => shQuote('a\0b')).toThrow(/NUL/);
    expect(() => shQuote('a\uD800')).toThrow(/surrogate/);
    for (const v of [undefined, null, true, {}, ['a'], NaN, Infinity])
      expect(() => shQuote(v)).toThrow(/string or a number/);
  });

  it('refuses a NUL at render time with the template, line and mustache', () => {
    const e = renderError(set, 'initrd/echo.sh.hbs', { v: 'a\0' });
    expect(e.code).toBe('BF_TEMPLATE');
    expect(e.message).toBe(
      'initrd/echo.sh.hbs:1: {{sh v}}: {{sh}} refuses a value with a NUL byte: no shell word can hold one',
    );
  });
});

describe('{{shlist xs}}: one word per element', () => {
  const set = load({
    'initrd/list.sh.hbs':
      'set -- {{shlist vs}}\nprintf \'%s\\n\' "$#"\nfor a in "$@"; do printf \'[%s]\\n\' "$a"; done\n',
  });
  const lists: readonly (readonly string[])[] = [
    [],
    [''],
    ['', '', ''],
    ['a b', '', 'x\ny', "'", '$(id)', '*', '-n', 'z\n'],
    HOSTILE.map(([, v]) => v),
  ];

  for (const [shellName, shell, available] of SHELLS) {
    it.for(lists.map((l) => [l.length, l] as const))(`${shellName}: %i elements`, ([, vs], ctx) => {
      if (!available) ctx.skip(NO_BUSYBOX);
      const script = set.render('initrd/list.sh.hbs', { vs });
      expect(run(shell, script, ['-n']).status).toBe(0);
      const r = run(shell, script);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${vs.length}\n${vs.map((v) => `[${v}]\n`).join('')}`);
    });
  }

  it('renders an empty array as nothing and refuses a non-array or a bad element', () => {
    expect(shQuoteList([])).toBe('');
    expect(shQuoteList(['a', "'"])).toBe("'a' ''\\'''");
    expect(() => shQuoteList('a')).toThrow(/array/);
    expect(() => shQuoteList(['a', null])).toThrow(/element 1/);
  });
});

describe('templates that could let a value become code fail to load', () => {
  const cases: readonly (readonly [string, string, string])[] = [
    ['a bare {{x}}', 'echo {{x}}\n', '{{x}} would output a value as it is'],
    ['a triple-stash {{{x}}}', 'echo {{{x}}}\n', '{{{...}}} and {{&...}} are not allowed'],
    ['{{&x}}', 'echo {{&x}}\n', '{{{...}}} and {{&...}} are not allowed'],
    ['an unknown helper', 'echo {{unknownHelper x}}\n', '{{unknownHelper x}}: unknown helper'],
    ['a helper of another kind', 'echo {{json x}}\n', '{{json}} is not for shell templates'],
    ['two values', 'echo {{sh x y}}\n', '{{sh}} takes exactly one value'],
    ['a subexpression', 'echo {{sh (sh x)}}\n', 'not a SubExpression'],
    ['key=value options', 'echo {{sh x a=1}}\n', 'takes no key=value options'],
    ['a partial', 'echo {{> p}}\n', 'partials are not allowed'],
    ['an unknown block', '{{#foo x}}echo{{/foo}}\n', 'blocks other than'],
    ['inside double quotes', 'echo "{{sh x}}"\n', 'inside "..."'],
    ['inside single quotes', "echo '{{sh x}}'\n", "inside '...'"],
    ['inside a comment', 'echo # {{sh x}}\n', 'inside a comment'],
    ['inside a here-document', 'cat <<EOF\n{{sh x}}\nEOF\n', 'inside a here-document'],
    ['inside a quoted here-document', "cat <<-'EOF'\n\t{{sh x}}\n\tEOF\n", 'inside a here-document'],
    ['as a here-document delimiter', 'cat <<{{sh x}}\n', 'here-document delimiter'],
    ['a here-string', 'cat <<<{{sh x}}\n', 'here-strings'],
    ['after a backslash', 'echo \\\\{{sh x}}\n', 'right after a backslash'],
    ['after $', 'echo ${{sh x}}\n', 'right after $'],
    ['inside ${...}', 'echo ${v:-{{sh x}} }\n', 'inside ${...}'],
    ['as a command', '{{sh x}} --flag\n', 'in command position'],
    ['as a command after ;', 'true; {{sh x}}\n', 'in command position'],
    ['as a command after an assignment', 'A=1 {{sh x}}\n', 'in command position'],
    ['as a command in $(...)', 'echo "$({{sh x}})"\n', 'in command position'],
    ['in a command name', '/usr/bin/{{sh x}} -q\n', 'inside a command name'],
    ['{{shlist}} in an assignment', 'A={{shlist xs}}\n', 'glued to other text'],
    ['{{shlist}} glued to what follows', 'echo {{shlist xs}}x\n', 'must be followed by a blank'],
    ['{{shlist}} as a redirection target', 'echo >{{shlist xs}}\n', 'redirection target'],
    ['{{ident}} as a command', '{{ident x}} -q\n', 'must start an assignment'],
    ['an argument of trap', 'trap {{sh x}} EXIT\n', 'in the arguments of trap'],
    ['an argument of chroot', 'chroot /target {{sh x}}\n', 'in the arguments of chroot'],
    ['an argument of sh -c', 'sh -c {{sh x}}\n', 'in the arguments of sh'],
    ['an argument of exec', 'exec {{shlist xs}}\n', 'in the arguments of exec'],
    ['sourcing a file', '. {{sh x}}\n', 'in the arguments of .'],
    ['quotes inside ${...}', "x=${v:-'a'} {{sh x}}\n", 'no quotes or backslashes inside ${...}'],
    ['backquotes', 'echo `id`\n', 'backquotes'],
    ["$'...'", "echo $'\\n'\n", "$'...' is not POSIX"],
    ['eval', 'eval "$X"\n', 'eval is not allowed'],
    ['branches that leave a quote open', '{{#if a}}echo "{{/if}}x\n', 'branches leave the script in different states'],
    ['a # that is a comment in one branch only', '{{#if a}}x{{/if}}# {{sh v}}\n', 'a # right after a block'],
    ['an unclosed quote', "echo 'abc\n", "ends inside '...'"],
    ['an unterminated here-document', 'cat <<EOF\nabc\n', 'ends inside a here-document'],
  ];

  it.each(cases)('%s', (_label, text, expected) => {
    const e = loadError({ 'initrd/bad.sh.hbs': text });
    expect(e.code).toBe('BF_TEMPLATE');
    expect(e.message).toMatch(/^initrd\/bad\.sh\.hbs:\d+: /);
    expect(e.message).toContain(expected);
    expect(e.loc?.file).toBe(join(work, `set${counter}`, 'initrd', 'bad.sh.hbs'));
  });

  it('names the line of the offending mustache', () => {
    const e = loadError({ 'installer/bad.sh.hbs': '#!/bin/sh\n# ok\necho {{sh a}}\n\necho {{b}}\n' });
    expect(e.message).toBe(
      'installer/bad.sh.hbs:5: {{b}} would output a value as it is: ' +
        'use {{sh x}} (one quoted word), {{shlist xs}}, {{int n}} or {{ident name}}',
    );
    expect(e.loc).toMatchObject({ line: 5, column: 6 });
  });

  it('names the line of a problem in the text', () => {
    const e = loadError({ 'generation/bad.sh.hbs': '{{#if a}}\necho a\n{{/if}}\necho `id`\n' });
    expect(e.message).toMatch(/^generation\/bad\.sh\.hbs:4: backquotes/);
  });

  it('refuses a script not named *.sh.hbs, and Handlebars syntax errors', () => {
    expect(loadError({ 'initrd/init.hbs': '#!/bin/sh\necho hi\n' }).message).toContain('must be named *.sh.hbs');
    expect(loadError({ 'initrd/x.sh.hbs': 'echo {{sh x\n' }).message).toMatch(
      /^initrd\/x\.sh\.hbs:1: not valid Handlebars/,
    );
  });

  it('refuses a value inside a JSON string, and helpers that JSON templates do not have', () => {
    expect(loadError({ 'installer/a.json.hbs': '{"a": "{{json a}}"}\n' }).message).toContain('inside a JSON string');
    expect(loadError({ 'installer/a.json.hbs': '{"a": {{sh a}} }\n' }).message).toContain('not for json templates');
    expect(loadError({ 'installer/b.json.hbs': '{"a": {{json a}}}\n' }).message).toContain('write "}} }"');
  });
});

describe('values in safe places render and run', () => {
  const set = load({
    'initrd/ok.sh.hbs': [
      '#!/bin/sh',
      'A={{sh a}}',
      '{{ident name}}={{sh a}}',
      'export {{ident name}}',
      'printf \'%s|%s\\n\' "$A" "${{ident name}}"',
      "printf '%s\\n' --opt={{sh a}} \"$(printf '[%s]' {{sh a}})\"",
      'case {{sh a}} in',
      'x) echo x ;;',
      "*) printf '%s\\n' other ;;",
      'esac',
      'cat <<EOF',
      'a here-document holds no values',
      'EOF',
      "printf '%s\\n' {{int n}} >{{sh out}}",
      "printf '%s\\n' {{#each xs}}{{sh this}} {{/each}}",
      '{{#if flag}}',
      "printf '%s\\n' yes",
      '{{else}}',
      "printf '%s\\n' no",
      '{{/if}}',
      'for w in {{shlist xs}}; do printf \'<%s>\\n\' "$w"; done',
      '',
    ].join('\n'),
    'installer/a.json.hbs': '{"a": {{json a}}, "n": {{int n}} }\n',
    'installer/a.conf.hbs': 'name={{kv a}}\nsize={{int n}}\n',
  });

  it('refuses even {{int}} inside a here-document', () => {
    const e = loadError({ 'initrd/x.sh.hbs': 'cat <<EOF\n{{int n}}\nEOF\n' });
    expect(e.message).toContain('inside a here-document');
  });

  it.for(SHELLS)('%s runs it with hostile values as data', ([, shell, available], ctx) => {
    if (!available) ctx.skip(NO_BUSYBOX);
    const out = join(work, `out-${++counter}`);
    const a = "x'$(touch /nonexistent/canary)`id`";
    const xs = ['p q', '', '$HOME'];
    const script = set.render('initrd/ok.sh.hbs', { a, name: 'BF_X', n: 42, out, xs, flag: false });
    const r = run(shell, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [`${a}|${a}`, `--opt=${a}`, `[${a}]`, 'other', 'a here-document holds no values']
        .concat([...xs, 'no', ...xs.map((x) => `<${x}>`)])
        .join('\n') + '\n',
    );
  });

  it('renders JSON and key=value config files', () => {
    expect(set.render('installer/a.json.hbs', { a: 'q"\n', n: 3 })).toBe('{"a": "q\\"\\n", "n": 3 }\n');
    expect(set.render('installer/a.conf.hbs', { a: 'x y', n: 3 })).toBe('name=x y\nsize=3\n');
    const e = renderError(set, 'installer/a.conf.hbs', { a: 'x\nroot=1', n: 3 });
    expect(e.message).toBe(
      'installer/a.conf.hbs:1: {{kv a}}: {{kv}} refuses a value with a line break or NUL: it would start a new line',
    );
  });

  it('lists its templates', () => {
    expect(set.list()).toEqual(['initrd/ok.sh.hbs', 'installer/a.conf.hbs', 'installer/a.json.hbs']);
  });
});

describe('{{int n}} and {{ident x}} render only what they promise', () => {
  const set = load({ 'initrd/x.sh.hbs': 'sleep {{int n}}\n{{ident v}}=1\n' });

  it('accept integers and names', () => {
    expect(set.render('initrd/x.sh.hbs', { n: -3, v: '_a1' })).toBe('sleep -3\n_a1=1\n');
    expect(intText(10n)).toBe('10');
    expect(identText('BF_NAME')).toBe('BF_NAME');
  });

  it.each([1.5, '1', '1; reboot', NaN, null, true, 2 ** 60])('int refuses %j', (n) => {
    expect(() => intText(n)).toThrow(/expects an integer/);
    const e = renderError(set, 'initrd/x.sh.hbs', { n, v: 'a' });
    expect(e.message).toMatch(/^initrd\/x\.sh\.hbs:1: \{\{int n\}\}: \{\{int\}\} expects an integer, got /);
  });

  it.each(['', '1a', 'a-b', 'a b', 'a;b', '$(x)', 'é', 5])('ident refuses %j', (v) => {
    expect(() => identText(v)).toThrow(/expects a name/);
    expect(renderError(set, 'initrd/x.sh.hbs', { n: 1, v }).message).toMatch(
      /^initrd\/x\.sh\.hbs:2: \{\{ident v\}\}: /,
    );
  });

  it('kv refuses line breaks', () => {
    expect(kvText('a b=c')).toBe('a b=c');
    for (const v of ['a\nb', 'a\rb', 'a\0']) expect(() => kvText(v)).toThrow(/line break/);
  });
});

describe('strict rendering: a missing value is an error that names it', () => {
  const set = load({
    'initrd/s.sh.hbs': [
      "printf '%s\\n' {{sh host.name}}",
      '{{#if flag}}',
      "printf '%s\\n' {{sh other}}",
      '{{/if}}',
      '{{#each disks}}',
      "printf '%s\\n' {{sh this.serial}}",
      '{{/each}}',
      '',
    ].join('\n'),
  });
  const full = { host: { name: 'h' }, flag: true, other: 'o', disks: [{ serial: 's' }] };

  it('renders when everything is there', () => {
    expect(set.render('initrd/s.sh.hbs', full)).toBe("printf '%s\\n' 'h'\nprintf '%s\\n' 'o'\nprintf '%s\\n' 's'\n");
  });

  it.each([
    ['a missing object', { ...full, host: undefined }, 'initrd/s.sh.hbs:1: "host" is missing from the context'],
    ['a missing key of an object', { ...full, host: {} }, 'initrd/s.sh.hbs:1: "host.name" is missing from the context'],
    ['a missing {{#if}} value', { ...full, flag: undefined }, 'initrd/s.sh.hbs:2: "flag" is missing from the context'],
    [
      'a missing value in a branch not taken',
      { ...full, flag: false, other: undefined },
      'initrd/s.sh.hbs:3: "other" is missing from the context',
    ],
    [
      'a missing key inside {{#each}}',
      { ...full, disks: [{ serial: 's' }, {}] },
      'initrd/s.sh.hbs:6: {{sh this.serial}}: "this.serial" is missing from the context',
    ],
  ])('%s', (_label, context, message) => {
    const e = renderError(set, 'initrd/s.sh.hbs', context);
    expect(e.code).toBe('BF_TEMPLATE');
    expect(e.message).toBe(message);
  });

  it('treats null as a value ({{#if}} is false) but refuses to quote it', () => {
    expect(set.render('initrd/s.sh.hbs', { ...full, flag: null })).not.toContain("'o'");
    expect(renderError(set, 'initrd/s.sh.hbs', { ...full, host: { name: null } }).message).toBe(
      'initrd/s.sh.hbs:1: {{sh host.name}}: {{sh}} expects a string or a number, got null',
    );
  });

  it('refuses an unknown template name', () => {
    expect(renderError(set, 'initrd/nope.sh.hbs', {}).message).toContain('no template named initrd/nope.sh.hbs');
  });
});

describe('the built-in initrd templates', () => {
  const evil = `x'"$(touch ${join(work, 'canary-init')})\`id\`;\nreboot -f #`;
  const inits: readonly InitContext[] = [
    {
      name: evil,
      role: evil as InitContext['role'],
      modules: ['virtio_pci', evil, '', '-a', '*', 'a b'],
      rescueShell: true,
      failureAction: evil as InitContext['failureAction'],
      failureDelaySeconds: 10,
    },
    { name: 'plain', role: 'probe', modules: [], rescueShell: false, failureAction: 'reboot', failureDelaySeconds: 0 },
  ];
  const probe: ProbeStageContext = { marker: evil };

  it('are listed', () => {
    expect(listTemplates()).toEqual(expect.arrayContaining(['initrd/init.sh.hbs', 'initrd/stage-probe.sh.hbs']));
  });

  it('put every value in as a quoted word', () => {
    const init = renderTemplate('initrd/init.sh.hbs', inits[0] as InitContext);
    expect(init.startsWith('#!/bin/sh\n')).toBe(true);
    expect(init).toContain(`BF_NAME=${shQuote(evil)}\n`);
    expect(init).toContain(`for bf_m in ${shQuoteList(inits[0]?.modules)}; do\n`);
    expect(renderTemplate('initrd/stage-probe.sh.hbs', probe)).toContain(`bf_probe_marker=${shQuote(evil)}\n`);
  });

  it('health checks: the command and the failure text are single quoted words', () => {
    const script = renderTemplate('generation/boot-complete.sh.hbs', {
      systemd: false,
      checks: [{ run: evil, timeout: 5, failure: evil }],
    });
    expect(script).toContain(`bf_check=${shQuote(evil)}\n`);
    expect(script).toContain('timeout 5 sh -c "$bf_check"');
    expect(script).toContain(`bf_unhealthy ${shQuote(evil)}\n`);
    expect(script).not.toContain('systemctl');
  });

  it('render to scripts that shellcheck -s sh accepts without a warning', (ctx) => {
    if (!HAVE_SHELLCHECK) ctx.skip(NO_SHELLCHECK);
    const scripts = [
      ...inits.map((c) => renderTemplate('initrd/init.sh.hbs', c)),
      renderTemplate('initrd/stage-probe.sh.hbs', probe),
      renderTemplate('initrd/stage-probe.sh.hbs', { marker: '' }),
      renderTemplate('initrd/lib-disks.sh.hbs', {}),
      renderTemplate('initrd/lib-progress.sh.hbs', {}),
      renderTemplate(
        'initrd/stage-install.sh.hbs',
        installStageContext(resolve({ profile: 'profiles/minimal.yaml', hardware: ['qemu-x86_64'] }).resolved),
      ),
      renderTemplate('generation/console.sh.hbs', {}),
      renderTemplate('generation/test-shell.sh.hbs', {}),
      renderTemplate('generation/bootforge-gen.sh.hbs', {}),
      renderTemplate('generation/boot-deadline.sh.hbs', { timeout: 600 }),
      renderTemplate('generation/boot-complete.sh.hbs', {
        systemd: true,
        checks: [{ run: evil, timeout: 5, failure: evil }],
      }),
    ];
    for (const script of scripts) {
      const file = join(work, `sc${++counter}.sh`);
      writeFileSync(file, script);
      const r = spawnSync(SHELLCHECK, ['-s', 'sh', '-f', 'gcc', file], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  // /init mounts filesystems and reopens the console: it is only parsed here, never run.
  it.for(SHELLS)('parse with %s -n', ([, shell, available], ctx) => {
    if (!available) ctx.skip(NO_BUSYBOX);
    for (const c of inits)
      expect(run(shell, renderTemplate('initrd/init.sh.hbs', c), ['-n'])).toMatchObject({ status: 0, stderr: '' });
    expect(run(shell, renderTemplate('initrd/stage-probe.sh.hbs', probe), ['-n'])).toMatchObject({
      status: 0,
      stderr: '',
    });
  });

  it('the probe stage prints its report and the marker as data, then powers off', () => {
    // Run under dash with no PATH: poweroff, sync, log and die are shell functions that only
    // print, so nothing on this machine can be touched. Only /proc and /sys are read.
    const stubs = [
      'poweroff() { printf "POWEROFF %s\\n" "$*"; }',
      'sync() { :; }',
      'log() { printf "LOG %s\\n" "$*"; }',
      'die() { printf "DIE %s\\n" "$*"; }',
      'PATH=/nonexistent',
      '',
    ].join('\n');
    const r = run(DASH, stubs + renderTemplate('initrd/stage-probe.sh.hbs', probe));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^bootforge-probe: modules.*\nbootforge-probe: block.*\n/);
    expect(r.stdout).toContain(`\nbootforge-probe: OK ${evil}\nPOWEROFF -f\nDIE poweroff -f returned\n`);
    expect(existsSync(join(work, 'canary-init'))).toBe(false);
  });
});
